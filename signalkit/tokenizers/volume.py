"""Volume tokenizer for fMRI: 3-D patches of each frame -> tokens on a (time, space) grid.

Backbones take grids of 1-3 axes, so a 4-D (time, x, y, z) patch grid needs a choice
(``grid=``):

* ``"time_space"`` (default): tokens ``(B, D, T', N)`` with ``T' = T / time_patch`` and
  ``N = gx * gy * gz`` spatial patches in raster order (x slowest, z fastest). Time stays grid
  axis 0, so one backbone serves decoding and causal forecasting (``causal=True`` makes axis 0
  causal); the flattened space axis keeps its layout through a Fourier embedding of each
  patch centre (relative position in the volume).
* ``"space"``: time folded into the token (``time_patch`` = the window's frames), tokens
  ``(B, D, gx, gy, gz)`` on a true 3-D grid, so convolution kernels see spatial neighbours along
  every axis - the better choice for masked reconstruction of voxels.

Any volume size works (zero-padded up to a multiple of the patch size); ``untokenize`` crops back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.tokenizers.registry import register_tokenizer


def _triple(v: int | Sequence[int]) -> tuple[int, int, int]:
    return (int(v),) * 3 if isinstance(v, int) else tuple(int(n) for n in v)  # type: ignore[return-value]


@register_tokenizer("volume")
class VolumeTokenizer(nn.Module):
    """``x (B, T, X, Y, Z)`` -> tokens ``(B, D, T // time_patch, gx * gy * gz)``.

    Args:
        dim: token width ``D``.
        patch_size: spatial patch ``(px, py, pz)`` in voxels (an int for a cube).
        time_patch: frames per token (``T`` is zero-padded up to a multiple).
        n_freqs: Fourier frequencies of the patch-centre position embedding.
        grid: ``"time_space"`` -> ``(B, D, T', N)``; ``"space"`` -> ``(B, D, gx, gy, gz)`` (needs
            ``T == time_patch``).
    """

    def __init__(self, dim: int = 64, patch_size: int | Sequence[int] = 4, time_patch: int | None = 1, n_freqs: int = 6,
                 grid: str = "time_space"):
        super().__init__()
        if time_patch is None:
            raise TypeError("time_patch is null: set model.tokenizer.time_patch (frames per token; with "
                            "grid=space, the window's frames)")
        if grid not in ("time_space", "space"):
            raise ValueError(f"grid must be time_space or space, got {grid!r}")
        self.grid = grid
        self.grid_ndim = 2 if grid == "time_space" else 3
        self.dim, self.patch_size, self.time_patch = dim, _triple(patch_size), int(time_patch)
        n_in = self.time_patch * math.prod(self.patch_size)
        self.embed = nn.Linear(n_in, dim)
        self.register_buffer("freqs", 2.0 ** torch.arange(n_freqs) * math.pi, persistent=False)
        self.pos_mlp = nn.Sequential(nn.Linear(6 * n_freqs, dim), nn.GELU(), nn.Linear(dim, dim))
        self.unpatch = nn.Linear(dim, n_in)

    def grid_shape(self, x: Tensor) -> tuple[int, int, int, int]:
        """``(T', gx, gy, gz)`` of a batch ``(B, T, X, Y, Z)``."""
        t, *space = x.shape[1:]
        return (math.ceil(t / self.time_patch), *(math.ceil(n / p) for n, p in zip(space, self.patch_size)))

    def position_embedding(self, grid: Sequence[int], device) -> Tensor:
        """``(N, D)`` embedding of each spatial patch's centre in [0, 1]^3."""
        axes = [(torch.arange(g, device=device, dtype=torch.float32) + 0.5) / g for g in grid]
        centres = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
        phase = (centres[:, :, None] * self.freqs).flatten(1)  # (N, 3F)
        return self.pos_mlp(torch.cat([phase.sin(), phase.cos()], dim=-1))

    def patchify(self, x: Tensor) -> Tensor:
        """``(B, T, X, Y, Z)`` -> patches ``(B, T', N, time_patch * px * py * pz)`` (zero-padded)."""
        b = x.shape[0]
        tp, (px, py, pz) = self.time_patch, self.patch_size
        tg, gx, gy, gz = self.grid_shape(x)
        pads = [gz * pz - x.shape[4], gy * py - x.shape[3], gx * px - x.shape[2], tg * tp - x.shape[1]]
        x = F.pad(x, (0, pads[0], 0, pads[1], 0, pads[2], 0, pads[3]))
        x = x.reshape(b, tg, tp, gx, px, gy, py, gz, pz).permute(0, 1, 3, 5, 7, 2, 4, 6, 8)
        return x.reshape(b, tg, gx * gy * gz, -1)

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        grid = self.grid_shape(x)
        tokens = self.embed(self.patchify(x)) + self.position_embedding(grid[1:], x.device)
        if self.grid == "space":
            if grid[0] != 1:
                raise ValueError(f"grid='space' folds {self.time_patch} frames into each token; the "
                                 f"window has {x.shape[1]} (set tokenizer.time_patch to the window's frames)")
            return tokens[:, 0].reshape(x.shape[0], *grid[1:], self.dim).permute(0, 4, 1, 2, 3).contiguous()
        return tokens.permute(0, 3, 1, 2).contiguous()  # (B, D, T', N)

    def untokenize(self, features: Tensor, batch: dict) -> Tensor:
        """Features ``(B, D, T', N)`` (or ``(B, D, gx, gy, gz)``) -> signal ``(B, T, X, Y, Z)``."""
        x = batch["x"]
        if self.grid == "space":
            features = features.flatten(2)[:, :, None]  # (B, D, 1, N)
        b, t, *space = x.shape
        tg, gx, gy, gz = self.grid_shape(x)
        tp, (px, py, pz) = self.time_patch, self.patch_size
        out = self.unpatch(features.permute(0, 2, 3, 1))  # (B, T', N, tp*px*py*pz)
        out = out.reshape(b, tg, gx, gy, gz, tp, px, py, pz).permute(0, 1, 5, 2, 6, 3, 7, 4, 8)
        out = out.reshape(b, tg * tp, gx * px, gy * py, gz * pz)
        return out[:, :t, :space[0], :space[1], :space[2]]
