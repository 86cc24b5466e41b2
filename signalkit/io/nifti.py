"""fMRI runs from NIfTI (``.nii``, ``.nii.gz``) through nibabel -> Recording, read lazily.

The Recording holds ``signal (time, x, y, z)`` float32 as a dask array that reads blocks of
frames from ``img.dataobj`` on demand, so ``signalkit ingest`` streams a run larger than memory
to zarr block by block. Attrs: ``affine`` (4x4 list, voxel -> scanner mm), ``tr`` (seconds),
``voxel_size`` (mm); optional variables ``mask (x, y, z)``, events (BIDS ``*_events.tsv``) and,
with an atlas, ``region_signal (time, region)`` with centroids ``region_pos (region, xyz)`` in
scanner millimetres.

With no preprocessing configured the stored signal equals ``nibabel.load(path).get_fdata()``
(as float32), transposed to time first.
"""

from __future__ import annotations

import os
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from signalkit.errors import ConfigError, InputError
from signalkit.io import register_reader
from signalkit.io.bids_sidecars import derivative_mask, inherited_sidecar
from signalkit.io.fmri_preprocess import Cleaner, RegionAverager, epi_mask, iter_blocks, load_labels, mean_image
from signalkit.io.identity import parse_identity
from signalkit.recording import event_variables, file_sha256, source_name

EXTENSIONS = (".nii", ".nii.gz")
EVENT_COLUMNS = ("onset", "duration", "trial_type")
_ZARR_CHUNK_BYTES = 1 << 19  # the store's time-chunk target (signalkit.store): blocks are multiples of it
_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}
PREPROCESS_KEYS = ("mask", "detrend", "standardize", "confounds", "confound_columns")


class TRUnitWarning(UserWarning):
    """The header's TR is implausible for its unit (e.g. 2000 stored under "sec")."""


def _open(path: Path):
    import nibabel as nib

    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not str(path).lower().endswith(EXTENSIONS):
        raise InputError(f"{path}: unknown extension for a NIfTI run (known: {', '.join(EXTENSIONS)})")
    try:
        img = nib.load(str(path), mmap=False, keep_file_open=True)
    except Exception as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: cannot read the NIfTI file ({type(err).__name__}: {msg})") from None
    shape = tuple(int(n) for n in img.shape)
    while len(shape) > 4 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) < 3 or len(shape) > 4:
        raise InputError(f"{path}: NIfTI image has {len(img.shape)} dimension(s) {tuple(img.shape)}; "
                         "expected a 3-D volume or a 4-D run (x, y, z, time)")
    if min(shape) < 1:
        raise InputError(f"{path}: the image is empty (shape {shape})")
    _check_size(img, path)
    return img, shape


# deflate cannot compress better than ~1032:1, so a .nii.gz holds at most this many bytes per byte
_GZIP_MAX_RATIO = 1032


def _check_size(img, path: Path) -> None:
    """The data the header announces must fit in the file, checked before anything is allocated:
    exactly for ``.nii`` (offset + voxels x bytes per voxel <= file size), by deflate's maximum
    ratio for ``.nii.gz`` (a truncated ``.nii.gz`` is caught when read, see :class:`_FrameReader`)."""
    header = img.header
    try:
        itemsize = int(header.get_data_dtype().itemsize)
        offset = int(header.get_data_offset())
    except Exception as err:
        raise InputError(f"{path}: the NIfTI header is invalid ({type(err).__name__}: {err})") from None
    n_bytes = itemsize
    for n in img.shape:
        n_bytes *= int(n)  # Python ints: a 32767^4 header does not overflow
    size = os.path.getsize(path)
    if str(path).lower().endswith(".gz"):
        if n_bytes > size * _GZIP_MAX_RATIO:
            raise InputError(f"{path}: the header announces {tuple(img.shape)} voxels ({n_bytes:,} bytes), more than "
                             f"a {size:,}-byte .nii.gz can hold; the header or the file is damaged")
    elif offset + n_bytes > size:
        raise InputError(f"{path}: the header announces {tuple(img.shape)} voxels ({offset + n_bytes:,} bytes with "
                         f"the header) but the file has {size:,} bytes; the file is truncated or the header damaged")


def repetition_time(img, path: Path, override: float | None = None) -> tuple[float, str]:
    """``(TR in seconds, where it came from)``: ``override`` if given, else the header's, unit-corrected.

    A header storing milliseconds under unit "sec" (TR > 100 s) is detected, reported with a
    :class:`TRUnitWarning` naming the file, and converted to seconds.
    """
    if override is not None:
        tr = float(override)
        if not np.isfinite(tr) or tr <= 0:
            raise ConfigError(f"tr: expected a positive repetition time in seconds, got {override!r}")
        return tr, "config"
    zooms = img.header.get_zooms()
    if len(zooms) < 4:
        return 0.0, "none (3-D volume)"
    tr = float(zooms[3])
    unit = img.header.get_xyzt_units()[1]
    tr *= _TIME_UNITS.get(unit, 1.0)
    source = "header"
    if unit in ("sec", "unknown") and tr > 100:
        warnings.warn(f"{path}: header TR {tr:g} with unit {unit!r} is implausible; reading it as "
                      f"milliseconds ({tr / 1000:g} s). Set tr= to override.", TRUnitWarning, stacklevel=3)
        tr /= 1000.0
        source = f"header (tr_corrected: {zooms[3]:g} with unit {unit!r} read as milliseconds)"
    if not np.isfinite(tr) or tr <= 0:
        raise InputError(f"{path}: the header has no valid TR ({zooms[3]!r}); set tr=<seconds>")
    return tr, source


def _sidecar(path: Path, suffix: str, given: str | None) -> Path | None:
    """A BIDS sidecar of the run: ``given`` path, or found next to it for ``"auto"``."""
    if given in (None, "", "none", False):
        return None
    if given != "auto":
        p = Path(str(given))
        if not p.exists():
            raise InputError(f"{p}: file not found ({suffix} table of {path})")
        return p
    stem = source_name(path)
    stems = [stem]
    for cut in ("_space-", "_desc-", "_bold"):
        if cut in stem:
            stems.append(stem.split(cut)[0])
    for s in stems:
        p = path.with_name(f"{s}_{suffix}")
        if p.exists():
            return p
    return inherited_sidecar(path, suffix)  # BIDS inheritance (events.tsv shared across acq-)


def read_events(path: Path) -> dict[str, xr.Variable]:
    """A BIDS events table (``onset``, ``duration``, ``trial_type`` in seconds) -> event variables."""
    try:
        table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    except Exception as err:
        raise InputError(f"{path}: cannot read the events table ({type(err).__name__}: {err})") from None
    missing = [c for c in EVENT_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path}: events table lacks column(s) {', '.join(missing)} "
                         f"(needs {', '.join(EVENT_COLUMNS)}; has {', '.join(map(str, table.columns))})")
    table = table[np.isfinite(pd.to_numeric(table["onset"], errors="coerce"))]
    return event_variables(table["onset"].astype(float), table["duration"].fillna(0).astype(float),
                          table["trial_type"].fillna("n/a").astype(str))


def read_confounds(path: Path, n_times: int, columns: list[str] | None) -> np.ndarray:
    """Confound regressors ``(T, K)`` from a tsv (``n/a`` filled with the column mean)."""
    table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    if columns:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise InputError(f"{path}: confounds table lacks column(s) {', '.join(missing)}")
        table = table[list(columns)]
    table = table.select_dtypes("number")
    if len(table) != n_times or table.shape[1] == 0:
        raise InputError(f"{path}: confounds table has {len(table)} rows x {table.shape[1]} numeric "
                         f"columns; the run has {n_times} frames")
    return table.fillna(table.mean()).fillna(0).to_numpy(np.float64)


class _FrameReader:
    """Blocks of frames ``(t, X, Y, Z)`` float32 from ``img.dataobj``, NaN-checked."""

    def __init__(self, img, shape: tuple[int, ...], path: Path):
        self.proxy, self.shape, self.path = img.dataobj, shape, path

    def __call__(self, t0: int, t1: int) -> np.ndarray:
        try:
            if len(self.shape) == 3:
                block = np.asarray(self.proxy[...], dtype=np.float32).reshape(self.shape)[None]
            else:
                sl = (slice(None),) * 3 + (slice(t0, t1),) + (0,) * (len(self.proxy.shape) - 4)
                block = np.moveaxis(np.asarray(self.proxy[sl], dtype=np.float32), -1, 0)
        except (EOFError, OSError, ValueError, zlib.error) as err:  # truncated or damaged (compressed) data
            msg = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
            raise InputError(f"{self.path}: cannot read frames {t0}-{t1} ({type(err).__name__}: {msg}); "
                             "the file is truncated or damaged") from None
        block = np.ascontiguousarray(block)
        if not np.isfinite(block).all():
            t, i, j, k = (int(v[0]) for v in np.nonzero(~np.isfinite(block)))
            raise InputError(f"{self.path}: NaN or Inf in the data (frame {t0 + t}, voxel ({i}, {j}, {k}))")
        return block


def _block_frames(frame_voxels: int, n_times: int, block_mb: float) -> int:
    """Frames per read: ~``block_mb`` of float64, a multiple of the store's time chunk."""
    t_chunk = max(1, min(n_times, _ZARR_CHUNK_BYTES // max(1, frame_voxels * 4)))
    n = max(1, int(block_mb * 2**20) // max(1, frame_voxels * 8))
    return max(t_chunk, (n // t_chunk) * t_chunk)


def _lazy(fn, n_times: int, block: int, shape: tuple[int, ...], name: str):
    """A dask array ``(T, *shape)`` float32 whose blocks of frames are ``fn(t0, t1)``."""
    import dask
    import dask.array as da

    parts = [da.from_delayed(dask.delayed(fn)(t0, t1, dask_key_name=f"{name}-{t0}"),
                             shape=(t1 - t0, *shape), dtype=np.float32)
             for t0, t1 in iter_blocks(n_times, block)]
    return da.concatenate(parts, axis=0)


def read_nifti(
    path: str | Path,
    *,
    tr: float | None = None,
    events: str | None = "auto",
    preprocess: dict | None = None,
    atlas: str | None = None,
    subject_pattern: str | None = None,
    block_mb: float = 32.0,
) -> xr.Dataset:
    """Read a 3-D or 4-D NIfTI run into an fMRI Recording (lazy, see module docstring).

    Args:
        path: ``.nii`` or ``.nii.gz`` file (a 3-D volume is one frame).
        tr: repetition time in seconds overriding the header's.
        events: ``"auto"`` (``<stem>_events.tsv`` next to the run, else the BIDS-inherited
            ``*_events.tsv``, e.g. one per run shared by its ``acq-`` variants), a path, or None.
        preprocess: ``mask`` (None | ``"auto"`` | labels/mask NIfTI path | ``"label-<name>"``: the
            matching ``derivatives/*/sub-*/*_label-<name>_mask.nii.gz`` of the BIDS dataset;
            ``"label-<name>?"``: that mask where the file's grid has one, none otherwise), ``detrend`` (linear,
            per voxel), ``standardize`` (z-score per voxel), ``confounds`` (None | ``"auto"`` |
            tsv path), ``confound_columns`` (None = every numeric column).
        atlas: labels NIfTI (resampled to the run's grid, nearest neighbour) -> region means.
        block_mb: float64 megabytes read per block of frames (bounds peak memory).
    """
    path = Path(path)
    img, shape = _open(path)
    pre = {"mask": None, "detrend": False, "standardize": False, "confounds": None,
           "confound_columns": None, **dict(preprocess or {})}
    unknown = set(pre) - set(PREPROCESS_KEYS)
    if unknown:
        raise ConfigError(f"preprocess.{sorted(unknown)[0]}: unknown key (known: {', '.join(PREPROCESS_KEYS)})")
    n_times = shape[3] if len(shape) == 4 else 1
    frame_shape = tuple(shape[:3])
    tr_s, tr_source = repetition_time(img, path, tr)
    affine = np.asarray(img.affine, dtype=np.float64)
    raw = _FrameReader(img, shape, path)
    block = _block_frames(int(np.prod(frame_shape)), n_times, block_mb)

    mask = None
    if pre["mask"] == "auto":
        mask = epi_mask(mean_image(raw, n_times, block))
    elif isinstance(pre["mask"], str) and pre["mask"].startswith("label-"):
        label, optional = pre["mask"][len("label-"):].rstrip("?"), pre["mask"].endswith("?")
        mask_path = derivative_mask(path, label, required=not optional)
        if mask_path is not None:
            mask = load_labels(str(mask_path), frame_shape, affine, what="mask") > 0
    elif pre["mask"]:
        mask = load_labels(str(pre["mask"]), frame_shape, affine, what="mask") > 0
    conf_path = _sidecar(path, "desc-confounds_timeseries.tsv", pre["confounds"])
    if pre["confounds"] == "auto" and conf_path is None:
        raise InputError(f"{path}: preprocess.confounds=auto but no <stem>_desc-confounds_timeseries.tsv next to it")
    confounds = read_confounds(conf_path, n_times, pre["confound_columns"]) if conf_path else None
    cleaner = None
    if pre["detrend"] or pre["standardize"] or confounds is not None:
        cleaner = Cleaner(n_times, bool(pre["detrend"]), bool(pre["standardize"]), confounds)
        cleaner.fit(raw, n_times, block, frame_shape)

    def frames(t0: int, t1: int) -> np.ndarray:
        out = raw(t0, t1)
        if cleaner is not None:
            out = cleaner.apply(out, t0)
        if mask is not None:
            out *= mask[None]
        return out

    name = f"nifti-{source_name(path)}-{id(img):x}"
    data = {"signal": (("time", "x", "y", "z"), _lazy(frames, n_times, block, frame_shape, name))}
    coords: dict = {}
    if mask is not None:
        data["mask"] = (("x", "y", "z"), mask)
    if atlas:
        labels = load_labels(str(atlas), frame_shape, affine, what="atlas")
        avg = RegionAverager(labels, affine, mask)
        data["region_signal"] = (("time", "region"), _region_lazy(frames, avg, n_times, block, name))
        coords = {"region": np.asarray(avg.names, dtype=str), "xyz": np.asarray(["x", "y", "z"]),
                  "region_pos": (("region", "xyz"), avg.centroids_mm)}
    ds = xr.Dataset(data, coords=coords)
    ev_path = _sidecar(path, "events.tsv", events)
    ds = ds.assign(read_events(ev_path) if ev_path else event_variables([], [], []))
    ident = parse_identity(path, subject_pattern)
    ds.attrs.update(
        tr=tr_s, tr_source=tr_source, affine=affine.tolist(), voxel_size=[float(v) for v in img.header.get_zooms()[:3]],
        space_unit=str(img.header.get_xyzt_units()[0]), n_regions=len(coords.get("region", [])),
        events_file=str(ev_path or ""), confounds_file=str(conf_path or ""),
        source=str(path), sha256=file_sha256(path), **ident,
    )
    return ds


def _region_lazy(frames, avg: RegionAverager, n_times: int, block: int, name: str):
    """``(T, R)`` region means, sharing the frame blocks of the signal (one read per block)."""
    import dask
    import dask.array as da

    parts = []
    for t0, t1 in iter_blocks(n_times, block):
        blk = dask.delayed(frames)(t0, t1, dask_key_name=f"{name}-{t0}")
        reg = dask.delayed(avg)(blk, dask_key_name=f"{name}-region-{t0}")
        parts.append(da.from_delayed(reg, shape=(t1 - t0, len(avg.names)), dtype=np.float32))
    return da.concatenate(parts, axis=0)


register_reader("fmri", read_nifti, EXTENSIONS)
