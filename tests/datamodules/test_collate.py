"""Collate pads a batch of mixed montages and masks the padding."""

from __future__ import annotations

import torch

from signalkit.datamodules.collate import collate_sensor


def test_collate_pads_mixed_montages():
    a = {"x": torch.ones(3, 5), "pos": torch.ones(3, 3), "ch_type": torch.zeros(3, dtype=torch.long), "y": 1, "rec": 0}
    b = {"x": torch.ones(5, 5), "pos": torch.ones(5, 3), "ch_type": torch.zeros(5, dtype=torch.long), "y": 0, "rec": 1}
    batch = collate_sensor([a, b])
    assert batch["x"].shape == (2, 5, 5)
    assert batch["ch_mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert batch["x"][0, 3:].abs().sum() == 0
