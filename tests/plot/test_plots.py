"""Each helper of signalkit.plot renders to PNG (Agg) and draws the data it was given."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from signalkit import plot
from signalkit.demo import MONTAGE_19
from signalkit.io.montage import montage_positions

from .conftest import save


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


def test_topomap_from_contract(tmp_path):
    pos = montage_positions(MONTAGE_19, "standard_1005")
    contract = {"channels": MONTAGE_19, "positions": [[float(v) for v in p] for p in pos]}
    contract["positions"][0] = [None, None, None]  # unknown position: left out
    values = pos[:, 0] / np.abs(pos[1:, 0]).max()  # left-right coordinate, in [-1, 1]
    fig = plot.plot_topomap(values, contract=contract, title="x")
    save(fig, tmp_path / "topo.png")
    assert len(fig.axes) == 2  # map + colourbar
    img = fig.axes[0].images[0].get_array()
    assert img.ndim == 2 and fig.axes[0].images[0].get_clim() == pytest.approx((-1.0, 1.0))
    third = img.shape[1] // 3  # the interpolated map runs from negative (left) to positive (right)
    assert np.nanmean(img[:, :third]) < -0.3 and np.nanmean(img[:, -third:]) > 0.3
    with pytest.raises(ValueError, match="one entry per channel"):
        plot.plot_topomap(values[:5], contract=contract)


def test_class_difference_topomap_finds_the_lateralised_cue(tmp_path):
    """Class 1 has less 10 Hz power at C3, class 0 at C4: the map shows the two poles there."""
    rng = np.random.default_rng(0)
    sfreq, n, t = 100.0, 20, 200
    c3, c4 = MONTAGE_19.index("C3"), MONTAGE_19.index("C4")
    x = rng.standard_normal((n, 19, t))
    y = np.repeat([0, 1], n // 2)
    alpha = np.sin(2 * np.pi * 10 * np.arange(t) / sfreq)
    x[y == 0, c3] += 3 * alpha
    x[y == 1, c4] += 3 * alpha
    diff = plot.band_power_difference(x, y, sfreq, {"mu": (8, 12)})["mu"]
    assert diff.argmin() == c3 and diff.argmax() == c4 and diff[c4] > 5  # dB
    pos = montage_positions(MONTAGE_19, "standard_1005")
    fig = plot.plot_class_difference_topomap(x, y, sfreq, names=MONTAGE_19, pos=pos,
                                             bands={"mu": (8, 12), "beta": (18, 26)}, class_names=["left", "right"])
    save(fig, tmp_path / "diff.png")
    assert len(fig.axes) == 4 and [a.get_title() for a in fig.axes[:2]] == ["mu", "beta"]
    lim = np.abs(diff).max()
    assert fig.axes[0].images[0].get_clim() == pytest.approx((-lim, lim), rel=1e-6)


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


@pytest.mark.parametrize("grid", [(32,), (8, 8)])
def test_receptive_field_of_a_local_conv(grid, tmp_path):
    """A kernel-3 depthwise conv sees exactly the centre and its neighbours."""
    conv = torch.nn.Conv1d(4, 4, 3, padding=1, groups=4) if len(grid) == 1 else \
        torch.nn.Conv2d(4, 4, 3, padding=1, groups=4)
    rf = plot.receptive_field(conv, grid, dim=4)
    assert rf.shape == grid and rf.max() == 1.0
    support = np.argwhere(rf > 0)
    centre = np.array([g // 2 for g in grid])
    assert np.abs(support - centre).max() == 1 and len(support) == 3 ** len(grid)
    fig = plot.plot_receptive_fields({"conv3": conv}, grid=grid, dim=4, log=False)
    save(fig, tmp_path / "rf.png")
    ax = fig.axes[0]
    if len(grid) == 1:
        np.testing.assert_allclose(ax.lines[0].get_ydata(), rf)
    else:
        np.testing.assert_allclose(ax.images[0].get_array(), rf)


def test_receptive_fields_of_registered_backbones(tmp_path):
    fig = plot.plot_receptive_fields(["large_kernel", "gfnet"], grid=(64,), dim=8, depth=1)
    save(fig, tmp_path / "rf.png")
    assert [a.get_title() for a in fig.axes] == ["large_kernel", "gfnet"]
    assert all(len(a.lines[0].get_ydata()) == 64 for a in fig.axes)
    # the convolution's support is bounded; the global (FFT) filter reaches the ends of the sequence
    assert fig.axes[0].lines[0].get_ydata()[[0, -1]].max() == 0
    assert fig.axes[1].lines[0].get_ydata()[[0, -1]].min() > 0


SCALING_OUT = """# hyena: 1024: 0.010s/3MiB, 2048: 0.021s/6MiB, 4096: 0.043s/12MiB
# attention: 1024: 0.020s/8MiB, 2048: 0.080s/32MiB (a point took > 20 s: abandoned)

| family | 1k s | 2k s | 4k s | time exponent |
"""


def test_speed_curves_from_scaling_output(tmp_path):
    data = plot.parse_scaling_output(SCALING_OUT)
    assert data == {"hyena": ([1024, 2048, 4096], [0.010, 0.021, 0.043]), "attention": ([1024, 2048], [0.02, 0.08])}
    fig = plot.plot_speed_curves(SCALING_OUT)
    save(fig, tmp_path / "speed.png")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    att = [ln for ln in ax.lines if ln.get_label().startswith("attention")][0]
    np.testing.assert_allclose(att.get_ydata(), [0.02, 0.08])
    assert att.get_label() == "attention (~L^2.00)"
    with pytest.raises(ValueError, match="no timings"):
        plot.plot_speed_curves({})


def test_modality_figures_are_re_exported():
    from signalkit.plot_fmri import plot_orthogonal
    from signalkit.plot_video import plot_frame_grid
    from signalkit.plot_weather import plot_forecast_maps

    assert plot.plot_orthogonal is plot_orthogonal and plot.plot_frame_grid is plot_frame_grid
    assert plot.plot_forecast_maps is plot_forecast_maps
    assert isinstance(plot.plot_orthogonal(np.zeros((4, 5, 6))), Figure)
    with pytest.raises(AttributeError):
        plot.nope  # noqa: B018


def test_topomap_from_a_recording(tmp_path):
    """Positions and names come from the Recording's ``channel`` and ``pos (channel, xyz)``."""
    import xarray as xr

    names = MONTAGE_19[:6] + ["EOG"]
    pos = np.vstack([montage_positions(MONTAGE_19[:6], "standard_1005"), [[np.nan] * 3]])
    rec = xr.Dataset({"signal": (("channel", "time"), np.zeros((7, 10), np.float32)),
                      "pos": (("channel", "xyz"), pos)}, coords={"channel": names})
    fig = plot.plot_topomap(np.arange(7.0), recording=rec, cmap="viridis", show_names=True)
    save(fig, tmp_path / "rec.png")
    assert fig.axes[0].images[0].get_clim() == (0.0, 5.0)  # EOG (no position) is left out
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(MONTAGE_19[:6])
