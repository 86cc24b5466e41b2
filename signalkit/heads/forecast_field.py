"""Field forecasting head: backbone features -> the change of every variable over one model step.

The head predicts the residual (``next - last input``) in units of the data's one-step change;
the forecasting task adds it to the last input. The output layer starts at zero, so an untrained
model is persistence.
"""

from __future__ import annotations

from torch import Tensor, nn

from signalkit.heads.registry import register_head


@register_head("forecast_field")
class ForecastFieldHead(nn.Module):
    """``features (B, D, h', w') -> delta (B, n_vars, H, W)`` through the tokenizer's ``untokenize``."""

    def __init__(self, dim: int, tokenizer: nn.Module, hidden: int | None = None):
        super().__init__()
        self.tokenizer = [tokenizer]  # a plain list: do not register the tokenizer twice
        self.n_vars = int(tokenizer.n_vars)
        p = int(tokenizer.patch_size)
        hidden = int(hidden or dim)
        self.norm = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.GELU(), nn.Conv2d(hidden, self.n_vars * p * p, 1))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, features: Tensor, batch: dict) -> Tensor:
        out = self.mlp(self.norm(features))
        return self.tokenizer[0].untokenize(out, batch, self.n_vars)
