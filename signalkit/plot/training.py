"""Training curves from the CSV log of a run (``<output_dir>/metrics.csv``, Lightning CSVLogger).

The CSV has one column per logged key (``epoch``, ``step``, ``train/loss``, ``val/loss``,
``val/balanced_accuracy``, ...) and one row per logging call, with NaN in the columns not logged
by that call; rows are aggregated per epoch (mean of the logged values).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def read_metrics_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Per-epoch table (index ``epoch``) of a run folder's ``metrics.csv`` or of the CSV itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no metrics.csv (was the run logged with logger.csv=true?)")
    df = pd.read_csv(path)
    if "epoch" not in df.columns:
        raise ValueError(f"{path}: no 'epoch' column (not a Lightning CSVLogger file)")
    df = df.dropna(subset=["epoch"])
    cols = [c for c in df.columns if c not in ("epoch", "step")]
    return df.groupby(df["epoch"].astype(int))[cols].mean().dropna(axis=1, how="all")


def plot_training_curves(run: str | os.PathLike | pd.DataFrame, metrics: Sequence[str] | None = None,
                         title: str = "") -> Figure:
    """Loss curves (``*/loss``) on the left; other ``train/``/``val/`` metrics on the right.

    Args:
        run: a run folder, its ``metrics.csv`` or the table of :func:`read_metrics_csv`.
        metrics: the non-loss columns to show (default: every ``train/`` and ``val/`` one).
    """
    df = run if isinstance(run, pd.DataFrame) else read_metrics_csv(run)
    losses = [c for c in df.columns if c.endswith("/loss") and not c.startswith("test/")]
    others = list(metrics) if metrics is not None else [
        c for c in df.columns if c.split("/")[0] in ("train", "val") and c not in losses
        and not c.endswith("skipped_batches")]
    fig = Figure(figsize=(10 if others else 5, 3.5))
    axes = np.atleast_1d(fig.subplots(1, 2 if others else 1))
    for ax, cols, label in ((axes[0], losses, "loss"), *(((axes[1], others, "metric"),) if others else ())):
        for c in cols:
            s = df[c].dropna()
            ax.plot(s.index.to_numpy(), s.to_numpy(), marker="o", ms=3, label=c)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if cols:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
