"""The one autoregressive rollout: equal to a step-by-step hand loop for weather, fMRI and video."""

from __future__ import annotations

import pytest
import torch

from signalkit.models import build_model, model_config
from signalkit.tasks import FMRIForecastingTask, WeatherForecastingTask
from signalkit.tasks.forecasting import rollout
from signalkit.tasks.video_forecasting import forecast_frames
from signalkit.tasks.volumes import time_patch


def _jitter(module: torch.nn.Module, seed: int = 0) -> None:
    """Random weights everywhere (zero-initialised heads would make every rollout persistence)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("keep", [None, 3])
@pytest.mark.parametrize("per_call", [1, 2])
def test_rollout_equals_hand_loop(keep, per_call):
    torch.manual_seed(0)
    w = torch.randn(per_call, 3)

    def step(win, i):  # depends on the whole window and the call number
        return (win.mean(1, keepdim=True) + i) * w[None, :, :1] + win[:, -1:] * w[None, :, 1:2]

    x = torch.randn(2, 3, 4)
    out = rollout(step, x, 5, keep=keep)
    win, hand, i = x, [], 0
    while sum(h.shape[1] for h in hand) < 5:
        nxt = step(win, i)
        hand.append(nxt)
        win = torch.cat([win, nxt], 1)
        win = win if keep is None else win[:, -keep:]
        i += 1
    torch.testing.assert_close(out, torch.cat(hand, 1)[:, :5])
    assert out.shape == (2, 5, 4)


def test_rollout_rejects_a_step_without_frames():
    with pytest.raises(ValueError, match="rollout: step returned"):
        rollout(lambda win, i: win[:, :0], torch.zeros(1, 2, 3), 2)


def _weather_task() -> WeatherForecastingTask:
    v, h, w = 2, 6, 8
    contract = {"modality": "weather", "variables": ["t2m", "z500"], "history": 2, "step_hours": 6.0,
                "lead_times": [6.0, 12.0, 18.0],
                "normalization": {"mean": [1.0, 2.0], "std": [2.0, 3.0], "diff_std": [0.5, 0.25]}}
    cfg = model_config("weather_afno", dim=8, backbone={"name": "afno", "depth": 1, "num_blocks": 2})
    task = WeatherForecastingTask(model=cfg, data_contract=contract)
    assert task.hparams.model["tokenizer"]["n_vars"] == v and task.hparams.model["tokenizer"]["history"] == 2
    _jitter(task.model)
    return task.eval()


def test_weather_rollout_equals_step_by_step_loop():
    task = _weather_task()
    mask = torch.zeros(6, 8, dtype=torch.bool)
    mask[0, :2] = True
    batch = {"x": torch.randn(2, 2, 2, 6, 8).masked_fill(mask, 0.0), "lat": torch.linspace(-50, 50, 6),
             "lon": torch.linspace(0, 315, 8), "mask": mask, "time": torch.tensor([0.0, 6.0], dtype=torch.float64)}
    with torch.no_grad():
        pred = task.rollout(batch, 3)
        state, hours, hand = batch["x"], batch["time"], []
        for _ in range(3):
            delta = task.model({**batch, "x": state, "time": hours})
            nxt = (state[:, -1] + task.diff_std[:, None, None] * delta).masked_fill(mask, 0.0)
            hand.append(nxt)
            state, hours = torch.cat([state[:, 1:], nxt[:, None]], 1), hours + 6.0
    torch.testing.assert_close(pred, torch.stack(hand, 1))
    assert float((pred[:, 1] - pred[:, 0]).abs().max()) > 1e-4  # the steps differ: a real rollout
    assert float(pred[..., 0, :2].abs().max()) == 0.0  # masked points stay 0


def test_fmri_forecast_equals_step_by_step_loop():
    task = FMRIForecastingTask(model=model_config("fmri_forecaster", dim=16, depth=1))
    _jitter(task.model, seed=1)
    task.eval()
    batch = {"x": torch.randn(2, 4, 6, 5, 4)}
    steps = task.forecast(batch, 5)
    s, x, hand = time_patch(task.model.tokenizer), batch["x"], []
    with torch.no_grad():
        while sum(h.shape[1] for h in hand) < 5:
            nxt = task.model({"x": x})[:, 4 - s:]  # output position t predicts frame t + s
            hand.append(nxt)
            x = torch.cat([x, nxt], 1)[:, -4:]
    torch.testing.assert_close(steps, torch.cat(hand, 1)[:, :5])
    assert steps.shape == (2, 5, 6, 5, 4)
    assert float((steps[:, -1] - steps[:, 0]).abs().max()) > 1e-4


def _frames_model(backbone: dict, causal: bool, t_in: int | None, t_out: int | None):
    cfg = {"name": "t", "dim": 8, "causal": causal,
           "tokenizer": {"name": "frames", "in_channels": 1, "hidden": 8, "downsample": 2, "stem": False},
           "backbone": backbone, "head": {"name": "frames", "t_in": t_in, "t_out": t_out}}
    m = build_model(cfg)
    _jitter(m, seed=2)
    return m.eval()


def test_video_direct_rollout_equals_hand_loop():
    m = _frames_model({"name": "large_kernel", "depth": 1, "kernel_size": 3, "small_kernel": 3}, False, 4, 3)
    x = torch.rand(2, 4, 1, 8, 8)
    out = forecast_frames(m, x, 7, "direct")
    with torch.no_grad():
        p1 = m({"x": x})
        p2 = m({"x": torch.cat([x, p1], 1)[:, -4:]})
        p3 = m({"x": torch.cat([x, p1, p2], 1)[:, -4:]})
    torch.testing.assert_close(out, torch.cat([p1, p2, p3], 1)[:, :7])


@pytest.mark.parametrize("backbone", [{"name": "convlstm", "depth": 2, "kernel_size": 3},
                                      {"name": "large_kernel", "depth": 1, "kernel_size": 3, "small_kernel": 3}])
def test_video_recurrent_rollout_equals_full_recompute_loop(backbone):
    m = _frames_model(backbone, True, None, None)
    x = torch.rand(2, 3, 1, 8, 8)
    out = forecast_frames(m, x, 4, "recurrent")  # convlstm: through backbone.step
    frames = x
    with torch.no_grad():
        for _ in range(4):
            frames = torch.cat([frames, m({"x": frames})[:, -1:]], 1)
    torch.testing.assert_close(out, frames[:, 3:], atol=1e-5, rtol=1e-4)
