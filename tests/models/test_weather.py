"""Field tokenizer + backbones + residual head: shapes, static fields, persistence at init."""

from __future__ import annotations

import pytest
import torch

from signalkit.models import build_model, model_config
from signalkit.tokenizers.field import static_fields


def _batch(b: int = 2, t: int = 2, v: int = 3, h: int = 7, w: int = 9) -> dict:
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[0, 0] = True
    return {"x": torch.randn(b, t, v, h, w), "lat": torch.linspace(-60, 60, h), "lon": torch.linspace(0, 320, w),
            "mask": mask, "time": torch.tensor([0.0, 6.0], dtype=torch.float64)}


@pytest.mark.parametrize("backbone", [
    {"name": "afno", "depth": 1, "num_blocks": 2},
    {"name": "large_kernel", "depth": 1, "kernel_size": 5, "small_kernel": 3},
    {"name": "ssm", "depth": 1, "d_state": 4, "expand": 1},
])
def test_weather_model_any_backbone(backbone):
    cfg = model_config("weather_afno", dim=16, backbone=backbone)
    cfg["tokenizer"].update(n_vars=3, history=2)
    model = build_model(cfg)
    batch = _batch()
    out = model(batch)
    assert out.shape == (2, 3, 7, 9)  # odd grid: padded to the patch size, cropped back
    assert torch.count_nonzero(out) == 0  # zero-initialised head: an untrained model is persistence
    out.sum().backward()


def test_static_fields_values():
    batch = _batch(h=3, w=2)
    s = static_fields(batch, (3, 2), torch.device("cpu"), torch.float32)
    assert s.shape == (2, 9, 3, 2)
    torch.testing.assert_close(s[0, 0, :, 0], torch.sin(torch.deg2rad(torch.tensor([-60.0, 0.0, 60.0]))))
    assert s[0, 4, 0, 0] == 0 and s[0, 4, 1, 1] == 1  # valid-data channel
    torch.testing.assert_close(s[:, 5, 0, 0], torch.tensor([0.0, 1.0]))  # sin(hour of day): 00 and 06 UTC
