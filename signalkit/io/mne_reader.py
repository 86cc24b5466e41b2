"""EEG, MEG and iEEG files through MNE -> Recording.

Every format ``mne.io.read_raw`` reads (its own extension table, folder formats such as CTF
``.ds`` and EGI ``.mff`` included), epoched files (``-epo.fif``, EEGLAB epoched ``.set``) and
BIDS datasets (through mne-bids). Events are MNE's (annotations and ``mne.find_events``, see
:mod:`signalkit.io.mne_events`); positions are in MNE's head frame, from the file, a BIDS
electrodes table beside it, or a template of the file's naming system (see
:mod:`signalkit.io.montage`). Auxiliary channels (EOG, ECG, EMG, stim, misc) are kept apart as
the ``aux`` variable. MEG keeps magnetometers and gradiometers apart with their positions and
coil orientations.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from uuid import uuid4

import mne
import numpy as np
import xarray as xr

from signalkit.errors import ConfigError, InputError
from signalkit.io import mne_checks, register_reader
from signalkit.io.bids import apply_electrodes, bids_root, read_bids_raw, sidecar_electrodes
from signalkit.io.identity import parse_identity
from signalkit.io.matlab_parser import isolated_mat_parser
from signalkit.io.mne_events import raw_events
from signalkit.io.mne_formats import (
    EPOCH_SUFFIXES,
    check_mne_kwargs,
    direct_reader,
    sensor_extensions,
    split_ext,
)
from signalkit.io.mne_preprocess import SensorPreprocess
from signalkit.io.montage import canonical_names, montage_positions, naming_system, resolve_montage
from signalkit.recording import (
    SIGNAL,
    event_variables,
    file_sha256,
    lazy_file_sha256,
    sensor_recording,
    validate_recording,
)

EXTENSIONS = sensor_extensions()
DEFAULT_PICKS = {
    "eeg": ("eeg",),
    "meg": ("mag", "grad"),
    "ieeg": ("seeg", "ecog", "dbs"),
}
DEFAULT_AUX = ("eog", "ecg", "emg", "stim", "misc")

_READ_BLOCK = 1 << 20  # samples x channels read per block, bounds peak memory
# a picked signal larger than this (as float32) is returned lazily (dask, read block by block when
# written): ingest then streams the file instead of holding it in memory
_STREAM_BYTES = 64 << 20
# channel types from names, for formats without types (EDF, BDF, BrainVision, EEGLAB): MNE
# types every such channel EEG
_NAME_TYPES = (
    (re.compile(r"^(ECG|EKG)([\s_+-]?\w*)$", re.IGNORECASE), "ecg"),
    (re.compile(r"^([HV]?EOG)([\s_+-]?\w*)$", re.IGNORECASE), "eog"),
    (re.compile(r"^EMG([\s_+-]?\w*)$", re.IGNORECASE), "emg"),
    (re.compile(r"^DC\d+$", re.IGNORECASE), "misc"),
)


def _background(fn, *args):
    """``fn(*args)`` in a new thread of its own (never a pool shared across ``fork``: a forked
    ingest worker would wait forever on a pool thread that exists only in its parent)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signalkit-sha256")
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def _sha256_of(path: Path, known: str | None) -> str | Callable[[], str] | Future:
    """The source's sha256 for the Recording: ``known`` when the caller has it (the store hashes
    every source before reading it); for a file, a call that hashes it when the Recording's
    ``sha256`` is first read (:func:`~signalkit.recording.lazy_file_sha256`: hashing costs more
    CPU than reading a small file, and a caller who never reads the hash never pays for it);
    for a folder recording (CTF ``.ds``, EGI ``.mff``), a background thread hashing it while
    MNE parses it (hashlib releases the GIL)."""
    if known:
        return str(known)
    if path.is_file():
        return lazy_file_sha256(path)
    return _background(_folder_sha256, path)


def _precheck(path: Path, ext: str) -> None:
    if ext in (".edf", ".bdf"):
        mne_checks.check_edf(path)
    elif ext in (".vhdr", ".ahdr"):
        mne_checks.check_brainvision(path)
    elif ext.endswith(".fif") and path.is_file():
        mne_checks.check_fif_chain(path)


def _open(path: Path, mne_kwargs: dict | None, modality: str):
    """``mne.io.read_raw`` (or ``mne.read_epochs``/``read_epochs_eeglab``, or mne-bids inside a
    BIDS root) of ``path``, after the format's checks; every failure one :class:`InputError`."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    ext = split_ext(path)
    if ext is None:
        raise InputError(f"{path}: unknown extension for a sensor recording (MNE reads: {', '.join(EXTENSIONS)})")
    kwargs = check_mne_kwargs(path, mne_kwargs or {})
    epoched = ext in EPOCH_SUFFIXES
    root = bids_root(path) if path.name.startswith("sub-") and not epoched else None
    if root is None and ext in (".edf", ".bdf") and "infer_types" not in kwargs:
        kwargs["infer_types"] = True  # "EEG Fp1", "ECG V1" -> types from the label prefixes (MNE's option)
    _precheck(path, ext)
    isolate = isolated_mat_parser(path) if ext == ".set" else contextlib.nullcontext()
    try:
        with warnings.catch_warnings(record=True) as caught, isolate:
            warnings.simplefilter("always")
            if epoched:
                inst = mne.read_epochs(path, preload=True, verbose="warning", **kwargs)  # one read, as MNE's own
            elif root is not None:
                inst = read_bids_raw(path, root, modality, kwargs)
            else:
                try:
                    direct = direct_reader(path)
                    read = direct if direct is not None else mne.io.read_raw
                    inst = read(path, preload=False, verbose="warning", **kwargs)
                except (ValueError, TypeError) as err:
                    if ext != ".set" or "read_epochs_eeglab" not in str(err):
                        raise
                    inst = mne.io.read_epochs_eeglab(path, verbose="warning")
    except (ConfigError, InputError):
        raise
    except TypeError as err:
        if kwargs and "argument" in str(err):
            raise ConfigError(f"mne_kwargs: {err}") from None
        raise mne_checks.unreadable(path, err) from None
    except Exception as err:  # MNE raises many types for corrupt files
        raise mne_checks.unreadable(path, err) from None
    for w in caught:
        if "does not match the file size" in str(w.message) and ext not in (".edf", ".bdf"):
            raise InputError(f"{path}: the file is truncated (its header announces more data than it holds)")
    mne_checks.check_marker_range(path, caught)
    n = inst.n_times if isinstance(inst, mne.io.BaseRaw) else len(inst.times) * len(inst.events)
    if n == 0:
        raise InputError(f"{path}: the recording holds no samples")
    return inst, root


def _channel_types(inst) -> list[str]:
    """``inst.get_channel_types()`` (MNE's type of every channel), without its picks machinery
    (five times the cost of the types themselves)."""
    info = inst.info
    return [mne.channel_type(info, i) for i in range(info["nchan"])]


def _type_from_names(inst) -> list[str]:
    """Channels MNE typed EEG whose names say ECG/EKG, EOG, EMG or DC get those types; returns
    the channel types after the change (``inst.get_channel_types()``)."""
    types = _channel_types(inst)
    change = {}
    for name, kind in zip(inst.ch_names, types):
        if kind != "eeg":
            continue
        for rx, new in _NAME_TYPES:
            if rx.match(name.strip()):
                change[name] = new
                break
    if change:
        inst.set_channel_types(change, verbose="error", on_unit_change="ignore")
        types = _channel_types(inst)
    return types


def _normalise_names(inst, montage: str, types: Sequence[str] | None = None) -> dict[str, str]:
    """``{file name: the montage's spelling}`` of the EEG channels whose names differ from it
    (never onto a name the file already uses)."""
    eeg = [inst.ch_names[i] for i in _eeg_indices(inst, types)]
    mapping = canonical_names(eeg, montage)
    taken = set(inst.ch_names) - set(mapping)
    clean = {}
    for old, new in mapping.items():
        if new != old and new not in taken:
            clean[old] = new
            taken.add(new)
    return clean


def _has_position(ch: dict) -> bool:
    loc = np.asarray(ch["loc"][:3], dtype=np.float64)
    return bool(np.isfinite(loc).all() and np.abs(loc).sum() > 0)


def _has_positions(locs: np.ndarray) -> np.ndarray:
    """``(C,)`` bool of ``(C, 3)`` locations: finite and not the origin (``_has_position`` per row)."""
    return np.isfinite(locs).all(axis=1) & (np.abs(locs).sum(axis=1) > 0)


def _positions(inst, picks: np.ndarray, names: list[str], montage: str | None, force: bool,
               fixed: set[str]) -> np.ndarray:
    """``(C, 3)`` positions of ``picks``: the file's (MNE's head-frame ``loc``), else the
    template's (head frame too); ``force`` puts the template over the file's for EEG channels.
    Channels in ``fixed`` (a BIDS electrodes table gave them) keep theirs. ``names``: the
    Recording's names of ``picks`` (the montage's spelling)."""
    chs = inst.info["chs"]
    locs = np.array([chs[i]["loc"][:3] for i in picks], dtype=np.float64).reshape(len(picks), 3)
    missing = ~_has_positions(locs)
    if montage is not None:
        is_eeg = np.array([chs[i]["kind"] == mne.io.constants.FIFF.FIFFV_EEG_CH and inst.ch_names[i] not in fixed
                           for i in picks], dtype=bool)
        std = montage_positions(names, montage)
        use = is_eeg & (missing | force) & np.isfinite(std).all(axis=1)
        locs[use] = std[use]
        missing = missing & ~use
    locs[missing] = np.nan
    return locs


def _orientations(inst, picks: np.ndarray, types: Sequence[str]) -> np.ndarray | None:
    if not any(t in ("mag", "grad") for t in types):
        return None
    ori = np.full((len(picks), 3), np.nan)
    for row, i in enumerate(picks):
        if types[row] in ("mag", "grad"):
            ori[row] = inst.info["chs"][i]["loc"][9:12]
    return ori


def _eeg_indices(inst, types: Sequence[str] | None) -> np.ndarray:
    """``mne.pick_types(inst.info, eeg=True, exclude=[])``, from ``types`` (the channel types,
    as :func:`_channel_types` gives them) when the caller has them."""
    if types is None:
        return mne.pick_types(inst.info, eeg=True, exclude=[])
    return np.array([i for i, t in enumerate(types) if t == "eeg"], dtype=int)


def _choose_montage(inst, montage: str | None, types: Sequence[str] | None = None) -> tuple[str | None, bool]:
    """The template to use (or None) and whether it replaces the file's positions."""
    if montage in (None, "none"):
        return None, False
    if montage != "auto":
        return resolve_montage(str(montage)), True
    idx = _eeg_indices(inst, types)
    if not idx.size:  # no EEG channel (MEG, iEEG): no template (naming_system of no names)
        return None, False
    eeg = [inst.ch_names[i] for i in idx]
    chs = inst.info["chs"]
    if eeg and _has_positions(np.array([chs[i]["loc"][:3] for i in idx], dtype=np.float64)).all():
        return None, False
    return naming_system(eeg), False


def _epoch_events(epochs: mne.BaseEpochs) -> tuple[dict[str, xr.Variable], int]:
    """One event per epoch (onset = the epoch's first sample in the concatenated signal,
    duration = the epoch's length, label = the event name of its code)."""
    n_t = len(epochs.times)
    names = {v: k for k, v in epochs.event_id.items()}
    labels = [names.get(int(code), str(int(code))) for code in epochs.events[:, 2]]
    sfreq = epochs.info["sfreq"]
    onsets = np.arange(len(labels)) * n_t / sfreq
    return event_variables(onsets, np.full(len(labels), n_t / sfreq), labels), n_t


def _read_data(raw: mne.io.BaseRaw, picks: np.ndarray) -> np.ndarray:
    """``(C, T)`` float32, read in blocks so peak memory stays near the float32 result."""
    out = np.empty((len(picks), raw.n_times), dtype=np.float32)
    if raw.preload:  # MNE holds the data (float64): cast straight into the result, no float64 copy
        if len(picks) and np.array_equal(picks, np.arange(picks[0], picks[0] + len(picks))):
            out[:] = raw._data[picks[0]:picks[0] + len(picks)]  # a run of channels: one cast of a view
            return out
        for row, i in enumerate(picks):
            out[row] = raw._data[i]
        return out
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
                raise mne_checks.unreadable(self.path, err) from None
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
    aux: Sequence[str] | None = DEFAULT_AUX,
    preprocess: dict | SensorPreprocess | None = None,
    events: dict | None = None,
    subject_pattern: str | None = None,
    ieeg_type: str = "seeg",
    mne_kwargs: dict | None = None,
    subjects: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    sha256: str | None = None,
    validate: bool = True,
) -> xr.Dataset:
    """Read an EEG/MEG/iEEG file into a Recording (``signal (channel, time)`` float32, SI units).

    Args:
        path: any file or folder ``mne.io.read_raw`` reads (EDF/BDF/GDF, FIF, BrainVision,
            EEGLAB, CTF ``.ds``, EGI ``.mff``, KIT, Nihon Kohden, Neuroscan, Curry, Persyst, ...),
            an epoched ``-epo.fif`` / EEGLAB ``.set`` (epochs laid end to end, one event per
            epoch, attr ``epoch_samples``), or a file inside a BIDS dataset (read by mne-bids).
        modality: ``eeg``, ``meg`` or ``ieeg`` (selects the default channel picks).
        montage: ``"auto"`` (file positions, else a BIDS electrodes table beside the file, else
            the template of the channels' naming system: 10-05, BioSemi ABC or EGI HydroCel), a
            builtin MNE montage name (its positions replace the file's for EEG channels) or
            ``None``. Positions are in MNE's head frame.
        picks: channel types of ``signal`` (default: the modality's data channels).
        aux: channel types kept apart as ``aux (aux_channel, time)`` with ``aux_type``
            (default EOG, ECG, EMG, stim, misc; ``None`` or ``[]``: none).
        preprocess: :class:`SensorPreprocess` fields (band-pass, notch, resample, reference).
        events: see :func:`signalkit.io.mne_events.raw_events` (``source``, ``stim_channel``,
            ``mask``, ``consecutive``, ``min_duration``).
        subject_pattern: regex with named groups ``subject``/``session``/``run``.
        ieeg_type: type given to channels an iEEG file declares as EEG (EDF has no iEEG type).
        mne_kwargs: keyword options of the format's MNE reader (``allow_maxshield``,
            ``infer_types``, ``stim_channel``, ``encoding``, ...), checked against its signature.
        subjects, tasks: BIDS filters, used when a dataset is expanded (ignored here).
        sha256: the file's sha256 when the caller has it (the store hashes each source before
            reading it), so that the file is not hashed again; by default a file is hashed when
            the Recording's ``attrs["sha256"]`` is first read (a :class:`~signalkit.lazy_attrs.LazyAttrs`;
            ``""`` with a warning if the file changed since the read), a folder recording while
            it is read.
        validate: check the Recording (:func:`~signalkit.recording.validate_recording`: NaN/Inf,
            dims, sampling rate) before returning it; the store passes False and checks it
            itself, so that each signal is checked once.

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
    sha = _sha256_of(path, sha256)
    inst, root = _open(path, mne_kwargs, modality)
    epoched = isinstance(inst, mne.BaseEpochs)
    try:
        if epoched or (prep.is_identity and 4 * len(inst.ch_names) * inst.n_times <= _STREAM_BYTES):
            with mne.utils.use_log_level("error"):
                inst.load_data()  # one read of the file for signal, aux and stim events
        if epoched:
            ev, epoch_samples = _epoch_events(inst)
        else:
            ev, epoch_samples = raw_events(inst, events), 0
        types = _type_from_names(inst)
        fixed: set[str] = set()
        pos_frame = "head"
        sidecar = sidecar_electrodes(path) if root is None and not epoched else None
        if sidecar is not None and montage in ("auto", None, "none"):  # the file's positions, not a template
            table = apply_electrodes(inst, *sidecar, modality)
            fixed, pos_frame = table["names"], table["frame"] or pos_frame
            types = _channel_types(inst)  # mne-bids may have changed them
        if modality == "ieeg" and not any(t in ("seeg", "ecog", "dbs") for t in types):
            eeg = [n for n, t in zip(inst.ch_names, types) if t == "eeg"]
            if fixed:  # the electrodes table says which channels are contacts
                eeg = [n for n in eeg if n in fixed]
            inst.set_channel_types({n: ieeg_type for n in eeg}, verbose="error")
            types = _channel_types(inst)
        montage_name, force = _choose_montage(inst, montage, types) if not fixed else (None, False)
        rename = _normalise_names(inst, montage_name, types) if montage_name is not None else {}
        if rename and not prep.is_identity:  # a preprocess reference may name channels in the montage's spelling
            inst.rename_channels(rename, verbose="error")
            rename = {}
        wanted = tuple(picks) if picks else DEFAULT_PICKS[modality]
        aux_types = tuple(t for t in (aux or ()) if t not in wanted)
        pick_idx = np.array([i for i, t in enumerate(types) if t in wanted], dtype=int)
        aux_idx = np.array([i for i, t in enumerate(types) if t in aux_types], dtype=int)
        if pick_idx.size == 0:
            raise InputError(
                f"{path}: no channels of type {', '.join(wanted)} (file has {', '.join(sorted(set(types)))})"
            )
        if not prep.is_identity and 8 * len(inst.ch_names) * (inst.n_times if not epoched else len(inst.times) * len(inst)) > _STREAM_BYTES:
            warnings.warn(f"{path}: preprocessing loads the whole recording into memory; ingest without "
                          "preprocess streams it instead", UserWarning, stacklevel=2)
        names_before = list(inst.ch_names)
        if not prep.is_identity:
            inst = prep.apply(inst)
            types = _channel_types(inst)
        pick_idx = np.array([inst.ch_names.index(names_before[i]) for i in pick_idx], dtype=int)
        aux_idx = np.array([inst.ch_names.index(names_before[i]) for i in aux_idx
                            if names_before[i] in inst.ch_names], dtype=int)
        if epoched:
            epoch_samples = len(inst.times)
            data = _epoch_data(inst, pick_idx)
            lazy = False
        else:
            lazy = 4 * len(pick_idx) * inst.n_times > _STREAM_BYTES
            data = _lazy_data(inst, pick_idx, path) if lazy else _read_data(inst, pick_idx)
        pick_types = [types[i] for i in pick_idx]
        ident = parse_identity(path, subject_pattern)
        names = [rename.get(inst.ch_names[i], inst.ch_names[i]) for i in pick_idx]  # renamed here, not in MNE
        attrs = {"modality": modality, "pos_frame": pos_frame}
        if epoched:
            attrs.update(epoch_samples=int(epoch_samples), epoch_tmin_s=float(inst.tmin))
        bads = set(inst.info["bads"])
        extra_coords = {"bad": ("channel", np.array([inst.ch_names[i] in bads for i in pick_idx], dtype=bool))}
        extra_vars = {}
        if aux_idx.size:
            extra_vars["aux"] = (("aux_channel", "time"), _epoch_data(inst, aux_idx) if epoched else _read_data(inst, aux_idx))
            extra_coords["aux_channel"] = np.asarray([rename.get(inst.ch_names[i], inst.ch_names[i]) for i in aux_idx],
                                                     dtype=str)
            extra_coords["aux_type"] = ("aux_channel", np.asarray([types[i] for i in aux_idx], dtype=str))
        rec = sensor_recording(
            np.empty((len(pick_idx), 0), np.float32) if lazy else data,
            sfreq=inst.info["sfreq"],
            ch_names=names,
            ch_types=pick_types,
            pos=_positions(inst, pick_idx, names, montage_name, force, fixed),
            ori=_orientations(inst, pick_idx, pick_types),
            events=ev,
            source=os.path.realpath(path),  # str(path.resolve()), without its extra stat
            sha256=sha.result() if isinstance(sha, Future) else sha,
            attrs=attrs,
            extra_coords=extra_coords,
            extra_vars=extra_vars,
            **ident,
        )
        if lazy:  # sensor_recording makes a numpy array of its data: put the lazy signal in afterwards
            rec[SIGNAL] = (("channel", "time"), data)
    except (ConfigError, InputError):
        raise
    except Exception as err:  # a corrupt header or data block can surface anywhere in MNE
        raise mne_checks.unreadable(path, err) from None
    if validate:
        validate_recording(rec, modality, name=str(path))
    return rec


def _epoch_data(epochs: mne.BaseEpochs, picks: np.ndarray) -> np.ndarray:
    """``(C, n_epochs * T)`` float32: the epochs laid end to end, each channel cast straight from
    MNE's float64 ``(n, C, T)`` array into its row (one pass, no float64 copy)."""
    n, n_t = len(epochs), len(epochs.times)
    out = np.empty((len(picks), n * n_t), dtype=np.float32)
    rows = out.reshape(len(picks), n, n_t)
    data = epochs._data if epochs.preload and not getattr(epochs, "_do_delayed_proj", True) else None
    if data is None or data.shape != (n, len(epochs.ch_names), n_t):  # not loaded, or projections pending: MNE's copy
        data, picks = epochs.get_data(picks=picks, verbose="error"), np.arange(len(picks))
    for row, i in enumerate(picks):
        rows[row] = data[:, i, :]
    return out


def _folder_sha256(path: Path) -> str:
    """sha256 over a folder recording's files (relative names and bytes, sorted)."""
    import hashlib

    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(f.relative_to(path)).encode())
        digest.update(file_sha256(f).encode())
    return digest.hexdigest()


def expand_sensor_sources(source: str, *, modality: str = "eeg", subjects: Sequence[str] | None = None,
                          tasks: Sequence[str] | None = None) -> list[str] | None:
    """The recordings named by a folder or glob (None for a single file: read as given).

    A BIDS root (``dataset_description.json``) gives its ``modality`` recordings through
    mne-bids (``subjects``/``tasks`` filter them); another folder is walked, keeping every file
    MNE reads and folder-format recordings (``.ds``, ``.mff``) whole, companion files left out.
    """
    import glob as _glob
    import os

    from signalkit.io.bids import bids_sources
    from signalkit.io.mne_formats import select_sources, walk_sources

    if any(ch in source for ch in "*?["):
        files = sorted(f for f in _glob.glob(source, recursive=True)
                       if os.path.isfile(f) or f.lower().rstrip("/").endswith((".ds", ".mff")))
        asked = tuple(e for e in EXTENSIONS if source.lower().endswith(e))
        files = select_sources([f for f in files if split_ext(f)], asked)
    elif os.path.isdir(source) and split_ext(source.rstrip("/")) is None:
        if os.path.isfile(os.path.join(source, "dataset_description.json")):
            return bids_sources(source, modality, EXTENSIONS, subjects, tasks)
        files = select_sources(walk_sources(source, EXTENSIONS))
    else:
        return None
    if not files:
        raise InputError(f"{source}: no {modality} files found (MNE's formats: {', '.join(EXTENSIONS)})")
    return files


for _modality in ("eeg", "meg", "ieeg"):
    register_reader(_modality, partial(read_sensor, modality=_modality), EXTENSIONS,
                    partial(expand_sensor_sources, modality=_modality))
