"""Reconstruction head: fill masked tokens, decode lightly, return to signal space.

The SparK/MAE-style decoder of masked modelling: backbone features at masked positions are
replaced by a learned mask token, a small stack of depthwise-conv + MLP blocks over the token grid
propagates context into them, and the tokenizer's ``untokenize`` maps the tokens back to the
signal, so the loss can be computed where the input was hidden.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.heads.registry import register_head

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


class _DecoderBlock(nn.Module):
    """Pre-norm residual block: depthwise conv over the grid, then a pointwise MLP."""

    def __init__(self, dim: int, ndim: int, kernel_size: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.mix = _CONV[ndim](dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(_CONV[ndim](dim, 2 * dim, 1), nn.GELU(), _CONV[ndim](2 * dim, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mix(self.norm1(x))
        return x + self.mlp(self.norm2(x))


@register_head("reconstruction")
class ReconstructionHead(nn.Module):
    """``features (B, D, *grid)`` (+ ``batch["mask"] (B, *grid)`` bool) -> signal like ``batch["x"]``.

    Args:
        dim: token width ``D``.
        tokenizer: the model's tokenizer (kept unregistered: its weights belong to the model's
            ``tokenizer.*`` keys, not to the head); must provide ``untokenize(features, batch)``
            and ``grid_ndim``.
        decoder_depth: number of decoder blocks (``0``: only the mask token and a linear map).
        kernel_size: depthwise kernel of the decoder blocks along every grid axis.
        dropout: dropout before the output projection.
        num_classes, pool: accepted and unused, so that a pretraining model config can inherit a
            decoder's config (``configs/model/eeg_pretrain.yaml``) and only rename the head.
    """

    def __init__(self, dim: int, tokenizer: nn.Module | None = None, decoder_depth: int = 1, kernel_size: int = 3,
                 dropout: float = 0.0, num_classes: int | None = None, pool: str | None = None):
        super().__init__()
        if tokenizer is None or not callable(getattr(tokenizer, "untokenize", None)):
            raise ConfigError("model.head: the reconstruction head needs a tokenizer with untokenize()")
        ndim = int(tokenizer.grid_ndim)
        self.__dict__["_tokenizer"] = tokenizer  # not a submodule: no duplicate state-dict keys
        self.mask_token = nn.Parameter(torch.zeros(dim))
        self.blocks = nn.ModuleList(_DecoderBlock(dim, ndim, kernel_size) for _ in range(decoder_depth))
        self.drop = nn.Dropout(dropout)
        self.proj = _CONV[ndim](dim, dim, 1)

    def forward(self, features: Tensor, batch: dict) -> Tensor:
        x = features
        mask = batch.get("mask")
        if mask is not None:
            m = mask[:, None].to(x.dtype)  # (B, 1, *grid)
            token = self.mask_token.view(1, -1, *([1] * (x.dim() - 2))).to(x.dtype)
            x = x * (1 - m) + token * m
        for blk in self.blocks:
            x = blk(x)
        return self._tokenizer.untokenize(self.proj(self.drop(x)), batch)
