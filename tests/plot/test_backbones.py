"""Receptive fields: a local convolution's support, registered backbones' reach."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit import plot

from tests.support import save


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
