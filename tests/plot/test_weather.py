"""RMSE against lead time from a forecast run's metrics."""

from __future__ import annotations

import json

import numpy as np

from signalkit import plot

from tests.support import save


def test_rmse_vs_lead(tmp_path):
    m = {"test/t2m/rmse@6h": 0.5, "test/t2m/rmse@12h": 0.8, "test/t2m/rmse_persistence@6h": 1.0,
         "test/t2m/rmse_persistence@12h": 1.5, "test/t2m/rmse_climatology@12h": 2.0,
         "test/t2m/rmse_climatology@6h": 2.0, "test/t2m/acc@6h": 0.9, "test/z500/rmse@6h": 30.0,
         "best_checkpoint": "x"}
    (tmp_path / "metrics.json").write_text(json.dumps(m))
    curves = plot.rmse_by_lead(tmp_path)
    assert curves["t2m"]["persistence"] == ([6, 12], [1.0, 1.5]) and curves["z500"]["model"] == ([6], [30.0])
    fig = plot.plot_rmse_vs_lead(m, variables=["t2m"])
    save(fig, tmp_path / "rmse.png")
    assert len(fig.axes) == 1
    lines = {ln.get_label(): ln for ln in fig.axes[0].lines}
    assert list(lines) == ["model", "climatology", "persistence"]
    np.testing.assert_allclose(lines["model"].get_ydata(), [0.5, 0.8])
    np.testing.assert_array_equal(lines["climatology"].get_xdata(), [6, 12])
