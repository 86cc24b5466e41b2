"""Confusion matrix figure: cell counts and row normalisation."""

from __future__ import annotations

import numpy as np

from signalkit import plot

from tests.support import save


def test_confusion_matrix_cells(tmp_path):
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 0, 1, 1, 2, 0, 2, 2]
    fig = plot.plot_confusion_matrix(y_true, y_pred, ["rest", "left", "right"])
    save(fig, tmp_path / "cm.png")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["2", "1", "0", "0", "2", "0", "1", "0", "3"]  # row-major, rows = true class
    np.testing.assert_array_equal(ax.images[0].get_array(), [[2, 1, 0], [0, 2, 0], [1, 0, 3]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rest", "left", "right"]
    assert ax.get_title() == "accuracy %.3f" % (7 / 9)
    norm = plot.plot_confusion_matrix(y_true, y_pred, ["rest", "left", "right"], normalize=True)
    assert [t.get_text() for t in norm.axes[0].texts][:3] == ["0.67", "0.33", "0.00"]
