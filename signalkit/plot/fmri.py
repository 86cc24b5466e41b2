"""fMRI figures (matplotlib, Agg-safe: figures are built with ``Figure``, never ``pyplot``).

* :func:`plot_orthogonal` - sagittal, coronal and axial slices through a voxel of a volume
  (a frame of a run, a mean image or an activation map), optional overlay (e.g. a mask).
* :func:`plot_region_timeseries` - region signals over time with the events as shaded spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def _volume(data) -> np.ndarray:
    vol = np.asarray(getattr(data, "values", data), dtype=np.float32)
    if vol.ndim == 4:  # (time, x, y, z): the temporal mean
        vol = vol.mean(axis=0)
    if vol.ndim != 3:
        raise ValueError(f"expected a (x, y, z) volume or a (time, x, y, z) run, got shape {vol.shape}")
    return vol


def plot_orthogonal(volume, cut: Sequence[int] | None = None, overlay=None, voxel_size: Sequence[float] = (1, 1, 1),
                    title: str = "", cmap: str = "gray", path: str | Path | None = None) -> Figure:
    """Three orthogonal slices through voxel ``cut`` (default: the centre) of ``volume``.

    Args:
        volume: ``(X, Y, Z)`` array/DataArray, or ``(T, X, Y, Z)`` (its temporal mean is shown).
        overlay: optional ``(X, Y, Z)`` map drawn in colour where non-zero (mask, activation).
        voxel_size: millimetres per voxel, for the slices' aspect ratio.
        path: save the figure there (png/pdf/svg) when given.
    """
    vol = _volume(volume)
    cut = [n // 2 for n in vol.shape] if cut is None else [int(c) for c in cut]
    over = None if overlay is None else _volume(overlay)
    fig = Figure(figsize=(9, 3.2))
    axes = fig.subplots(1, 3)
    vx, vy, vz = voxel_size
    views = [("sagittal x=%d" % cut[0], vol[cut[0]], None if over is None else over[cut[0]], vz / vy),
             ("coronal y=%d" % cut[1], vol[:, cut[1]], None if over is None else over[:, cut[1]], vz / vx),
             ("axial z=%d" % cut[2], vol[:, :, cut[2]], None if over is None else over[:, :, cut[2]], vy / vx)]
    lo, hi = np.percentile(vol, [2, 98]) if vol.size else (0, 1)
    for ax, (name, img, ov, aspect) in zip(axes, views):
        ax.imshow(img.T, origin="lower", cmap=cmap, vmin=lo, vmax=hi, aspect=aspect)
        if ov is not None:
            ax.imshow(np.ma.masked_where(ov.T == 0, ov.T), origin="lower", cmap="autumn", alpha=0.6, aspect=aspect)
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(str(path), dpi=100, bbox_inches="tight")
    return fig


def plot_region_timeseries(recording, regions: Sequence[str] | None = None, max_regions: int = 8,
                           path: str | Path | None = None) -> Figure:
    """``region_signal`` of a Recording (time in seconds) with its events shaded by label."""
    sig = recording["region_signal"]
    names = [str(r) for r in sig["region"].values] if "region" in sig.coords else [str(i) for i in range(sig.shape[1])]
    picks = [names.index(str(r)) for r in regions] if regions is not None else list(range(min(max_regions, len(names))))
    tr = float(recording.attrs.get("tr") or 1.0)
    t = np.arange(sig.shape[0]) * tr
    data = np.asarray(sig.values, dtype=np.float32)[:, picks]
    fig = Figure(figsize=(9, 1 + 0.6 * len(picks)))
    ax = fig.subplots()
    spread = 3 * float(np.nanstd(data)) or 1.0
    for k, j in enumerate(picks):
        ax.plot(t, data[:, k] - data[:, k].mean() - k * spread, lw=0.8)
    ax.set_yticks([-k * spread for k in range(len(picks))], [names[j] for j in picks])
    if "event_onset_s" in recording and recording.sizes.get("event", 0):
        labels = [str(v) for v in recording["event_label"].values]
        colours = {lab: f"C{i}" for i, lab in enumerate(sorted(set(labels)))}
        for onset, dur, lab in zip(recording["event_onset_s"].values, recording["event_duration_s"].values, labels):
            ax.axvspan(onset, onset + max(dur, tr), color=colours[lab], alpha=0.15, lw=0)
    ax.set_xlabel("time (s)")
    ax.set_title("region time series")
    if path is not None:
        fig.savefig(str(path), dpi=100, bbox_inches="tight")
    return fig
