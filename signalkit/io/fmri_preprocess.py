"""fMRI preprocessing at ingest, streaming over blocks of frames (numpy/scipy only).

* :func:`epi_mask` - brain mask from the mean image (nilearn ``compute_epi_mask`` style: the
  threshold is the deepest valley of the mean-intensity histogram between 20 % and 85 % of the
  sorted values, then the largest connected component, holes filled).
* :class:`Cleaner` - per-voxel regression of a design (constant, linear trend, confounds) and
  standardisation, fitted from running sums (``X^T y``, ``sum y^2``) so that no voxel's full
  time series is ever held in memory.
* :func:`load_labels` / :class:`RegionAverager` - a labels NIfTI resampled to the run's grid
  (nearest neighbour, :func:`nibabel.processing.resample_from_to`) and per-label mean signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp

from signalkit.errors import InputError

BlockFn = Callable[[int, int], np.ndarray]  # (t0, t1) -> (t1 - t0, X, Y, Z) float32


def iter_blocks(n_times: int, block: int) -> Iterator[tuple[int, int]]:
    """``(t0, t1)`` frame ranges of at most ``block`` frames covering ``0..n_times``."""
    for t0 in range(0, n_times, block):
        yield t0, min(n_times, t0 + block)


def mean_image(read: BlockFn, n_times: int, block: int) -> np.ndarray:
    """Mean over time ``(X, Y, Z)`` float64, streamed over blocks of frames."""
    total = None
    for t0, t1 in iter_blocks(n_times, block):
        s = read(t0, t1).sum(axis=0, dtype=np.float64)
        total = s if total is None else total + s
    return total / max(1, n_times)


def epi_mask(mean: np.ndarray, lower_cutoff: float = 0.2, upper_cutoff: float = 0.85) -> np.ndarray:
    """Brain mask ``(X, Y, Z)`` bool from a mean EPI image (see module docstring)."""
    values = np.sort(mean[np.isfinite(mean)].ravel())
    if values.size == 0 or values[-1] <= values[0]:
        return np.ones(mean.shape, dtype=bool)
    lo, hi = int(lower_cutoff * values.size), int(upper_cutoff * values.size)
    span = values[lo:hi + 1]
    if span.size < 3:
        threshold = float(np.median(values))
    else:
        gaps = np.diff(span)
        threshold = float(span[int(np.argmax(gaps)) + 1]) if gaps.max() > 0 else float(span[0])
    mask = mean >= threshold
    labels, n = ndi.label(mask)
    if n > 1:
        sizes = ndi.sum(mask, labels, index=np.arange(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    mask = ndi.binary_fill_holes(mask)
    return mask if mask.any() else np.ones(mean.shape, dtype=bool)


class Cleaner:
    """Regress a design out of every voxel and optionally standardise, from running sums.

    ``design (T, K)`` columns: constant, optional linear trend, optional confounds. After
    :meth:`fit` (one streamed pass), :meth:`apply` maps a block ``(t, X, Y, Z)`` of frames
    ``t0..t1`` to ``(y - X beta) / std`` (``std`` = residual standard deviation when
    ``standardize``, else 1). Voxels with zero residual variance stay 0.
    """

    def __init__(self, n_times: int, detrend: bool, standardize: bool,
                 confounds: np.ndarray | None = None):
        cols = [np.ones(n_times)]
        if detrend and n_times > 1:
            trend = np.arange(n_times, dtype=np.float64)
            cols.append((trend - trend.mean()) / max(1.0, trend.std()))
        if confounds is not None:
            c = np.asarray(confounds, dtype=np.float64)
            c = c - c.mean(axis=0)
            scale = c.std(axis=0)
            cols.extend((c / np.where(scale > 0, scale, 1.0)).T)
        self.design = np.stack(cols, axis=1)  # (T, K)
        self.standardize = standardize
        self.beta: np.ndarray | None = None  # (K, V)
        self.scale: np.ndarray | None = None  # (V,)

    def fit(self, read: BlockFn, n_times: int, block: int, shape: tuple[int, ...]) -> None:
        v = int(np.prod(shape))
        xty = np.zeros((self.design.shape[1], v))
        yy = np.zeros(v)
        for t0, t1 in iter_blocks(n_times, block):
            y = read(t0, t1).reshape(t1 - t0, v).astype(np.float64)
            xty += self.design[t0:t1].T @ y
            yy += np.einsum("tv,tv->v", y, y)
        xtx = self.design.T @ self.design
        self.beta = np.linalg.lstsq(xtx, xty, rcond=None)[0]
        rss = yy - 2 * np.einsum("kv,kv->v", self.beta, xty) + np.einsum("kv,kl,lv->v", self.beta, xtx, self.beta)
        std = np.sqrt(np.clip(rss, 0, None) / max(1, n_times))
        if self.standardize:
            tiny = std <= 1e-8 * max(1.0, float(np.sqrt(yy.max() / max(1, n_times))))
            self.scale = np.where(tiny, np.inf, std)
        else:
            self.scale = np.ones(v)

    def apply(self, y: np.ndarray, t0: int) -> np.ndarray:
        t = y.shape[0]
        flat = y.reshape(t, -1).astype(np.float64)
        flat = (flat - self.design[t0:t0 + t] @ self.beta) / self.scale
        return flat.reshape(y.shape).astype(np.float32)


def load_labels(atlas_path: str, shape: tuple[int, int, int], affine: np.ndarray, what: str = "atlas") -> np.ndarray:
    """Integer labels ``(X, Y, Z)`` of a labels NIfTI on the run's grid (0 = background).

    The atlas is resampled with nearest neighbour when its shape or affine differ from the run's.
    """
    import nibabel as nib
    from nibabel.processing import resample_from_to

    try:
        img = nib.load(str(atlas_path))
    except FileNotFoundError:
        raise InputError(f"{atlas_path}: {what} file not found") from None
    except Exception as err:
        raise InputError(f"{atlas_path}: cannot read the {what} ({type(err).__name__}: {err})") from None
    if len(img.shape) == 4 and img.shape[3] == 1:
        img = img.slicer[..., 0]
    if len(img.shape) != 3:
        raise InputError(f"{atlas_path}: {what} has shape {img.shape}; a 3-D labels image is needed "
                         f"to resample onto the run's grid {tuple(shape)}")
    if img.shape != tuple(shape) or not np.allclose(img.affine, affine, atol=1e-4):
        try:
            img = resample_from_to(img, (tuple(shape), affine), order=0, mode="constant", cval=0)
        except Exception as err:
            raise InputError(f"{atlas_path}: cannot resample the {what} {img.shape} onto the run's "
                             f"grid {tuple(shape)} ({type(err).__name__}: {err})") from None
    labels = np.rint(np.asarray(img.dataobj, dtype=np.float64)).astype(np.int64)
    if not (labels > 0).any():
        raise InputError(f"{atlas_path}: no labelled voxel of the {what} falls inside the run's field of view")
    return labels


class RegionAverager:
    """Mean signal of each atlas label: block ``(t, X, Y, Z)`` -> ``(t, R)``.

    ``labels`` are the atlas values on the run's grid; voxels outside ``mask`` are ignored.
    ``names`` are the label values as strings, ``centroids_mm (R, 3)`` in scanner millimetres.
    """

    def __init__(self, labels: np.ndarray, affine: np.ndarray, mask: np.ndarray | None = None):
        use = labels > 0 if mask is None else (labels > 0) & mask
        values = np.unique(labels[use])
        if values.size == 0:
            raise InputError("atlas: no labelled voxel inside the brain mask")
        flat = labels.ravel()
        rows = np.nonzero(use.ravel())[0]
        cols = np.searchsorted(values, flat[rows])
        counts = np.bincount(cols, minlength=values.size).astype(np.float64)
        self.matrix = sp.csr_matrix((1.0 / counts[cols], (rows, cols)), shape=(flat.size, values.size))
        self.names = [str(int(v)) for v in values]
        ijk = np.stack(np.unravel_index(rows, labels.shape), axis=1).astype(np.float64)
        centre = np.stack([np.bincount(cols, ijk[:, k], values.size) for k in range(3)], 1) / counts[:, None]
        self.centroids_mm = centre @ affine[:3, :3].T + affine[:3, 3]

    def __call__(self, block: np.ndarray) -> np.ndarray:
        t = block.shape[0]
        return np.asarray(self.matrix.T @ block.reshape(t, -1).T.astype(np.float64)).T.astype(np.float32)
