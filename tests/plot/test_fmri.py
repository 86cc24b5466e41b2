"""fMRI figures render headless: orthogonal slices with an overlay, region time series with events."""

from __future__ import annotations

from signalkit.store import open_store


def test_figures_render_headless(synthetic, tmp_path):
    from signalkit.plot_fmri import plot_orthogonal, plot_region_timeseries

    ds = open_store(synthetic["store"])["sub-01_task-blocks_bold"]
    fig = plot_orthogonal(ds["signal"], overlay=synthetic["maps"][0] > 0.5, path=tmp_path / "ortho.png")
    assert len(fig.axes) >= 3 and (tmp_path / "ortho.png").stat().st_size > 1000
    fig = plot_region_timeseries(ds, max_regions=4, path=tmp_path / "regions.png")
    assert len(fig.axes[0].lines) == 4 and len(fig.axes[0].patches) == ds.sizes["event"]
