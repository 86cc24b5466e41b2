"""Video test metrics named as they are: OpenSTL's per-frame MSE/MAE on unclamped outputs, and
torchmetrics' SSIM (on clamped outputs) as ``ssim``."""

import pytest
import torch

from signalkit.tasks import VideoForecastingTask

VIDEO = {"name": "t", "dim": 8, "causal": False,
         "tokenizer": {"name": "frames", "in_channels": 1, "hidden": 8, "downsample": 2, "stem": False},
         "backbone": {"name": "large_kernel", "depth": 1, "kernel_size": 3, "small_kernel": 3},
         "head": {"name": "frames", "t_in": 4, "t_out": 2}}


def _run(clamp: bool) -> dict[str, float]:
    task = VideoForecastingTask(model=VIDEO, clamp=clamp)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 4, 1, 8, 8, generator=g)
    y = torch.rand(3, 2, 1, 8, 8, generator=g)
    pred = y + 0.6 * torch.randn(3, 2, 1, 8, 8, generator=g)  # leaves [0, 1] often
    task.forecast = lambda x_, horizon=None: pred[:, :horizon]
    logged: dict[str, float] = {}
    task.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    task._score = lambda *a, **k: None
    task.test_step({"x": x, "y": y}, 0)
    task.on_test_epoch_end()
    clamped = pred.clamp(0, 1)
    logged["_mse_unclamped"] = float((pred - y).pow(2).mean())
    logged["_mse_clamped"] = float((clamped - y).pow(2).mean())
    logged["_mae_unclamped"] = float((pred - y).abs().mean())
    return logged


def test_openstl_mse_and_mae_are_on_unclamped_outputs_summed_per_frame():
    m = _run(clamp=True)
    assert "test/mse_per_frame" not in m and "test/mae_per_frame" not in m  # renamed, never ambiguous
    pixels = 64
    assert m["test/mse_per_frame_openstl"] == pytest.approx(m["_mse_unclamped"] * pixels, rel=1e-5)
    assert m["test/mae_per_frame_openstl"] == pytest.approx(m["_mae_unclamped"] * pixels, rel=1e-5)
    assert m["test/mse"] == pytest.approx(m["_mse_clamped"], rel=1e-5)  # the per-pixel metric is clamped
    assert m["_mse_clamped"] < m["_mse_unclamped"]  # the case matters here


def test_ssim_is_torchmetrics_ssim_of_the_clamped_forecast():
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    m = _run(clamp=True)
    g = torch.Generator().manual_seed(0)
    torch.rand(3, 4, 1, 8, 8, generator=g)
    y = torch.rand(3, 2, 1, 8, 8, generator=g)
    pred = (y + 0.6 * torch.randn(3, 2, 1, 8, 8, generator=g)).clamp(0, 1)
    ref = tm_ssim(pred.reshape(6, 1, 8, 8).double(), y.reshape(6, 1, 8, 8).double(), data_range=1.0,
                  reduction="none").mean()
    assert m["test/ssim"] == pytest.approx(float(ref), rel=1e-6)
    assert "test/ssim_openstl" not in m  # OpenSTL's (scikit-image) SSIM is a different number
