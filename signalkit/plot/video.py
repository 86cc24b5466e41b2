"""Frame grid of a forecast: rows inputs, targets, predictions and |error| (matplotlib, Agg-safe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _frames(a) -> np.ndarray:
    """``(T, C, H, W)`` tensor/array -> ``(T, H, W)`` gray or ``(T, H, W, 3)`` RGB numpy."""
    arr = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
    if arr.ndim != 4:
        raise ValueError(f"plot_frame_grid: expected frames (T, C, H, W), got shape {arr.shape}")
    return arr[:, 0] if arr.shape[1] == 1 else np.moveaxis(arr[:, :3], 1, -1)


def plot_frame_grid(x, y, pred, path: str | Path | None = None, max_frames: int = 10,
                    vmax: float = 1.0, title: str | None = None):
    """Plot one sequence: inputs ``x (T_in, C, H, W)``, targets ``y`` and ``pred (T_out, C, H, W)``.

    Rows: the last ``max_frames`` inputs, the targets, the predictions and the absolute error
    (per-pixel MSE of each predicted frame in its title). Saves to ``path`` when given (the
    figure is closed); returns the figure otherwise. Works with the Agg backend (no display).
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    xs, ys, ps = _frames(x)[-max_frames:], _frames(y)[:max_frames], _frames(pred)[:max_frames]
    if ys.shape != ps.shape:
        raise ValueError(f"plot_frame_grid: targets {ys.shape} and predictions {ps.shape} differ")
    err = np.abs(ps - ys)
    cols = max(len(xs), len(ys))
    fig, axes = plt.subplots(4, cols, figsize=(1.2 * cols, 5.2), squeeze=False)
    rows = [("input", xs), ("target", ys), ("prediction", ps), ("|error|", err)]
    for r, (label, frames) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(frames):
                ax.axis("off")
                continue
            img = np.clip(frames[c], 0, vmax)
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=vmax)
            if r == 3:
                ax.set_title(f"{np.mean((ps[c] - ys[c]) ** 2):.4f}", fontsize=7)
            elif r in (1, 2):
                ax.set_title(f"t+{c + 1}", fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return None
    return fig
