"""Video forecasting models beyond the SimVP tokenizer/head pair.

* ``convlstm`` backbone: stacked ConvLSTM cells (Shi et al. 2015) over the token grid
  ``(B, D, T, h, w)``, recurrent along grid axis 0 (always causal), with :meth:`step` for
  frame-by-frame rollout. With the ``frames`` tokenizer and head it is the in-repo ConvLSTM
  baseline, sized by its config to the default model's parameter budget.
* :func:`rollout`: forecasts of any horizon from a trained model, either ``direct`` (a model
  mapping ``T_in`` frames to ``T_out`` frames, applied again on its own output) or
  ``recurrent`` (a causal next-frame model; uses the backbone's ``step`` when it has one, as the
  ``convssm`` and ``convlstm`` backbones do).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.backbones import register_backbone
from signalkit.errors import ConfigError, ModelError


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell: gates from ``conv([x, h])``; ``x (B, D_in, h, w)``, state ``(h, c)``."""

    def __init__(self, d_in: int, hidden: int, kernel_size: int = 5) -> None:
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(d_in + hidden, 4 * hidden, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
        if state is None:
            z = x.new_zeros(x.shape[0], self.hidden, *x.shape[2:])
            state = (z, z)
        h, c = state
        i, f, o, g = self.conv(torch.cat([x, h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


@register_backbone("convlstm")
class ConvLSTMBackbone(nn.Module):
    """Stacked ConvLSTM over ``(B, D, T, h, w)`` tokens -> hidden states ``(B, D, T, h, w)``.

    Family kwargs: ``kernel_size`` (spatial, odd). ``causal`` is accepted and always true.
    """

    def __init__(self, dim: int = 64, depth: int = 2, ndim: int = 3, causal: bool = True,
                 drop_path: float = 0.0, backend: str | None = None, *, kernel_size: int = 5) -> None:
        super().__init__()
        if ndim != 3:
            raise ConfigError(f"model.backbone: convlstm needs a (time, height, width) grid, got ndim={ndim}")
        if kernel_size % 2 == 0:
            raise ConfigError(f"model.backbone.kernel_size: must be odd, got {kernel_size}")
        self.dim, self.depth, self.ndim, self.causal = dim, depth, ndim, True
        self.blocks = nn.ModuleList(ConvLSTMCell(dim, dim, kernel_size) for _ in range(depth))

    def step(self, x_t: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        """One frame of tokens ``(B, D, h, w)`` -> top hidden state ``(B, D, h, w)`` and the new state."""
        state = list(state) if state is not None else [None] * self.depth
        for i, cell in enumerate(self.blocks):
            state[i] = cell(x_t, state[i])
            x_t = state[i][0]
        return x_t, state

    def forward(self, x: Tensor) -> Tensor:
        """``(B, D, T, h, w) -> (B, D, T, h, w)``."""
        if x.dim() != 5 or x.shape[1] != self.dim:
            raise ModelError(f"ConvLSTMBackbone: expected tokens (B, {self.dim}, T, h, w), got {tuple(x.shape)}")
        state, outs = None, []
        for t in range(x.shape[2]):
            y, state = self.step(x[:, :, t], state)
            outs.append(y)
        return torch.stack(outs, 2)


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
