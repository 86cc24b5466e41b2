"""Sensor figures: topomaps from a data contract or a Recording, the class-difference topomap of a lateralised cue."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit import plot
from signalkit.demo import MONTAGE_19
from signalkit.io.montage import montage_positions

from tests.support import save


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
