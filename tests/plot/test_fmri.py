"""fMRI figures render headless: orthogonal slices with an overlay, region time series with events."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit.store import open_store


def test_figures_render_headless(synthetic, tmp_path):
    from signalkit.plot_fmri import plot_orthogonal, plot_region_timeseries

    ds = open_store(synthetic["store"])["sub-01_task-blocks_bold"]
    fig = plot_orthogonal(ds["signal"], overlay=synthetic["maps"][0] > 0.5, path=tmp_path / "ortho.png")
    assert (tmp_path / "ortho.png").stat().st_size > 1000
    # the three panels show the temporal mean's centre slices (transposed, origin lower), the overlay on top
    mean = np.asarray(ds["signal"].values, dtype=np.float64).mean(0)
    over = np.asarray(synthetic["maps"][0] > 0.5)
    cx, cy, cz = (n // 2 for n in mean.shape)
    assert [ax.get_title() for ax in fig.axes] == [f"sagittal x={cx}", f"coronal y={cy}", f"axial z={cz}"]
    for ax, img, ov in zip(fig.axes, (mean[cx], mean[:, cy], mean[:, :, cz]), (over[cx], over[:, cy], over[:, :, cz])):
        np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), img.T, rtol=1e-5, atol=1e-6)
        assert ax.images[0].get_clim() == pytest.approx(tuple(np.percentile(mean, [2, 98])), rel=1e-5)
        shown = ax.images[1].get_array()
        np.testing.assert_array_equal(~np.ma.getmaskarray(shown), ov.T)
    fig = plot_region_timeseries(ds, max_regions=4, path=tmp_path / "regions.png")
    assert len(fig.axes[0].lines) == 4 and len(fig.axes[0].patches) == ds.sizes["event"]
