"""Video forecasting models beyond the SimVP tokenizer/head pair.

* ``convlstm`` backbone: stacked ConvLSTM cells (Shi et al. 2015) over the token grid
  ``(B, D, T, h, w)``, recurrent along grid axis 0 (always causal), with :meth:`step` for
  frame-by-frame rollout. With the ``frames`` tokenizer and head it is the in-repo ConvLSTM
  baseline, sized by its config to the default model's parameter budget.
* ``rollout`` (deprecated alias): moved to
  :func:`signalkit.tasks.video_forecasting.forecast_frames`.
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


def __getattr__(name: str):
    # the rollout moved to the forecasting tasks (deprecated alias, one release)
    if name == "rollout":
        import warnings

        from signalkit.tasks.video_forecasting import forecast_frames

        warnings.warn("signalkit.models_video.rollout moved to signalkit.tasks.video_forecasting.forecast_frames",
                      DeprecationWarning, stacklevel=2)
        return forecast_frames
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
