"""EEG, MEG and iEEG files through ``mne.io.read_raw`` -> Recording.

One path for EDF, BDF, GDF, FIF, BrainVision and EEGLAB. Channel names are normalised to a
standard montage's spelling (``Fc5.`` -> ``FC5``); positions come from the file or, when the
file has none, from a named standard montage. MEG keeps magnetometers and gradiometers apart
with their positions and coil orientations.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
import warnings
from pathlib import Path
from uuid import uuid4

import mne
import numpy as np
import xarray as xr

from signalkit.errors import ConfigError, InputError
from signalkit.io import register_reader
from signalkit.io.identity import parse_identity
from signalkit.io.mne_preprocess import SensorPreprocess
from signalkit.io.montage import canonical_names, montage_positions
from signalkit.recording import (
    SIGNAL,
    events_dataset,
    file_sha256,
    sensor_recording,
    validate_recording,
)

EXTENSIONS = (".edf", ".bdf", ".gdf", ".fif", ".fif.gz", ".vhdr", ".set")
DEFAULT_PICKS = {
    "eeg": ("eeg",),
    "meg": ("mag", "grad"),
    "ieeg": ("seeg", "ecog", "dbs"),
}
_IGNORED_ANNOTATIONS = ("bad", "edge")
_READ_BLOCK = 1 << 20  # samples x channels read per block, bounds peak memory
# a picked signal larger than this (as float32) is returned lazily (dask, read block by block when
# written): ingest then streams the file instead of holding it in memory
_STREAM_BYTES = 64 << 20


def _unreadable(path: Path, err: Exception) -> InputError:
    """The one-line error for a file MNE fails on: the exception's type and first line (<= 200 chars)."""
    msg = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
    return InputError(f"{path}: cannot read the file ({type(err).__name__}: {msg})")


def _probe_matlab(path: Path, timeout_s: float = 120.0) -> None:
    """Parse an EEGLAB ``.set`` (a MAT file) in a child process first: scipy's MAT parser can
    segfault on corrupted files, which must end as an InputError, not a crashed ingest."""
    import subprocess
    import sys

    code = "import sys, warnings; warnings.simplefilter('ignore'); from pymatreader import read_mat; read_mat(sys.argv[1])"
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise InputError(f"{path}: cannot read the file (the MAT parser did not finish in {timeout_s:.0f} s)") from None
    if proc.returncode < 0:
        raise InputError(f"{path}: cannot read the file (corrupt MAT file: the parser crashed with signal "
                         f"{-proc.returncode})")
    if proc.returncode > 0:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
        raise InputError(f"{path}: cannot read the file ({last[:200]})")


def _check_fif_chain(path: Path) -> None:
    """Walk a FIF file's tag chain (16-byte headers: kind, type, size, next) as MNE does when the
    tag directory is damaged; a chain that loops or runs backwards would hang MNE forever."""
    import struct

    size = path.stat().st_size
    seen: set[int] = set()
    pos = 0
    with open(path, "rb") as f:
        while pos is not None and pos + 16 <= size:
            if pos in seen or pos < 0:
                raise InputError(f"{path}: cannot read the file (corrupt FIF: its tag chain loops at byte {pos})")
            seen.add(pos)
            f.seek(pos)
            _, _, tag_size, nxt = struct.unpack(">iIii", f.read(16))
            pos = pos + 16 + tag_size if nxt == 0 else (nxt if nxt > 0 else None)


def _open_raw(path: Path) -> mne.io.BaseRaw:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not any(str(path).lower().endswith(ext) for ext in EXTENSIONS):
        raise InputError(
            f"{path}: unknown extension for a sensor recording (known: {', '.join(EXTENSIONS)})"
        )
    if str(path).lower().endswith(".set"):
        _probe_matlab(path)
    if str(path).lower().endswith(".fif"):
        _check_fif_chain(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            raw = mne.io.read_raw(path, preload=False, verbose="warning")
    except Exception as err:  # MNE raises many types for corrupt files
        raise _unreadable(path, err) from None
    for w in caught:
        if "does not match the file size" in str(w.message):
            raise InputError(
                f"{path}: the file is truncated (its header announces more data records than it holds)"
            )
    if raw.n_times == 0:
        raise InputError(f"{path}: the recording holds no samples")
    return raw


def _events(raw: mne.io.BaseRaw, source: str, stim_channel: str | None) -> dict[str, xr.DataArray]:
    """Events from annotations (preferred) or from a stim channel, onsets relative to sample 0."""
    sfreq = raw.info["sfreq"]
    ann = raw.annotations
    # BrainVision prefixes descriptions with the marker type ("Comment/BAD_x")
    keep = [i for i, d in enumerate(ann.description)
            if not d.rsplit("/", 1)[-1].lower().startswith(_IGNORED_ANNOTATIONS)]
    if source in ("auto", "annotations") and keep:
        onsets = np.asarray(ann.onset)[keep]
        idx = raw.time_as_index(onsets, use_rounding=True, origin=ann.orig_time)
        return events_dataset(
            idx / sfreq, np.asarray(ann.duration)[keep], np.asarray(ann.description)[keep]
        )
    stim_names = [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True)]
    if stim_channel is not None and stim_channel not in raw.ch_names:
        raise ConfigError(f"events.stim_channel: {stim_channel!r} is not a channel of the file")
    if source in ("auto", "stim") and (stim_channel or stim_names):
        found = mne.find_events(
            raw, stim_channel=stim_channel or stim_names, shortest_event=1,
            consecutive=True, verbose="error",
        )
        found = found[found[:, 2] != 0]
        return events_dataset(
            (found[:, 0] - raw.first_samp) / sfreq, np.zeros(len(found)), found[:, 2].astype(str)
        )
    if source not in ("auto", "annotations", "stim", "none"):
        raise ConfigError(f"events.source: expected auto|annotations|stim|none, got {source!r}")
    return events_dataset([], [], [])


def _normalise_names(raw: mne.io.BaseRaw, montage: str) -> None:
    eeg = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True, exclude=[])]
    mapping = canonical_names(eeg, montage)
    taken = set(raw.ch_names) - set(mapping)
    clean = {}
    for old, new in mapping.items():
        if new != old and new not in taken:
            clean[old] = new
            taken.add(new)
    if clean:
        raw.rename_channels(clean, verbose="error")


def _positions(raw: mne.io.BaseRaw, picks: np.ndarray, montage: str | None, force: bool) -> np.ndarray:
    locs = np.array([raw.info["chs"][i]["loc"][:3] for i in picks], dtype=np.float64)
    missing = ~np.isfinite(locs).all(axis=1) | (np.abs(locs).sum(axis=1) == 0)
    if montage is not None:
        names = [raw.ch_names[i] for i in picks]
        is_eeg = np.array([raw.info["chs"][i]["kind"] == mne.io.constants.FIFF.FIFFV_EEG_CH for i in picks])
        std = montage_positions(names, montage)
        use = is_eeg & (missing | force)
        locs[use] = std[use]
        missing = missing & ~use
    locs[missing] = np.nan
    return locs


def _orientations(raw: mne.io.BaseRaw, picks: np.ndarray) -> np.ndarray | None:
    types = raw.get_channel_types(picks=picks)
    if not any(t in ("mag", "grad") for t in types):
        return None
    ori = np.full((len(picks), 3), np.nan)
    for row, i in enumerate(picks):
        if types[row] in ("mag", "grad"):
            ori[row] = raw.info["chs"][i]["loc"][9:12]
    return ori


def _read_data(raw: mne.io.BaseRaw, picks: np.ndarray) -> np.ndarray:
    """``(C, T)`` float32, read in blocks so peak memory stays near the float32 result."""
    out = np.empty((len(picks), raw.n_times), dtype=np.float32)
    step = max(1, _READ_BLOCK // max(1, len(picks)))
    for start in range(0, raw.n_times, step):
        stop = min(raw.n_times, start + step)
        out[:, start:stop] = raw.get_data(picks=picks, start=start, stop=stop, verbose="error")
    return out


class _RawBlocks:
    """A lazy ``(C, T)`` float32 view of the picked channels of a Raw for ``dask.array.from_array``:
    each slice is one ``raw.get_data(start, stop)``, checked for NaN/Inf (the check
    ``validate_recording`` makes on an eager signal), errors raised as :class:`InputError`."""

    def __init__(self, raw: mne.io.BaseRaw, picks: np.ndarray, path: Path):
        self.raw, self.picks, self.path = raw, picks, path
        self.shape = (len(picks), raw.n_times)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        rows, cols = (*key, slice(None))[:2]
        if not isinstance(cols, slice):
            return self[rows, :][:, cols]
        start, stop, step = cols.indices(self.shape[1])
        picks = self.picks[rows] if isinstance(rows, slice) else np.atleast_1d(self.picks[rows])
        if stop <= start or len(picks) == 0:
            out = np.empty((len(picks), 0), dtype=np.float32)
        else:
            try:
                out = self.raw.get_data(picks=picks, start=start, stop=stop, verbose="error").astype(np.float32)
            except Exception as err:
                raise _unreadable(self.path, err) from None
            bad = ~np.isfinite(out).all(axis=1)
            if bad.any():
                names = [self.raw.ch_names[i] for i in picks[bad][:5]]
                raise InputError(f"{self.path}: NaN or Inf in the signal of channel(s) {', '.join(names)}")
        out = out[:, ::step] if step != 1 else out
        return out if isinstance(rows, slice) or np.ndim(rows) else out[0]


def _lazy_data(raw: mne.io.BaseRaw, picks: np.ndarray, path: Path):
    """``(C, T)`` float32 dask array read from ``raw`` in blocks of ~``_READ_BLOCK`` values."""
    import dask.array as da

    step = max(1, _READ_BLOCK // max(1, len(picks)))
    return da.from_array(_RawBlocks(raw, picks, path), chunks=(len(picks), step), asarray=False,
                         meta=np.empty((0, 0), dtype=np.float32), name=f"raw-{path.name}-{uuid4().hex[:8]}")


def read_sensor(
    path: str | Path,
    *,
    modality: str = "eeg",
    montage: str | None = "auto",
    picks: Sequence[str] | None = None,
    preprocess: dict | SensorPreprocess | None = None,
    events: dict | None = None,
    subject_pattern: str | None = None,
    ieeg_type: str = "seeg",
) -> xr.Dataset:
    """Read an EEG/MEG/iEEG file into a Recording (``signal (channel, time)`` float32, SI units).

    Args:
        path: EDF/BDF/GDF/FIF/BrainVision (.vhdr)/EEGLAB (.set) file.
        modality: ``eeg``, ``meg`` or ``ieeg`` (selects the default channel picks).
        montage: ``"auto"`` (file positions, else ``standard_1005`` by name), a builtin MNE
            montage name (its positions replace the file's for EEG channels) or ``None``.
        picks: channel types to keep (default: the modality's data channels).
        preprocess: :class:`SensorPreprocess` fields (band-pass, notch, resample, reference).
        events: ``{"source": "auto"|"annotations"|"stim"|"none", "stim_channel": name}``.
        subject_pattern: regex with named groups ``subject``/``session``/``run``.
        ieeg_type: type given to channels an iEEG file declares as EEG (EDF has no iEEG type).

    Memory: the file is opened with ``preload=False``. A signal larger than ``_STREAM_BYTES``
    (64 MB as float32) comes back lazily, as a dask array read block by block with
    ``raw.get_data(start, stop)`` when it is computed or written (``signalkit ingest`` streams
    it into the store chunk by chunk; the values are those of the eager read). Preprocessing
    (band-pass, notch, resample, re-reference) runs MNE on the whole recording, which must then
    be loaded as float64 (8 bytes x channels x samples): a warning says so for large files.
    """
    path = Path(path)
    if modality not in DEFAULT_PICKS:
        raise ConfigError(f"modality: {modality!r} is not a sensor modality ({', '.join(DEFAULT_PICKS)})")
    prep = preprocess if isinstance(preprocess, SensorPreprocess) else SensorPreprocess(**(preprocess or {}))
    raw = _open_raw(path)
    try:
        ev_cfg = {"source": "auto", "stim_channel": None, **(events or {})}
        ev = _events(raw, ev_cfg["source"], ev_cfg["stim_channel"])
        if modality == "ieeg" and not mne.pick_types(raw.info, seeg=True, ecog=True, dbs=True).size:
            raw.set_channel_types({n: ieeg_type for n in raw.ch_names if raw.get_channel_types([n])[0] == "eeg"}, verbose="error")
        montage_name = None
        if montage not in (None, "none"):
            montage_name = "standard_1005" if montage == "auto" else str(montage)
            _normalise_names(raw, montage_name)
        wanted = tuple(picks) if picks else DEFAULT_PICKS[modality]
        pick_idx = np.array([i for i, t in enumerate(raw.get_channel_types()) if t in wanted], dtype=int)
        if pick_idx.size == 0:
            raise InputError(
                f"{path}: no channels of type {', '.join(wanted)} (file has {', '.join(sorted(set(raw.get_channel_types())))})"
            )
        if not prep.is_identity and 8 * len(raw.ch_names) * raw.n_times > _STREAM_BYTES:
            warnings.warn(f"{path}: preprocessing loads the whole recording into memory "
                          f"({8 * len(raw.ch_names) * raw.n_times / 1e9:.2f} GB as float64; MNE filters need "
                          "it); ingest without preprocess streams it instead", UserWarning, stacklevel=2)
        raw = prep.apply(raw)
        pick_idx = np.array([raw.ch_names.index(n) for n in np.asarray(raw.ch_names)[pick_idx]], dtype=int)
        lazy = 4 * len(pick_idx) * raw.n_times > _STREAM_BYTES
        data = _lazy_data(raw, pick_idx, path) if lazy else _read_data(raw, pick_idx)
        ident = parse_identity(path, subject_pattern)
        rec = sensor_recording(
            np.empty((len(pick_idx), 0), np.float32) if lazy else data,
            sfreq=raw.info["sfreq"],
            ch_names=[raw.ch_names[i] for i in pick_idx],
            ch_types=raw.get_channel_types(picks=pick_idx),
            pos=_positions(raw, pick_idx, montage_name, force=montage not in (None, "none", "auto")),
            ori=_orientations(raw, pick_idx),
            events=ev,
            source=str(path.resolve()),
            sha256=file_sha256(path),
            attrs={"modality": modality},
            **ident,
        )
        if lazy:  # sensor_recording makes a numpy array of its data: put the lazy signal in afterwards
            rec[SIGNAL] = (("channel", "time"), data)
    except (ConfigError, InputError):
        raise
    except Exception as err:  # a corrupt header or data block can surface anywhere in MNE
        raise _unreadable(path, err) from None
    validate_recording(rec, modality, name=str(path))
    return rec


for _modality in ("eeg", "meg", "ieeg"):
    register_reader(_modality, partial(read_sensor, modality=_modality), EXTENSIONS)
