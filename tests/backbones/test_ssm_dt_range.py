"""SSM family kwargs ``dt_min`` / ``dt_max``: the range of the initial steps, validated."""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from signalkit.backbones import create_backbone
from signalkit.errors import ConfigError


def test_initial_steps_lie_in_the_requested_range():
    bb = create_backbone("ssm", dim=16, depth=1, ndim=1, d_state=4, expand=1, dt_min=1e-4, dt_max=1e-3)
    cores = [m for m in bb.modules() if hasattr(m, "dt_bias")]
    assert cores
    for core in cores:
        dt = F.softplus(core.dt_bias.detach())
        assert dt.min() >= 1e-4 * (1 - 1e-4) and dt.max() <= 1e-3 * (1 + 1e-4)


@pytest.mark.parametrize("lo, hi", [(0.0, 0.1), (0.1, 0.01)])
def test_bad_step_range_is_a_config_error(lo, hi):
    with pytest.raises(ConfigError, match="dt_min"):
        create_backbone("ssm", dim=16, depth=1, ndim=1, dt_min=lo, dt_max=hi)
