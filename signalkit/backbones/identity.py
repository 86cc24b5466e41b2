"""``identity``: no backbone, for models whose tokenizer already extracts the features.

The filter-bank EEG decoder (``eeg_decoder``: :class:`~signalkit.tokenizers.sensor_filter.SensorFilterTokenizer`)
learns its temporal and spatial filters in the tokenizer; on the few hundred windows of a typical
EEG recording a backbone block on top did not add accuracy (benchmarks/decoding_quality.py).
"""

from __future__ import annotations

import torch
from torch import nn

from signalkit.backbones.registry import register_backbone
from signalkit.errors import ModelError


@register_backbone("identity")
class IdentityBackbone(nn.Module):
    """``(B, D, *grid) -> (B, D, *grid)`` unchanged (the shape is checked)."""

    def __init__(self, dim: int = 64, depth: int = 0, ndim: int = 1, causal: bool = False,
                 drop_path: float = 0.0, backend: str | None = None) -> None:
        super().__init__()
        self.dim, self.depth, self.ndim, self.causal = int(dim), 0, int(ndim), bool(causal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 + self.ndim or x.shape[1] != self.dim:
            raise ModelError(f"IdentityBackbone: expected tokens (B, D={self.dim}, *grid) with {self.ndim} "
                             f"grid axes, got shape {tuple(x.shape)}")
        return x

    def num_parameters(self, trainable_only: bool = False) -> int:
        return 0

    def reparameterize(self) -> "IdentityBackbone":
        """Nothing to merge (the backbone contract's inference-time hook)."""
        return self
