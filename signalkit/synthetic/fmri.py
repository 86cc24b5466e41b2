"""Synthetic fMRI runs: a seeded block-design generator written as NIfTI + BIDS events.

``make_block_design(out_dir)`` writes ``func/sub-XX_task-blocks_bold.nii.gz`` runs, each with a
``func/sub-XX_task-blocks_events.tsv`` (onset, duration, trial_type), plus ``atlas.nii.gz`` (a
box parcellation of the volume) outside ``func/``, so that ``signalkit ingest fmri <out>/func``
finds only the runs. Each condition activates its own spherical blob (the known
activation map), convolved with a canonical double-gamma HRF, on a smooth "brain" baseline with
white noise. ``write_nifti_frames`` streams frames to an uncompressed ``.nii`` without holding
the run in memory (used to build larger-than-memory test runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def hrf(tr: float, length_s: float = 24.0) -> np.ndarray:
    """Canonical double-gamma haemodynamic response sampled every ``tr`` s (peak 1)."""
    from scipy.stats import gamma

    t = np.arange(0, length_s, tr)
    h = gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6.0
    return h / h.max()


def _affine(voxel_mm: float, shape: Sequence[int]) -> np.ndarray:
    aff = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    aff[:3, 3] = -np.asarray(shape[:3]) * voxel_mm / 2
    return aff


def _header(shape: Sequence[int], affine: np.ndarray, tr: float):
    import nibabel as nib

    hdr = nib.Nifti1Header()
    hdr.set_data_shape(tuple(shape))
    hdr.set_data_dtype(np.float32)
    hdr.set_qform(affine, code=1)
    hdr.set_sform(affine, code=1)
    hdr.set_xyzt_units("mm", "sec")
    zooms = list(np.sqrt((affine[:3, :3] ** 2).sum(0)))
    hdr.set_zooms(tuple(zooms + [tr] * (len(shape) - 3)))
    return hdr


def write_nifti_frames(path: str | Path, shape: Sequence[int], frame: Callable[[int], np.ndarray],
                       tr: float = 2.0, voxel_mm: float = 3.0) -> Path:
    """Write a 4-D float32 ``.nii`` frame by frame: ``frame(t) -> (X, Y, Z)``; constant memory."""
    path = Path(path)
    hdr = _header(shape, _affine(voxel_mm, shape), tr)
    offset = 352
    hdr.set_data_offset(offset)
    with open(path, "wb") as fh:
        hdr.write_to(fh)
        fh.write(b"\0" * (offset - fh.tell()))
        for t in range(int(shape[3])):
            fh.write(np.asarray(frame(t), dtype="<f4").ravel(order="F").tobytes())
    return path


def activation_maps(shape: Sequence[int], n_conditions: int, radius: float = 2.5) -> np.ndarray:
    """``(K, X, Y, Z)`` float32 blobs in [0, 1], one per condition, centres spread along x."""
    x, y, z = np.meshgrid(*[np.arange(n) for n in shape[:3]], indexing="ij")
    maps = []
    for k in range(n_conditions):
        cx = (k + 1) * shape[0] / (n_conditions + 1)
        cy, cz = shape[1] / 2, shape[2] / 2
        d2 = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2
        maps.append(np.exp(-d2 / (2 * radius**2)))
    return np.stack(maps).astype(np.float32)


def box_atlas(shape: Sequence[int], parcels: Sequence[int] = (4, 2, 2)) -> np.ndarray:
    """Labels ``(X, Y, Z)`` int16: the volume cut into ``prod(parcels)`` boxes labelled 1..R."""
    idx = [np.minimum((np.arange(n) * p) // n, p - 1) for n, p in zip(shape[:3], parcels)]
    i, j, k = np.meshgrid(*idx, indexing="ij")
    return (1 + (i * parcels[1] + j) * parcels[2] + k).astype(np.int16)


def make_block_design(
    out_dir: str | Path,
    n_subjects: int = 3,
    shape: Sequence[int] = (16, 12, 8),
    n_blocks: int = 12,
    block_frames: int = 8,
    rest_frames: int = 6,
    conditions: Sequence[str] = ("faces", "houses"),
    tr: float = 2.0,
    amplitude: float = 3.0,
    noise: float = 1.0,
    seed: int = 0,
) -> dict:
    """Write one block-design run per subject; return paths and the known activation maps.

    Each run alternates ``n_blocks`` task blocks (conditions in a seeded balanced order) of
    ``block_frames`` frames with ``rest_frames`` of rest. Returns ``{"runs": [...], "events":
    [...], "atlas": path, "maps": (K, X, Y, Z), "conditions": [...]}``.
    """
    import nibabel as nib

    out = Path(out_dir)
    func = out / "func"
    func.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    affine = _affine(3.0, shape)
    maps = activation_maps(shape, len(conditions))
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape[:3]], indexing="ij")
    brain = 100.0 * np.exp(-(x**2 + y**2 + z**2))
    h = hrf(tr)
    period = block_frames + rest_frames
    n_frames = rest_frames + n_blocks * period
    runs, events = [], []
    for s in range(n_subjects):
        order = rng.permutation(np.arange(n_blocks) % len(conditions))
        boxcar = np.zeros((len(conditions), n_frames))
        rows = []
        for b, c in enumerate(order):
            t0 = rest_frames + b * period
            boxcar[c, t0:t0 + block_frames] = 1.0
            rows.append((t0 * tr, block_frames * tr, conditions[c]))
        response = np.stack([np.convolve(bc, h)[:n_frames] for bc in boxcar])  # (K, T)
        signal = brain[..., None] + amplitude * np.einsum("kxyz,kt->xyzt", maps, response)
        drift = np.linspace(0, 2, n_frames)  # slow scanner drift
        data = signal + drift + noise * rng.standard_normal(signal.shape)
        stem = f"sub-{s + 1:02d}_task-blocks"
        img = nib.Nifti1Image(data.astype(np.float32), affine, _header((*shape, n_frames), affine, tr))
        nib.save(img, func / f"{stem}_bold.nii.gz")
        ev = func / f"{stem}_events.tsv"
        ev.write_text("onset\tduration\ttrial_type\n" + "".join(f"{o:g}\t{d:g}\t{c}\n" for o, d, c in rows))
        runs.append(func / f"{stem}_bold.nii.gz")
        events.append(ev)
    atlas = out / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(box_atlas(shape), affine), atlas)
    return {"runs": runs, "events": events, "atlas": atlas, "maps": maps, "conditions": list(conditions),
            "n_frames": n_frames, "tr": tr}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m signalkit.synthetic.fmri <out_dir> [n_subjects]``: write the block-design set."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m signalkit.synthetic.fmri <out_dir> [n_subjects]")
    info = make_block_design(args[0], n_subjects=int(args[1]) if len(args) > 1 else 4)
    print(f"wrote {len(info['runs'])} runs to {Path(args[0]) / 'func'} and the atlas {info['atlas']}")


if __name__ == "__main__":
    main()
