"""Voxel tokenizer for small fMRI decoding sets: the block-averaged volume as one linear token.

On a few dozen labelled blocks (Haxby: 8 categories x 8 runs) a linear read-out of the masked
voxels is what wins (Haxby et al. 2001; Pereira et al. 2009): a deep patch model has too many
parameters for the data. ``x (B, T, X, Y, Z)`` is averaged over time (the block average, as the
linear SVM sees it), masked by ``voxel_mask``, flattened and mapped linearly to ``D`` features:
tokens ``(B, D, 1)``. During training a random subset of the window's frames is averaged instead
(``frame_keep``): each block gives many noisy views of itself, a data augmentation that keeps the
block's label and its haemodynamic lag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from signalkit.tokenizers.registry import register_tokenizer


@register_tokenizer("voxels")
class VoxelTokenizer(nn.Module):
    """``x (B, T, X, Y, Z)`` -> tokens ``(B, D, 1)``: a linear map of the time-averaged voxels.

    Args:
        dim: token width ``D``.
        volume_shape: ``(X, Y, Z)`` of the volumes (filled from the data contract's ``grid`` when null).
        frame_keep: share of the window's frames averaged per training example (1.0: all frames).
        dropout: dropout on the voxels (training only).
    """

    grid_ndim = 1

    def __init__(self, dim: int = 64, volume_shape: Sequence[int] | None = None, frame_keep: float = 0.5,
                 dropout: float = 0.0):
        super().__init__()
        if volume_shape is None:
            raise TypeError("volume_shape is null: set model.tokenizer.volume_shape=[X,Y,Z] (the volumes' grid)")
        if not 0.0 < float(frame_keep) <= 1.0:
            raise ValueError(f"frame_keep must be in (0, 1], got {frame_keep}")
        self.dim, self.volume_shape = int(dim), tuple(int(n) for n in volume_shape)
        self.frame_keep = float(frame_keep)
        self.drop = nn.Dropout(float(dropout))
        self.embed = nn.Linear(math.prod(self.volume_shape), self.dim)

    def block_average(self, x: Tensor) -> Tensor:
        """``(B, T, X, Y, Z)`` -> ``(B, X, Y, Z)``: mean over all frames (eval) or a random subset (train)."""
        if not self.training or self.frame_keep >= 1.0 or x.shape[1] == 1:
            return x.mean(1)
        keep = torch.rand(x.shape[:2], device=x.device) < self.frame_keep
        keep[torch.arange(x.shape[0]), torch.randint(x.shape[1], (x.shape[0],), device=x.device)] = True
        w = keep.to(x.dtype)[..., None, None, None]
        return (x * w).sum(1) / w.sum(1)

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        if tuple(x.shape[2:]) != self.volume_shape:
            raise ValueError(f"voxels tokenizer: volumes {tuple(x.shape[2:])}, expected {self.volume_shape}")
        v = self.block_average(x)
        if "voxel_mask" in batch:
            v = v * batch["voxel_mask"].to(v.dtype)
        return self.embed(self.drop(v.flatten(1)))[:, :, None]  # (B, D, 1)


@register_tokenizer("voxel_mean")
class VoxelMeanTokenizer(nn.Module):
    """``x (B, T, X, Y, Z)`` -> tokens ``(B, 1, X*Y*Z)``: the block average of every voxel, one
    1-wide token per voxel, zero outside ``voxel_mask``; no parameters.

    The features a linear read-out (``head.pool=flatten``, e.g. the closed-form ridge of
    :class:`~signalkit.tasks.RidgeDecodingTask`) or the linear SVM sees: the run-z-scored volumes
    averaged over the window's frames. ``n_tokens`` is fixed by ``volume_shape``.

    Args:
        dim: token width; must be 1 (each voxel is one token of one feature).
        volume_shape: ``(X, Y, Z)`` of the volumes (filled from the data contract's ``grid`` when null).
    """

    grid_ndim = 1

    def __init__(self, dim: int = 1, volume_shape: Sequence[int] | None = None):
        super().__init__()
        if volume_shape is None:
            raise TypeError("volume_shape is null: set model.tokenizer.volume_shape=[X,Y,Z] (the volumes' grid)")
        if int(dim) != 1:
            raise TypeError(f"voxel_mean tokens are one voxel wide: set model.dim=1, got {dim}")
        self.dim, self.volume_shape = 1, tuple(int(n) for n in volume_shape)
        self.n_tokens = math.prod(self.volume_shape)

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        if x.ndim != 5 or tuple(x.shape[2:]) != self.volume_shape:
            raise ValueError(f"voxel_mean tokenizer: batches (B, T, X, Y, Z) with volumes {self.volume_shape}, "
                             f"got {tuple(x.shape)}")
        v = x.mean(1)
        if "voxel_mask" in batch:
            v = v * batch["voxel_mask"].to(v.dtype)
        return v.reshape(len(v), 1, -1)  # (B, 1, V)
