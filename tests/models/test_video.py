"""Video models: frames tokenizer + translator shapes, the ConvLSTM baseline's budget, rollouts (direct and recurrent)."""

from __future__ import annotations

import pytest
import torch

from signalkit.errors import ModelError
from signalkit.models import build_model, create_model
from signalkit.models_video import rollout
from tests.support import tiny_video_config as tiny


def test_simvp_shapes_and_default_translator():
    torch.manual_seed(0)
    for stem in (False, True):
        m = build_model(tiny({"name": "large_kernel", "depth": 1, "kernel_size": 5, "small_kernel": 3}, stem=stem))
        x = torch.rand(2, 4, 1, 16, 16)
        assert m.tokenizer({"x": x}).shape == (2, 8, 4, 4, 4)
        assert m({"x": x}).shape == (2, 3, 1, 16, 16)
    default = create_model("video_simvp")
    assert default.config["backbone"]["name"] == "large_kernel" and default.tokenizer.grid_ndim == 3
    with pytest.raises(ModelError, match="not divisible by 4"):
        m({"x": torch.rand(1, 4, 1, 18, 16)})


def test_convlstm_matches_default_parameter_budget():
    simvp = create_model("video_simvp").num_parameters()
    lstm = create_model("video_convlstm").num_parameters()
    assert abs(lstm - simvp) / simvp < 0.15, (lstm, simvp)


def test_direct_rollout_beyond_training_horizon():
    torch.manual_seed(0)
    m = build_model(tiny({"name": "large_kernel", "depth": 1, "kernel_size": 5, "small_kernel": 3})).eval()
    x = torch.rand(2, 4, 1, 16, 16)
    out = rollout(m, x, 7, "direct")
    assert out.shape == (2, 7, 1, 16, 16)
    with torch.no_grad():
        first = m({"x": x})
        second = m({"x": torch.cat([x, first], 1)[:, -4:]})
    torch.testing.assert_close(out[:, :3], first)
    torch.testing.assert_close(out[:, 3:6], second)


@pytest.mark.parametrize("backbone", [{"name": "convlstm", "depth": 2, "kernel_size": 3},
                                      {"name": "convssm", "depth": 1, "d_state": 4, "space_kernel": 3}])
def test_recurrent_step_rollout_equals_full_recompute(backbone):
    torch.manual_seed(0)
    m = build_model(tiny(backbone, causal=True, t_in=None, t_out=None)).eval()
    x = torch.rand(1, 3, 1, 16, 16)
    fast = rollout(m, x, 4, "recurrent")  # through backbone.step
    frames = x
    with torch.no_grad():
        for _ in range(4):
            frames = torch.cat([frames, m({"x": frames})[:, -1:]], 1)
    torch.testing.assert_close(fast, frames[:, 3:], rtol=1e-4, atol=1e-5)
