"""Frame grid of a forecast: every panel shows the frames it was given and the error row their MSE."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def test_frame_grid_plot_writes_png(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from signalkit.plot_video import plot_frame_grid

    x, y = torch.rand(4, 1, 8, 8), torch.rand(3, 1, 8, 8)
    pred = y * 0.5
    plot_frame_grid(x, y, pred, tmp_path / "grid.png", title="test")
    img = Image.open(tmp_path / "grid.png")
    assert img.size[0] > 100 and img.size[1] > 100
    # the panels draw the data: rows inputs, targets, predictions, |error| (MSE in its title)
    fig = plot_frame_grid(x, y, pred, title="test")
    axes = np.asarray(fig.axes).reshape(4, 4)
    for c in range(4):
        np.testing.assert_allclose(axes[0, c].images[0].get_array(), x[c, 0].numpy())
    for c in range(3):
        np.testing.assert_allclose(axes[1, c].images[0].get_array(), y[c, 0].numpy())
        np.testing.assert_allclose(axes[2, c].images[0].get_array(), pred[c, 0].numpy())
        err = (pred[c, 0] - y[c, 0]).abs().numpy()
        np.testing.assert_allclose(axes[3, c].images[0].get_array(), err, rtol=1e-6)
        assert axes[3, c].get_title() == f"{np.mean(err ** 2):.4f}"
        assert axes[1, c].get_title() == f"t+{c + 1}"
    assert not axes[1, 3].images and not axes[1, 3].axison  # 3 targets in 4 columns: the last is blank
    assert fig._suptitle.get_text() == "test"
    plt.close(fig)
    with pytest.raises(ValueError, match="differ"):
        plot_frame_grid(x, y, torch.rand(2, 1, 8, 8), tmp_path / "bad.png")
