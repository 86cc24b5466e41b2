"""Decoding head: pool the token grid, then classify or regress."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.heads.registry import register_head


@register_head("decoding")
class DecodingHead(nn.Module):
    """``features (B, D, *grid) -> logits (B, num_classes)``.

    Pooling is ``"mean"`` over the grid or ``"attention"`` (a learned query attends over all
    grid positions); tokens of padded channels (``tokenizer.token_mask``) are left out.
    ``"flatten"`` keeps every token (a linear read-out of the whole grid, as EEGNet's): it needs
    a tokenizer with a fixed grid, ``tokenizer.n_tokens``.
    ``num_classes=1`` gives a regression output ``(B, 1)``.
    ``readout="lda"``: the decoding task fits ``fc`` in closed form (shrinkage LDA,
    :mod:`signalkit.heads.lda`) on the training windows when training starts, then fine-tunes from
    there (``readout_lr_scale`` times the task's learning rate); ``None``: ``fc`` starts random.
    ``readout_scale`` multiplies the fitted weights and bias (same decision, softer logits: the
    LDA's training-set logits are large, and a saturated softmax leaves the spatial filters little
    gradient to learn from).
    """

    def __init__(self, dim: int, num_classes: int = 2, pool: str = "attention", dropout: float = 0.0,
                 tokenizer: nn.Module | None = None, readout: str | None = None, readout_lr_scale: float = 1.0,
                 readout_scale: float = 1.0):
        super().__init__()
        if readout not in (None, "lda"):
            raise ConfigError(f"model.head.readout: expected null or lda, got {readout!r}")
        if not readout_lr_scale > 0:
            raise ConfigError(f"model.head.readout_lr_scale: must be > 0, got {readout_lr_scale}")
        if readout is not None and num_classes < 2:
            raise ConfigError("model.head.readout: the LDA read-out needs num_classes >= 2")
        if not readout_scale > 0:
            raise ConfigError(f"model.head.readout_scale: must be > 0, got {readout_scale}")
        self.readout, self.readout_lr_scale = readout, float(readout_lr_scale)
        self.readout_scale = float(readout_scale)
        # kept out of the module tree (no duplicate parameters): only its token_mask is used
        self._token_mask = getattr(tokenizer, "token_mask", None)
        self.num_classes = num_classes
        self.pool = pool
        if pool not in ("attention", "mean", "flatten"):
            raise ConfigError(f"model.head.pool: expected attention, mean or flatten, got {pool!r}")
        width = dim
        if pool == "flatten":
            n_tokens = getattr(tokenizer, "n_tokens", None)
            if not n_tokens:
                raise ConfigError("model.head.pool: flatten needs a tokenizer with a fixed number of tokens "
                                  "(n_tokens), e.g. model.tokenizer.name=sensor_filter")
            width = dim * int(n_tokens)
        self.norm = nn.LayerNorm(dim) if pool != "flatten" else nn.Identity()
        if pool == "attention":
            self.score = nn.Linear(dim, 1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, features: Tensor, batch: dict | None = None) -> Tensor:
        if self.pool == "flatten":
            return self.fc(self.drop(features.flatten(1)))
        tokens = features.flatten(2).transpose(1, 2)  # (B, N, D)
        mask = self._token_mask(batch) if (self._token_mask is not None and batch is not None) else None
        keep = mask.reshape(mask.shape[0], -1, 1).to(tokens.dtype) if mask is not None else None
        if self.pool == "attention":
            scores = self.score(tokens)  # (B, N, 1)
            if keep is not None:
                scores = scores.masked_fill(keep == 0, float("-inf"))
            pooled = (scores.softmax(dim=1) * tokens).sum(dim=1)
        elif keep is not None:
            pooled = (tokens * keep).sum(1) / keep.sum(1).clamp(min=1)
        else:
            pooled = tokens.mean(dim=1)
        # normalise after pooling so the per-token scale (signal power) survives into the pool
        return self.fc(self.drop(self.norm(pooled)))

    def reset_classes(self, num_classes: int) -> None:
        """Replace the classifier for a new number of classes (fine-tuning)."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.fc.in_features, num_classes)
