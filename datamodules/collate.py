"""Batch collation for sensor windows whose channel count differs (mixed montages)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def collate_sensor(samples: Sequence[dict] | dict) -> dict:
    """Stack samples into a Batch, padding channels to the largest montage.

    Each sample holds ``x (C_i, T)``, ``pos (C_i, 3)``, ``ch_type (C_i,)`` and optionally ``y``
    and ``rec`` (recording index). Returns ``x (B, C, T)``, ``pos (B, C, 3)``,
    ``ch_type (B, C)``, ``ch_mask (B, C)`` (True for real channels), ``y (B, ...)`` and ``rec (B,)``.
    """
    if isinstance(samples, dict):  # already a Batch, assembled by WindowDataset.__getitems__
        return samples
    n_ch = max(s["x"].shape[0] for s in samples)
    t = samples[0]["x"].shape[-1]
    b = len(samples)
    x = torch.zeros(b, n_ch, t, dtype=samples[0]["x"].dtype)
    pos = torch.zeros(b, n_ch, 3)
    ch_type = torch.zeros(b, n_ch, dtype=torch.long)
    mask = torch.zeros(b, n_ch, dtype=torch.bool)
    for i, s in enumerate(samples):
        c = s["x"].shape[0]
        x[i, :c] = s["x"]
        pos[i, :c] = s["pos"]
        ch_type[i, :c] = s["ch_type"]
        mask[i, :c] = True
    batch = {"x": x, "pos": pos, "ch_type": ch_type, "ch_mask": mask}
    if "y" in samples[0]:
        batch["y"] = torch.stack([torch.as_tensor(s["y"]) for s in samples])
    if "rec" in samples[0]:
        batch["rec"] = torch.tensor([int(s["rec"]) for s in samples])
    return batch
