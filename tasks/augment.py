"""Training-time augmentations of sensor windows ``x (B, C, T)`` (EEG / MEG / iEEG).

Each transform draws its randomness per window from torch's global generator (seeded by
``L.seed_everything`` and restored from checkpoints), returns a new tensor (the loader's batch
is left as it was) and keeps padded channels (``ch_mask`` False) at zero. The set follows
braindecode's ``augmentation`` module (Rommel et al. 2022 compare them on EEG): a sign flip and
a circular time shift leave every channel's power spectrum (the mu/beta power that motor
decoding reads) exactly unchanged while they break the time-locked details a small training
set lets a model memorise; amplitude scaling, channel dropout and relative noise perturb it
mildly.

Configured by a list under ``task.augment``, e.g.::

    augment:
      - {name: sign_flip, p: 0.5}
      - {name: time_shift, p: 1.0}
      - {name: amplitude_scale, p: 1.0, scale: 0.2}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError


def _chosen(x: Tensor, p: float) -> Tensor:
    """``(B, 1, 1)`` bool: which windows of ``x (B, C, T)`` the transform applies to."""
    return (torch.rand(x.shape[0], 1, 1, device=x.device) < p)


class SignFlip(nn.Module):
    """``x -> -x`` for a window with probability ``p`` (the power spectrum is unchanged)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> same shape."""
        return torch.where(_chosen(x, self.p), -x, x)


class TimeShift(nn.Module):
    """Roll each chosen window circularly in time by a random shift of up to ``max_shift``
    samples either way (``None``: any shift). Every channel moves together."""

    def __init__(self, p: float = 1.0, max_shift: int | None = None):
        super().__init__()
        self.p, self.max_shift = p, max_shift

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> same shape."""
        b, c, t = x.shape
        m = t - 1 if self.max_shift is None else min(int(self.max_shift), t - 1)
        shift = torch.randint(-m, m + 1, (b,), device=x.device) * _chosen(x, self.p).view(b)
        idx = (torch.arange(t, device=x.device)[None] - shift[:, None]) % t  # (B, T)
        return x.gather(-1, idx[:, None, :].expand(b, c, t))


class AmplitudeScale(nn.Module):
    """Multiply a chosen window by a factor drawn uniformly from ``[1 - scale, 1 + scale]``."""

    def __init__(self, p: float = 1.0, scale: float = 0.2):
        super().__init__()
        if not 0 <= scale < 1:
            raise ConfigError(f"task.augment: amplitude_scale needs 0 <= scale < 1, got {scale}")
        self.p, self.scale = p, scale

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> same shape."""
        f = torch.empty(x.shape[0], 1, 1, device=x.device, dtype=x.dtype).uniform_(1 - self.scale, 1 + self.scale)
        return x * torch.where(_chosen(x, self.p), f, torch.ones_like(f))


class ChannelDropout(nn.Module):
    """Zero each channel of a chosen window with probability ``rate`` (a bad-channel model)."""

    def __init__(self, p: float = 1.0, rate: float = 0.1):
        super().__init__()
        if not 0 <= rate < 1:
            raise ConfigError(f"task.augment: channel_dropout needs 0 <= rate < 1, got {rate}")
        self.p, self.rate = p, rate

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> same shape."""
        drop = (torch.rand(x.shape[0], x.shape[1], 1, device=x.device) < self.rate) & _chosen(x, self.p)
        return x.masked_fill(drop, 0.0)


class GaussianNoise(nn.Module):
    """Add white noise of ``std`` times each channel's own standard deviation in the window
    (so the level is relative whatever the units or normalisation)."""

    def __init__(self, p: float = 1.0, std: float = 0.1):
        super().__init__()
        if std < 0:
            raise ConfigError(f"task.augment: gaussian_noise needs std >= 0, got {std}")
        self.p, self.std = p, std

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> same shape."""
        level = self.std * x.detach().std(dim=-1, keepdim=True) * _chosen(x, self.p)
        return x + level * torch.randn_like(x)


TRANSFORMS: dict[str, type[nn.Module]] = {
    "sign_flip": SignFlip,
    "time_shift": TimeShift,
    "amplitude_scale": AmplitudeScale,
    "channel_dropout": ChannelDropout,
    "gaussian_noise": GaussianNoise,
}


class Augment(nn.Module):
    """Apply transforms in order to ``batch["x"] (B, C, T)``; returns a new batch dict.

    Padded channels (``batch["ch_mask"]`` False) stay zero. An empty list is the identity.
    """

    def __init__(self, transforms: Sequence[nn.Module] = ()):
        super().__init__()
        self.transforms = nn.ModuleList(transforms)

    def forward(self, batch: dict) -> dict:
        if not len(self.transforms):
            return batch
        x = batch["x"]
        if x.dim() != 3:
            raise ConfigError(f"task.augment: sensor augmentations need x (B, C, T), got shape {tuple(x.shape)}")
        mask = batch.get("ch_mask")
        for t in self.transforms:
            x = t(x)
        if mask is not None:  # once, after all transforms: padding stays zero whatever they do
            x = x * mask[:, :, None].to(x.dtype)
        return {**batch, "x": x}


def build_augment(spec: Sequence[Mapping[str, Any]] | None) -> Augment:
    """An :class:`Augment` from a config list ``[{name: sign_flip, p: 0.5}, ...]`` (``None``: none)."""
    if spec is None:
        return Augment()
    if isinstance(spec, (str, Mapping)) or not isinstance(spec, Sequence):
        raise ConfigError(f"task.augment: expected a list of {{name: ..., ...}} entries, got {spec!r}")
    out = []
    for i, entry in enumerate(spec):
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise ConfigError(f"task.augment[{i}]: expected a mapping with a 'name', got {entry!r}")
        kw = {k: v for k, v in entry.items() if k != "name"}
        name = entry["name"]
        if name not in TRANSFORMS:
            raise ConfigError(f"task.augment[{i}].name: unknown augmentation {name!r} (known: {', '.join(TRANSFORMS)})")
        p = kw.get("p", 1.0)
        if not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ConfigError(f"task.augment[{i}].p: expected a probability in [0, 1], got {p!r}")
        try:
            out.append(TRANSFORMS[name](**kw))
        except TypeError as err:
            raise ConfigError(f"task.augment[{i}]: {name}: {err}") from None
    return Augment(out)
