"""Decoding head: pool the token grid, then classify or regress."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DecodingHead(nn.Module):
    """``features (B, D, *grid) -> logits (B, num_classes)``.

    Pooling is ``"mean"`` over the grid or ``"attention"`` (a learned query attends over all
    grid positions). ``num_classes=1`` gives a regression output ``(B, 1)``.
    """

    def __init__(self, dim: int, num_classes: int = 2, pool: str = "attention", dropout: float = 0.0):
        super().__init__()
        self.num_classes = num_classes
        self.pool = pool
        self.norm = nn.LayerNorm(dim)
        if pool == "attention":
            self.score = nn.Linear(dim, 1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, features: Tensor, batch: dict | None = None) -> Tensor:
        tokens = features.flatten(2).transpose(1, 2)  # (B, N, D)
        if self.pool == "attention":
            w = self.score(tokens).softmax(dim=1)  # (B, N, 1)
            pooled = (w * tokens).sum(dim=1)
        else:
            pooled = tokens.mean(dim=1)
        # normalise after pooling so the per-token scale (signal power) survives into the pool
        return self.fc(self.drop(self.norm(pooled)))

    def reset_classes(self, num_classes: int) -> None:
        """Replace the classifier for a new number of classes (fine-tuning)."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.fc.in_features, num_classes)
