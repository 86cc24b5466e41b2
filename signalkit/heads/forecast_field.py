"""Field forecasting head: backbone features -> the change of every variable over one model step.

The head predicts the residual (``next - last input``) in units of the data's one-step change;
the forecasting task adds it to the last input. The output layer starts at zero, so an untrained
model is persistence. With ``local_linear`` (and the ``grid=(H, W)`` the task fills in) the head adds a per-grid-point linear term on the inputs,
``sum_j a_j(v, h, w) x_j(v, h, w) + b(v, h, w)`` (also zero at start): a local linear (damped
anomaly) forecast the network corrects, which small data sets cannot learn through patches alone.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.heads.registry import register_head


@register_head("forecast_field")
class ForecastFieldHead(nn.Module):
    """``features (B, D, h', w') -> delta (B, n_vars, H, W)`` through the tokenizer's ``untokenize``."""

    def __init__(self, dim: int, tokenizer: nn.Module, hidden: int | None = None, local_linear: bool = False,
                 grid: tuple[int, int] | list[int] | None = None):
        super().__init__()
        self.tokenizer = [tokenizer]  # a plain list: do not register the tokenizer twice
        self.n_vars = int(tokenizer.n_vars)
        p = int(tokenizer.patch_size)
        hidden = int(hidden or dim)
        self.norm = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.GELU(), nn.Conv2d(hidden, self.n_vars * p * p, 1))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)
        self.local_weight = self.local_bias = None
        if local_linear:
            if grid is None:
                raise ValueError("forecast_field head: local_linear needs grid=(H, W) (the forecasting task sets it)")
            h, w = (int(g) for g in grid)
            self.local_weight = nn.Parameter(torch.zeros(int(tokenizer.history), self.n_vars, h, w))
            self.local_bias = nn.Parameter(torch.zeros(self.n_vars, h, w))

    def forward(self, features: Tensor, batch: dict) -> Tensor:
        out = self.tokenizer[0].untokenize(self.mlp(self.norm(features)), batch, self.n_vars)
        if self.local_weight is not None:
            x = batch["x"]
            if tuple(x.shape[-2:]) != tuple(self.local_bias.shape[-2:]):
                raise ValueError(f"forecast_field head: grid {tuple(self.local_bias.shape[-2:])} (model.head.grid), "
                                 f"got fields {tuple(x.shape[-2:])}")
            out = out + (x * self.local_weight).sum(1) + self.local_bias
        return out

