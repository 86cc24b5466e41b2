"""The Recording contract: one file (or file set) as an ``xarray.Dataset``.

Every reader returns a Dataset whose data variable is ``signal``; events, where a modality has
them, are variables along the dimension ``event`` (``event_onset_s``, ``event_duration_s``,
``event_label``); scalar metadata are attrs (``subject``, ``session``, ``run``, ``source``,
``sha256`` and per-modality ones such as ``sfreq``). See DESIGN.md section 3.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

from signalkit.errors import InputError
from signalkit.lazy_attrs import LazyAttrs

SIGNAL = "signal"
EVENT_DIM = "event"
EVENT_VARS = ("event_onset_s", "event_duration_s", "event_label")
MODALITY_DIMS = {
    "eeg": ("channel", "time"),
    "meg": ("channel", "time"),
    "ieeg": ("channel", "time"),
    "fmri": ("time", "x", "y", "z"),
    "weather": ("time", "variable", "lat", "lon"),
    "video": ("time", "channel", "height", "width"),
}
SENSOR_MODALITIES = ("eeg", "meg", "ieeg")
IDENTITY_ATTRS = ("subject", "session", "run", "source", "sha256")
# Vocabulary of sensor types shared by readers, datasets and the sensor tokenizer (index = id).
CH_TYPES = ("eeg", "mag", "grad", "seeg", "ecog", "dbs", "eog", "ecg", "emg", "misc", "region", "other")


def ch_type_ids(types) -> np.ndarray:
    """Map channel type names to integer ids of :data:`CH_TYPES` (unknown -> ``other``)."""
    lookup = {t: i for i, t in enumerate(CH_TYPES)}
    return np.asarray([lookup.get(str(t), len(CH_TYPES) - 1) for t in types], dtype=np.int64)


def file_sha256(path: str | os.PathLike, chunk_bytes: int = 1 << 22) -> str:
    """Return the hex sha256 of a file's bytes (streamed, constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def lazy_file_sha256(path: str | os.PathLike) -> Callable[[], str]:
    """A call returning the sha256 of the file at ``path`` as it is now, computed when called
    (for :class:`LazyAttrs`). A file changed (size, modification time or inode) or removed
    since this function was called has no hash of the bytes that were read: the call returns
    ``""`` (unknown) and warns, naming the file."""
    def stamp() -> tuple[int, int, int]:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns, st.st_ino

    at_read = stamp()

    def sha256() -> str:
        try:
            if stamp() == at_read:
                digest = file_sha256(path)
                if stamp() == at_read:
                    return digest
        except OSError:
            pass
        warnings.warn(f"{path}: the file changed or was removed after it was read; the Recording's sha256 is "
                      "left empty (read it again for its hash)", UserWarning, stacklevel=3)
        return ""

    return sha256


def event_variables(
    onset_s: Sequence[float], duration_s: Sequence[float], label: Sequence[str]
) -> dict[str, xr.Variable]:
    """The three event variables along dim ``event`` (each of shape ``(E,)``) as ``xr.Variable``
    (what :func:`sensor_recording` and ``Dataset.assign`` take; cheaper than DataArrays)."""
    onset = np.asarray(onset_s, dtype=np.float64).reshape(-1)
    duration = np.asarray(duration_s, dtype=np.float64).reshape(-1)
    if isinstance(label, np.ndarray) and label.dtype.kind == "U":
        label = label.reshape(-1).tolist()  # Python strings: the same text as numpy's, made faster
    labels = np.asarray([str(v) for v in label], dtype=str).reshape(-1)
    if not (len(onset) == len(duration) == len(labels)):
        raise ValueError("event onset, duration and label must have the same length")
    if labels.dtype.itemsize == 0:  # no events: keep a valid unicode dtype
        labels = labels.astype("<U1")
    return {  # float64 and unicode arrays: xarray's checks would keep them as they are
        "event_onset_s": xr.Variable((EVENT_DIM,), onset, fastpath=True),
        "event_duration_s": xr.Variable((EVENT_DIM,), duration, fastpath=True),
        "event_label": xr.Variable((EVENT_DIM,), labels, fastpath=True),
    }


def sensor_recording(
    data: np.ndarray,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    ch_types: Sequence[str],
    pos: np.ndarray,
    ori: np.ndarray | None = None,
    events: dict[str, xr.DataArray] | None = None,
    subject: str = "",
    session: str = "",
    run: str = "",
    source: str = "",
    sha256: str | Callable[[], str] = "",
    attrs: dict | None = None,
    extra_coords: dict | None = None,
    extra_vars: dict | None = None,
) -> xr.Dataset:
    """Assemble an EEG/MEG/iEEG Recording.

    Args:
        data: ``(C, T)`` signal in SI units (V, T, T/m); stored as float32.
        sfreq: sampling rate in Hz.
        ch_names, ch_types: ``C`` names and MNE channel types (``eeg``, ``mag``, ``grad``, ...).
        pos: ``(C, 3)`` sensor positions in metres (NaN where unknown).
        ori: optional ``(C, 3)`` sensor orientation (MEG coil normal), NaN where not applicable.
        events: the variables returned by :func:`event_variables`.
        extra_coords, extra_vars: further coordinates / variables (e.g. a ``bad (channel)`` flag,
            ``aux (aux_channel, time)``), in xarray's ``(dims, values)`` form.
        sha256: the source's hash, or a call computing it (e.g. :func:`lazy_file_sha256`): the
            attrs are then a :class:`LazyAttrs` that calls it when ``sha256`` is first read.
    """
    data = np.asarray(data, dtype=np.float32)
    n_ch = data.shape[0]
    pos = np.asarray(pos, dtype=np.float64).reshape(n_ch, 3)
    coords = {
        "channel": np.asarray(list(ch_names), dtype=str),
        "ch_type": ("channel", np.asarray(list(ch_types), dtype=str)),
        "pos": (("channel", "xyz"), pos),
        "xyz": np.asarray(["x", "y", "z"]),
    }
    if ori is not None:
        coords["ori"] = (("channel", "xyz"), np.asarray(ori, dtype=np.float64).reshape(n_ch, 3))
    coords.update(extra_coords or {})
    if events is None:
        events = event_variables([], [], [])
    # DataArrays without coordinates as their Variables: xarray then builds the Dataset without
    # aligning them (half the cost of a small file's Recording)
    events = {k: v.variable if isinstance(v, xr.DataArray) and not v.coords else v for k, v in events.items()}
    values = dict(sfreq=float(sfreq), subject=str(subject), session=str(session), run=str(run),
                  source=str(source), sha256="" if callable(sha256) else str(sha256), **(attrs or {}))
    lazy = LazyAttrs(values, {"sha256": lambda: str(sha256())}) if callable(sha256) else None
    return build_dataset({SIGNAL: (("channel", "time"), data), **events, **(extra_vars or {})}, coords,
                         attrs=lazy if lazy is not None else values, indexes={"xyz": _xyz_index()})


@lru_cache(maxsize=1)
def _xyz_index():
    """The index of the ``xyz`` coordinate, the same in every Recording (pandas and xarray
    indexes are immutable: one serves them all)."""
    import pandas as pd
    from xarray.indexes import PandasIndex

    xyz = np.asarray(["x", "y", "z"])
    return PandasIndex(pd.Index(xyz), "xyz", coord_dtype=xyz.dtype)


# numpy dtypes xarray keeps unchanged in a Variable (no datetime, timedelta or object conversion)
_PLAIN_KINDS = frozenset("biufcU")


@lru_cache(maxsize=1)
def _str_index_dtype():
    """The dtype ``pd.Index`` infers for a numpy unicode array (pandas' ``str`` dtype, or object
    before pandas 3): given to ``pd.Index``, it skips the inference, which costs as much again."""
    import pandas as pd

    return pd.Index(np.asarray(["x"])).dtype


def _as_variable(name: str, value) -> xr.Variable:
    if isinstance(value, xr.DataArray):
        if value.coords:
            raise TypeError("a DataArray with coordinates")  # the public constructor aligns those
        return value.variable
    if isinstance(value, xr.Variable):
        return value
    if isinstance(value, tuple):
        if len(value) == 2 and type(value[1]) is np.ndarray and value[1].dtype.kind in _PLAIN_KINDS:
            return xr.Variable(value[0], value[1], fastpath=True)  # what xarray's checks would keep as is
        return xr.Variable(*value)
    return xr.Variable((name,), np.asarray(value))  # a bare array: a coordinate along its own dim


def build_dataset(data_vars: dict, coords: dict, attrs: dict | None = None,
                  indexes: dict | None = None) -> xr.Dataset:
    """``xr.Dataset(data_vars, coords=coords)`` for variables given as ``(dims, values)``,
    ``Variable`` or coordinate-free ``DataArray`` (a bare array in ``coords``: a coordinate along
    the dimension of its name), built without xarray's merge and alignment (which cost more than
    reading a small file). The Dataset is the public constructor's, indexes included (a
    ``PandasIndex`` per dimension coordinate; checked by tests/test_recording_build.py); anything
    else (sizes that disagree, DataArrays with coordinates) goes through the public constructor.
    ``attrs`` become the Dataset's attrs (the object itself, so a :class:`LazyAttrs` stays lazy);
    ``indexes``: ready ``PandasIndex`` objects of coordinates whose values they hold."""
    try:
        import pandas as pd
        from xarray.indexes import PandasIndex

        variables = {k: _as_variable(k, v) for k, v in {**data_vars, **coords}.items()}
        if len(variables) != len(data_vars) + len(coords):
            raise ValueError("a name both a variable and a coordinate")
        dims: dict[str, int] = {}
        for var in variables.values():
            for dim, size in zip(var.dims, var.shape):
                if dims.setdefault(dim, size) != size:
                    raise ValueError(f"dimension {dim} has two sizes")
        ready, built = indexes or {}, {}
        for name in coords:
            var = variables[name]
            if var.dims == (name,):
                values = np.asarray(var.values)
                index = ready.get(name)
                if (index is None or index.coord_dtype != values.dtype
                        or not np.array_equal(np.asarray(index.index), values)):
                    kind = {"dtype": _str_index_dtype()} if values.dtype.kind == "U" else {}
                    index = PandasIndex(pd.Index(values, name=name, **kind), name, coord_dtype=values.dtype)
                built[name] = index
                variables.update(index.create_variables({name: var}))
        return xr.Dataset._construct_direct(variables, set(coords), dims, attrs, built)
    except (TypeError, ValueError, AttributeError, ImportError):
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def validate_recording(ds: xr.Dataset, modality: str, name: str = "") -> None:
    """Check a Recording against the contract; raise :class:`InputError` naming ``name``.

    Rejects a missing ``signal`` variable, wrong dims, an empty signal and NaN/Inf values
    (modalities with a fixed ``mask`` variable may hold NaN only where the mask is False).
    A lazy (dask) signal, which its reader streams and checks block by block as it is read, is
    checked here on its first time sample only.
    """
    where = name or ds.attrs.get("source", "<recording>")
    if SIGNAL not in ds:
        raise InputError(f"{where}: the recording has no '{SIGNAL}' variable")
    dims = MODALITY_DIMS.get(modality)
    sig = ds.variables[SIGNAL]  # the Variable: a DataArray would gather every coordinate first
    if not isinstance(sig.data, np.ndarray) and sig.chunks is not None and "time" in sig.dims:
        sig = sig.isel(time=slice(0, 1))
    if dims is not None and tuple(sig.dims) != dims:
        raise InputError(f"{where}: '{SIGNAL}' has dims {sig.dims}, expected {dims} for {modality}")
    if sig.size == 0:
        raise InputError(f"{where}: the signal is empty (shape {tuple(sig.shape)})")
    for key in IDENTITY_ATTRS:
        if key not in ds.attrs:  # not setdefault: that would compute a lazy sha256
            ds.attrs[key] = ""
    if modality in SENSOR_MODALITIES:
        if not np.isfinite(ds.attrs.get("sfreq", np.nan)) or ds.attrs["sfreq"] <= 0:
            raise InputError(f"{where}: invalid sampling rate {ds.attrs.get('sfreq')!r}")
        values = np.asarray(sig.values)
        axis = sig.dims.index("time") if "time" in sig.dims else values.ndim - 1
        step = max(1, (1 << 22) // max(1, values.size // max(1, values.shape[axis])))
        def block(i: int) -> np.ndarray:
            index = [slice(None)] * values.ndim
            index[axis] = slice(i, i + step)
            return values[tuple(index)]

        finite = all(np.isfinite(block(i)).all() for i in range(0, values.shape[axis], step))  # in blocks
        if not finite:
            bad = np.unique(np.nonzero(~np.isfinite(values))[0])
            names = [str(c) for c in ds["channel"].values[bad][:5]]
            raise InputError(f"{where}: NaN or Inf in the signal of channel(s) {', '.join(names)}")


def source_name(path: str | os.PathLike) -> str:
    """A short, filesystem-safe name for a source file (its stem without compound suffixes)."""
    name = Path(path).name
    for suffix in (".nii.gz", ".tar.gz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def str_values(values) -> np.ndarray:
    """A unicode ``<U`` array from any string-like array (object, numpy StringDType, bytes)."""
    items = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).tolist()]
    return np.asarray(items, dtype=str) if items else np.asarray([], dtype="<U1")
