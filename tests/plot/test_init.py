"""signalkit.plot re-exports the modality figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from signalkit import plot


def test_modality_figures_are_re_exported():
    from signalkit.plot_fmri import plot_orthogonal
    from signalkit.plot_video import plot_frame_grid
    from signalkit.plot_weather import plot_forecast_maps

    assert plot.plot_orthogonal is plot_orthogonal and plot.plot_frame_grid is plot_frame_grid
    assert plot.plot_forecast_maps is plot_forecast_maps
    assert isinstance(plot.plot_orthogonal(np.zeros((4, 5, 6))), Figure)
    with pytest.raises(AttributeError):
        plot.nope  # noqa: B018
