"""Sensor-window augmentations: exact effects, spectrum invariance, masks, config errors."""

from __future__ import annotations

import pytest
import torch

from signalkit.augment import (
    AmplitudeScale,
    Augment,
    ChannelDropout,
    GaussianNoise,
    SignFlip,
    TimeShift,
    build_augment,
)
from signalkit.errors import ConfigError


def _x(b=6, c=5, t=97, seed=0):
    return torch.randn(b, c, t, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_time_shift_rolls_each_window_by_one_shift_within_range():
    x = _x()
    torch.manual_seed(0)
    out = TimeShift(p=1.0, max_shift=10)(x)
    seen = set()
    for i in range(len(x)):
        shifts = [s for s in range(-10, 11) if torch.equal(out[i], torch.roll(x[i], s, dims=-1))]
        assert len(shifts) == 1, f"window {i} is not a roll of its input by at most 10 samples"
        seen.add(shifts[0])
    assert len(seen) > 1  # shifts are drawn per window
    torch.testing.assert_close(TimeShift(p=0.0)(x), x, rtol=0, atol=0)


def test_sign_flip_and_time_shift_keep_every_channel_spectrum():
    x = _x()
    torch.manual_seed(1)
    out = TimeShift(p=1.0)(SignFlip(p=0.5)(x))
    torch.testing.assert_close(torch.fft.rfft(out).abs(), torch.fft.rfft(x).abs(), rtol=1e-9, atol=1e-9)
    flipped = SignFlip(p=1.0)(x)
    torch.testing.assert_close(flipped, -x, rtol=0, atol=0)


def test_amplitude_scale_is_one_factor_per_window_in_range():
    x = _x().abs() + 0.1
    torch.manual_seed(2)
    ratio = AmplitudeScale(p=1.0, scale=0.2)(x) / x
    per_window = ratio.flatten(1)
    torch.testing.assert_close(per_window, per_window[:, :1].expand_as(per_window))
    assert bool(((per_window >= 0.8) & (per_window <= 1.2)).all())


def test_channel_dropout_zeroes_whole_channels_at_the_rate():
    x = _x(b=200, c=10, t=8)
    torch.manual_seed(3)
    out = ChannelDropout(p=1.0, rate=0.25)(x)
    dropped = (out == 0).all(-1)
    kept = ~dropped
    torch.testing.assert_close(out[kept], x[kept], rtol=0, atol=0)
    assert 0.2 < dropped.double().mean().item() < 0.3


def test_gaussian_noise_is_relative_to_each_channel_level():
    x = _x(b=4, c=3, t=20000) * torch.tensor([1e-6, 1.0, 50.0], dtype=torch.float64)[None, :, None]
    torch.manual_seed(4)
    noise = GaussianNoise(p=1.0, std=0.1)(x) - x
    rel = noise.std(-1) / x.std(-1)
    torch.testing.assert_close(rel, torch.full_like(rel, 0.1), rtol=0.03, atol=0)


def test_padded_channels_stay_zero_and_batch_is_not_modified():
    x = _x(b=3, c=4, t=50)
    x[:, 3] = 0
    mask = torch.tensor([True, True, True, False]).expand(3, -1)
    batch = {"x": x, "ch_mask": mask, "y": torch.zeros(3, dtype=torch.long)}
    before = x.clone()
    aug = build_augment([{"name": "gaussian_noise", "std": 0.5}, {"name": "amplitude_scale"}])
    out = aug(batch)
    assert bool((out["x"][:, 3] == 0).all()) and not torch.equal(out["x"][:, :3], before[:, :3])
    torch.testing.assert_close(batch["x"], before, rtol=0, atol=0)
    assert out["y"] is batch["y"]
    assert build_augment(None)(batch) is batch


@pytest.mark.parametrize("spec, match", [
    ({"name": "sign_flip"}, r"task.augment: expected a list"),
    ([{"p": 0.5}], r"task.augment\[0\]: expected a mapping with a 'name'"),
    ([{"name": "sign_flip"}, {"name": "mixup"}], r"task.augment\[1\].name: unknown augmentation 'mixup'"),
    ([{"name": "sign_flip", "p": 2}], r"task.augment\[0\].p: expected a probability"),
    ([{"name": "time_shift", "colour": 1}], r"task.augment\[0\]: time_shift: .*colour"),
    ([{"name": "amplitude_scale", "scale": 1.5}], r"task.augment: amplitude_scale needs 0 <= scale < 1"),
])
def test_bad_augment_config_names_the_key(spec, match):
    with pytest.raises(ConfigError, match=match):
        build_augment(spec)


def test_decoding_task_augments_training_batches_only():
    from signalkit.models import model_config
    from signalkit.tasks import DecodingTask

    task = DecodingTask(model=model_config("eeg_decoder_lk"), augment=[{"name": "sign_flip", "p": 1.0}])
    seen = []
    task.model.forward = lambda batch: (seen.append(batch["x"].clone()), torch.zeros(len(batch["x"]), 2))[1]
    task.log = task.log_dict = lambda *a, **k: None
    batch = {"x": torch.randn(2, 3, 64), "y": torch.tensor([0, 1])}
    task.training_step(batch, 0)
    task.validation_step(batch, 0)
    torch.testing.assert_close(seen[0], -batch["x"], rtol=0, atol=0)
    torch.testing.assert_close(seen[1], batch["x"], rtol=0, atol=0)
    assert isinstance(task.augment, Augment) and len(task.augment.transforms) == 1
