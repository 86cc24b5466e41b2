"""Signal-space head ``untokenize`` (old name ``unpatch``): features back to the input's layout through the tokenizer.

``UnpatchHead`` serves masked reconstruction and next-frame forecasting for any tokenizer with
``untokenize`` (the fMRI volume tokenizer, and the sensor tokenizer for atlas regions).
"""

from __future__ import annotations

from torch import Tensor, nn

from signalkit.heads.registry import register_head


@register_head("untokenize", aliases=("unpatch",))
class UnpatchHead(nn.Module):
    """``features (B, D, *grid) -> signal`` shaped like ``batch["x"]``.

    For the volume tokenizer: ``(B, D, T', N) -> (B, T, X, Y, Z)``; for the sensor tokenizer:
    ``(B, D, P, S) -> (B, C, T)``. Forecasting reads position ``t`` as the prediction of the
    frames one time patch later (with a causal backbone).
    """

    def __init__(self, dim: int, tokenizer: nn.Module | None = None, dropout: float = 0.0):
        super().__init__()
        if tokenizer is None or not hasattr(tokenizer, "untokenize"):
            raise TypeError("the untokenize head needs a tokenizer with an untokenize method")
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        # not a registered submodule: the tokenizer's weights belong to the model's tokenizer
        self._tokenizer = [tokenizer]

    def forward(self, features: Tensor, batch: dict) -> Tensor:
        feats = self.norm(features.movedim(1, -1)).movedim(-1, 1)
        return self._tokenizer[0].untokenize(self.drop(feats), batch)
