"""Confusion matrix of a classifier (counts, or rows normalised to recall)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def plot_confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str],
                          normalize: bool = False, title: str = "", cmap: str = "Blues") -> Figure:
    """Confusion matrix (rows: true class, columns: predicted class) with one text per cell.

    Args:
        y_true, y_pred: ``(N,)`` class ids in ``0..len(class_names)-1``.
        normalize: divide each row by its count (cells then read as per-class recall).
    """
    from sklearn.metrics import confusion_matrix

    k = len(class_names)
    cm = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=list(range(k))).astype(float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(1.2 + 0.9 * k, 1.0 + 0.8 * k))
    ax = fig.subplots()
    im = ax.imshow(cm, cmap=cmap, vmin=0, vmax=max(cm.max(), 1e-12))
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if cm[i, j] > 0.5 * cm.max() else "black")
    ax.set_xticks(range(k), list(class_names), rotation=30, ha="right")
    ax.set_yticks(range(k), list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(cm) / max(cm.sum(), 1e-12) if not normalize else np.mean(np.diag(cm))
    ax.set_title(title or ("balanced accuracy %.3f" % acc if normalize else "accuracy %.3f" % acc))
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig
