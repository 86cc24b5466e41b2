"""Training curves from a Lightning CSVLogger file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signalkit import plot

from tests.support import save


def _lightning_csv(path):
    rows = [{"epoch": 0, "step": 9, "val/loss": 0.9, "val/balanced_accuracy": 0.6},
            {"epoch": 0, "step": 9, "train/loss": 1.0},
            {"epoch": 1, "step": 19, "val/loss": 0.7, "val/balanced_accuracy": 0.8},
            {"epoch": 1, "step": 19, "train/loss": 0.8},
            {"epoch": 2, "step": 29, "val/loss": 0.5, "val/balanced_accuracy": 0.9},
            {"epoch": 2, "step": 29, "train/loss": 0.6},
            {"epoch": 2, "step": 30, "test/loss": 0.55}]
    pd.DataFrame(rows, columns=["epoch", "step", "train/loss", "val/loss", "val/balanced_accuracy",
                                "test/loss"]).to_csv(path / "metrics.csv", index=False)


def test_training_curves_from_csvlogger_file(tmp_path):
    _lightning_csv(tmp_path)
    df = plot.read_metrics_csv(tmp_path)
    assert list(df.index) == [0, 1, 2] and df.loc[1, "train/loss"] == 0.8
    fig = plot.plot_training_curves(tmp_path)
    save(fig, tmp_path / "curves.png")
    assert len(fig.axes) == 2
    lines = {ln.get_label(): ln for ln in fig.axes[0].lines}
    assert set(lines) == {"train/loss", "val/loss"}
    np.testing.assert_array_equal(lines["val/loss"].get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(lines["train/loss"].get_ydata(), [1.0, 0.8, 0.6])
    (acc,) = fig.axes[1].lines
    np.testing.assert_allclose(acc.get_ydata(), [0.6, 0.8, 0.9])
    with pytest.raises(FileNotFoundError, match="metrics.csv"):
        plot.read_metrics_csv(tmp_path / "nope")
