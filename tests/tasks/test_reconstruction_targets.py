"""Phase-free reconstruction targets (log band power / log spectrum) and spatial masking."""

from __future__ import annotations

import math

import pytest
import torch

from signalkit.demo import MONTAGE_19
from signalkit.errors import ConfigError
from signalkit.tasks import ReconstructionTask
from signalkit.tasks.reconstruction import (
    hide_channels,
    logpower_target,
    logspec_target,
    standardize,
    subset_channels,
)

from tests.support import sensor_batch, tiny_config

pytestmark = pytest.mark.usefixtures("torch_seed")  # as in tests/pretrained/, where these started

REC_HEAD = {"name": "reconstruction", "decoder_depth": 1, "kernel_size": 3}


def _task(**kw) -> ReconstructionTask:
    cfg = tiny_config(REC_HEAD)
    cfg["tokenizer"].update(virtual_channels=0, patch_size=32)
    return ReconstructionTask(model=cfg, data_contract={"sfreq": 160.0}, mask="random", mask_ratio=0.5, **kw)


def test_logpower_target_matches_hand_computed_band_power():
    t = torch.arange(64) / 160.0
    # 10 Hz (amplitude 2) in the first 32 samples, 40 Hz (amplitude 1) in the last 32
    x = torch.cat([2 * torch.sin(2 * math.pi * 10 * t[:32]), torch.sin(2 * math.pi * 40 * t[32:])])[None, None]
    broad = logpower_target(x, dim=2, patch=32)
    assert broad.shape == x.shape
    torch.testing.assert_close(broad[0, 0, :32], torch.full((32,), math.log(2.0 + 1e-3)))  # mean of (2 sin)^2
    torch.testing.assert_close(broad[0, 0, 32:], torch.full((32,), math.log(0.5 + 1e-3)), rtol=1e-4, atol=1e-4)
    # 2 s of 10 Hz (amplitude 2) + 40 Hz (amplitude 1), whole cycles: the 8-30 Hz band power is
    # exactly the 10 Hz rhythm's (2.0) in every token, the broadband power 2.0 + 0.5
    t = torch.arange(320) / 160.0
    x = (2 * torch.sin(2 * math.pi * 10 * t) + torch.sin(2 * math.pi * 40 * t))[None, None]
    band = logpower_target(x, dim=2, patch=32, sfreq=160.0, band=(8, 30))
    torch.testing.assert_close(band, torch.full_like(x, math.log(2.0 + 1e-3)), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(logpower_target(x, dim=2, patch=32), torch.full_like(x, math.log(2.5 + 1e-3)),
                               rtol=1e-4, atol=1e-4)


def test_logspec_target_peaks_at_the_rhythm_bin():
    t = torch.arange(64) / 160.0
    x = torch.sin(2 * math.pi * 20 * t + 0.7)[None, None]
    target, valid = logspec_target(x, dim=2, patch=32)
    assert valid[0, 0, :17].tolist() == [1.0] * 17 and valid[0, 0, 17:32].sum() == 0
    assert int(target[0, 0, :17].argmax()) == 4  # 20 Hz = bin 4 of a 32-sample patch at 160 Hz
    s = standardize(target, 2, 32, valid)
    assert s[0, 0, 17:32].abs().sum() == 0  # invalid samples stay out


def test_standardized_target_puts_the_trivial_predictor_at_one():
    x = torch.randn(4, 5, 96) * torch.linspace(0.5, 3.0, 5)[None, :, None]
    task = _task(target="logpower")
    target, valid = task.target(x, 32)
    w = torch.ones_like(x)
    assert abs(target.mean().item()) < 1e-5
    torch.testing.assert_close(task.trivial_mse(target, w, 32), torch.tensor(1.0), rtol=1e-4, atol=1e-4)


def test_hidden_channels_are_unseen_and_scored():
    torch.manual_seed(0)
    task = _task(target="logpower", channel_mask_ratio=0.25, sparse=False).eval()
    batch = sensor_batch(list(MONTAGE_19[:8]), b=2, t=96)
    batch["ch_mask"][1, 6:] = False  # sample 1 has 6 real channels
    seen, hidden = hide_channels(batch, 0.25, torch.Generator().manual_seed(1))
    assert hidden.sum(1).tolist() == [2, 2] and not bool((hidden & ~batch["ch_mask"]).any())
    assert bool((seen["x"][hidden] == 0).all()) and not bool((seen["ch_mask"] & hidden).any())
    mask = torch.zeros(2, 3, 8, dtype=torch.bool)
    pred, tok_mask, weight = task.reconstruct(batch, mask=mask, hidden=hidden)
    # channels are the token grid's second axis (virtual_channels=0): hidden channels become masked tokens
    assert bool((tok_mask.any(1) == hidden).all())
    assert bool((weight[:, :, 0] == hidden.float()).all())
    poked = dict(batch, x=batch["x"] + 10 * hidden[:, :, None] * torch.randn_like(batch["x"]))
    pred2, _, _ = task.reconstruct(poked, mask=mask, hidden=hidden)
    torch.testing.assert_close(pred, pred2)  # the hidden channels' content never reaches the model


def test_channel_subset_keeps_order_and_real_channels():
    batch = sensor_batch(list(MONTAGE_19[:10]), b=2, t=32)
    batch["ch_mask"][:, 8:] = False
    sub = subset_channels(batch, 5, torch.Generator().manual_seed(0))
    assert sub["x"].shape == (2, 5, 32) and sub["pos"].shape == (2, 5, 3) and bool(sub["ch_mask"].all())
    idx = [int((batch["x"][0] == row).all(-1).nonzero()) for row in sub["x"][0]]
    assert idx == sorted(idx) and max(idx) < 8


def _modulated(n: int, seed: int, c: int = 12, t: int = 320) -> dict:
    """A 10 Hz rhythm with drifting phase whose amplitude (x1 or x0.2, shared by every channel)
    switches every 64 samples, plus white noise: band power is predictable, the phase is not."""
    g = torch.Generator().manual_seed(seed)
    time = torch.arange(t) / 160.0
    drift = torch.cumsum(torch.randn(n, c, t, generator=g), -1) * 0.5
    rhythm = torch.sin(2 * math.pi * 10 * time + drift + 6.3 * torch.rand(n, c, 1, generator=g))
    gain = torch.where(torch.rand(n, 1, t // 64, generator=g) < 0.5, 1.0, 0.2).repeat_interleave(64, -1)
    b = sensor_batch(list(MONTAGE_19[:c]), b=n, t=t, seed=seed)
    b["x"] = 2.0 * gain * rhythm + 0.3 * b["x"]
    return b


def _masked_nmse(task: ReconstructionTask, batch: dict) -> float:
    with torch.no_grad():
        pred, mask, w = task.reconstruct(batch, generator=torch.Generator().manual_seed(0))
        target, valid = task.target(batch["x"], 32)
        w = w.expand_as(batch["x"]).float() * (1 if valid is None else valid)
        mse = (((pred - target) ** 2) * w).sum() / w.sum()
        return float(mse / task.trivial_mse(target, w, 32))


def test_band_power_target_is_learned_where_the_signal_is_not():
    """Same model, data and steps: masked log-power NMSE falls far below the trivial predictor's,
    masked signal NMSE (unpredictable phase) does not."""
    result = {}
    for target in ("logpower", "signal"):
        torch.manual_seed(0)
        task = _task(target=target, sparse=False)
        opt = torch.optim.AdamW(task.parameters(), lr=3e-3)
        for step in range(50):
            b = _modulated(8, step)
            pred, mask, w = task.reconstruct(b)
            tgt, valid = task.target(b["x"], 32)
            w = w.expand_as(b["x"]) * (1 if valid is None else valid)
            loss = (((pred - tgt) ** 2) * w).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        result[target] = _masked_nmse(task.eval(), _modulated(16, 10_000))
    print(result)
    assert result["logpower"] < 0.6, result
    assert result["signal"] > 0.8, result


def test_bad_target_settings_name_the_key():
    with pytest.raises(ConfigError, match="task.target:"):
        _task(target="phase")
    with pytest.raises(ConfigError, match="task.target_band"):
        _task(target="signal", target_band=[8, 30])
    with pytest.raises(ConfigError, match="task.target_band"):
        _task(target="logpower", target_band=[30, 8])
    cfg = tiny_config(REC_HEAD)
    with pytest.raises(ConfigError, match="task.sfreq"):
        ReconstructionTask(model=cfg, target="logpower", target_band=[8, 30])
    with pytest.raises(ConfigError, match="task.channel_mask_ratio"):
        _task(channel_mask_ratio=1.0)
    with pytest.raises(ConfigError, match="task.channel_subset"):
        _task(channel_subset=1)
