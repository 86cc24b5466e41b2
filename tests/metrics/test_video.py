"""Video metrics against hand-computed values and torchmetrics."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from signalkit.metrics.video import (
    FrameForecastMetrics,
    copy_last_frame,
    frame_mse,
    frame_psnr,
    frame_ssim,
    mse_per_frame,
)


def _pair():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(2, 3, 1, 16, 16, generator=g)
    p = (y + 0.1 * torch.randn(2, 3, 1, 16, 16, generator=g)).clamp(0, 1)
    return p, y


def test_mse_conventions_hand_computed():
    y = torch.zeros(1, 2, 1, 2, 2)
    p = torch.zeros(1, 2, 1, 2, 2)
    p[0, 0, 0, 0, 0] = 1.0  # frame 1: one pixel off by 1 -> per-pixel 1/4, per-frame sum 1
    p[0, 1] = 0.5           # frame 2: four pixels off by 0.5 -> per-pixel 0.25, per-frame sum 1
    assert frame_mse(p, y).tolist() == [[0.25, 0.25]]
    assert mse_per_frame(p, y).item() == pytest.approx(1.0)
    m = FrameForecastMetrics(horizon=2, ssim=False)
    m.update(p, y)
    out = m.compute()
    assert out["mse"].item() == pytest.approx(0.25)
    assert out["mse_per_frame_openstl"].item() == pytest.approx(1.0)
    assert out["mae"].item() == pytest.approx((0.25 + 0.5) / 2)
    assert out["mae_per_frame_openstl"].item() == pytest.approx((1.0 + 2.0) / 2)
    assert out["mse@1"].item() == pytest.approx(0.25) and out["mse@2"].item() == pytest.approx(0.25)


def test_psnr_formula_per_frame_then_mean():
    y = torch.zeros(1, 2, 1, 2, 2)
    p = y.clone()
    p[0, 0] = 0.1            # mse 0.01 -> 20 dB
    p[0, 1, 0, 0, 0] = 0.2   # mse 0.04 / 4 = 0.01 -> 20 dB
    assert frame_psnr(p, y).flatten().tolist() == pytest.approx([20.0, 20.0])
    p[0, 1] = 0.01           # mse 1e-4 -> 40 dB; mean of frames 30 dB (not PSNR of the mean MSE)
    assert frame_psnr(p, y).mean().item() == pytest.approx(30.0)
    assert frame_psnr(p * 255, y * 255, data_range=255.0).mean().item() == pytest.approx(30.0)
    p2, y2 = _pair()
    ours = frame_psnr(p2, y2)
    ref = torch.stack([peak_signal_noise_ratio(p2[b, t], y2[b, t], data_range=1.0)
                       for b in range(2) for t in range(3)]).reshape(2, 3)
    torch.testing.assert_close(ours.float(), ref.float(), rtol=1e-5, atol=1e-5)


def test_ssim_hand_computed_and_torchmetrics():
    # constant frames a and b: sigma terms vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 L)^2
    a, b = 0.6, 0.3
    y = torch.full((1, 1, 1, 16, 16), a)
    p = torch.full((1, 1, 1, 16, 16), b)
    c1 = (0.01 * 1.0) ** 2
    assert frame_ssim(p, y).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)
    assert frame_ssim(y, y).item() == pytest.approx(1.0)
    c1 = (0.01 * 2.0) ** 2  # the data range enters C1 (and C2)
    assert frame_ssim(p, y, data_range=2.0).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)
    p2, y2 = _pair()
    ref = structural_similarity_index_measure(p2.flatten(0, 1), y2.flatten(0, 1), data_range=1.0)
    assert frame_ssim(p2, y2).mean().item() == pytest.approx(ref.item(), rel=1e-5)


def test_accumulation_equals_one_pass_and_copy_last():
    p, y = _pair()
    whole = FrameForecastMetrics(3)
    whole.update(p, y)
    parts = FrameForecastMetrics(3)
    parts.update(p[:1], y[:1])
    parts.update(p[1:], y[1:])
    for k, v in whole.compute().items():
        assert parts.compute()[k].item() == pytest.approx(v.item(), rel=1e-9), k
    x = torch.rand(2, 4, 1, 5, 5)
    c = copy_last_frame(x, 3)
    assert c.shape == (2, 3, 1, 5, 5) and torch.equal(c[:, 2], x[:, -1])
    assert not math.isinf(frame_psnr(y, y).max().item())
