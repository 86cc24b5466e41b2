"""fMRI batch layouts shared by the fMRI tasks: a time-first view, the valid voxels, the time patch.

Batches from :class:`signalkit.datamodules.fmri.FMRIDataModule` hold volumes ``x (B, T, X, Y, Z)``
with ``voxel_mask (B, X, Y, Z)``, or regions ``x (B, R, T)`` with ``pos``/``ch_type``/``ch_mask``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def time_first(x: Tensor) -> Tensor:
    """``(B, T, X, Y, Z)`` stays; region ``(B, R, T)`` -> ``(B, T, R)`` (its own inverse)."""
    return x if x.dim() == 5 else x.transpose(1, 2)


def valid_mask(batch: dict, like: Tensor) -> Tensor:
    """Bool mask broadcastable to time-first ``like``: brain voxels or real regions."""
    if "voxel_mask" in batch:
        return batch["voxel_mask"][:, None].to(torch.bool).expand_as(like)
    if "ch_mask" in batch:
        return batch["ch_mask"][:, None].to(torch.bool).expand_as(like)
    return torch.ones_like(like, dtype=torch.bool)


def valid_mask_like(batch: dict, x: Tensor) -> Tensor:
    """:func:`valid_mask` in ``x``'s own layout."""
    return time_first(valid_mask(batch, time_first(x)))


def time_patch(tokenizer) -> int:
    """Frames per token along time of a volume or sensor tokenizer."""
    return int(getattr(tokenizer, "time_patch", None) or getattr(tokenizer, "patch_size", 1))
