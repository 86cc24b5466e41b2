"""Speed curves parsed from the scaling benchmark's output."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit import plot

from tests.support import save


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
