"""Frames head: the residual forecast starts from the last input frame."""

from __future__ import annotations

import torch

from signalkit.models import build_model
from tests.support import tiny_video_config as tiny


def test_residual_head_starts_from_the_last_frame():
    torch.manual_seed(0)
    cfg = tiny({"name": "large_kernel", "depth": 1, "kernel_size": 5, "small_kernel": 3})
    cfg["head"]["residual"] = True
    m = build_model(cfg).eval()
    last = m.head.out
    torch.nn.init.zeros_(last[0].weight if isinstance(last, torch.nn.Sequential) else last.weight)
    torch.nn.init.zeros_(last[0].bias if isinstance(last, torch.nn.Sequential) else last.bias)
    x = torch.rand(2, 4, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(m({"x": x}), x[:, -1:].expand(-1, 3, -1, -1, -1))
