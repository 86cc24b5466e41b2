"""Video forecasting rollout beyond the SimVP tokenizer/head pair.

* :func:`rollout`: forecasts of any horizon from a trained model, either ``direct`` (a model
  mapping ``T_in`` frames to ``T_out`` frames, applied again on its own output) or
  ``recurrent`` (a causal next-frame model; uses the backbone's ``step`` when it has one, as the
  ``convssm`` and ``convlstm`` backbones do).

The ``convlstm`` backbone lives in :mod:`signalkit.backbones.convlstm` (re-exported here for one
release).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.backbones.convlstm import ConvLSTMBackbone, ConvLSTMCell  # noqa: F401  (old import path)
from signalkit.errors import ConfigError


def _has_step(model: nn.Module) -> bool:
    bb = model.backbone
    return callable(getattr(bb, "step", None)) and bool(getattr(bb, "causal", False))


@torch.no_grad()
def rollout(model: nn.Module, x: Tensor, horizon: int, mode: str = "direct", t_out: int | None = None) -> Tensor:
    """Forecast ``horizon`` frames after ``x (B, T_in, C, H, W)`` -> ``(B, horizon, C, H, W)``.

    ``direct``: the model maps its last ``T_in`` frames to ``t_out`` frames; repeated on its own
    output until ``horizon`` frames exist. ``recurrent``: a causal next-frame model; the last
    prediction is appended and fed back (through ``backbone.step`` where available).
    """
    t_in = x.shape[1]
    if mode == "direct":
        frames, out = x, []
        while sum(o.shape[1] for o in out) < horizon:
            pred = model({"x": frames[:, -t_in:]})
            out.append(pred)
            frames = torch.cat([frames, pred], 1)
        return torch.cat(out, 1)[:, :horizon]
    if mode != "recurrent":
        raise ConfigError(f"task.mode: expected direct or recurrent, got {mode!r}")
    if _has_step(model):
        return _rollout_step(model, x, horizon)
    frames = x
    for _ in range(horizon):
        nxt = model({"x": frames})[:, -1:]
        frames = torch.cat([frames, nxt], 1)
    return frames[:, t_in:]


def _rollout_step(model: nn.Module, x: Tensor, horizon: int) -> Tensor:
    """Recurrent rollout at constant memory: tokenizer, ``backbone.step`` and head frame by frame."""
    state, preds = None, []
    frame = x[:, :1]
    for t in range(x.shape[1] + horizon - 1):
        frame = x[:, t:t + 1] if t < x.shape[1] else preds[-1]
        batch = {"x": frame}
        tok = model.tokenizer(batch)[:, :, 0]  # (B, D, h, w)
        feat, state = model.backbone.step(tok, state)
        if t >= x.shape[1] - 1:
            preds.append(model.head(feat.unsqueeze(2), batch))
    return torch.cat(preds, 1)
