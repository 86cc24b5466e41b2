"""Receptive field of a backbone: how much each input token moves one output position.

The map is ``|d (w . y[:, p]) / d x|``: the gradient of a fixed random projection ``w`` of the
output token at position ``p`` (a plain sum over channels would vanish behind the backbones'
final channel norm), L2 norm over the token width, normalised to a maximum of 1, for a randomly
initialised (or trained) backbone on a 1-D or 2-D token grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn


def receptive_field(backbone: nn.Module, grid: Sequence[int], dim: int, position: Sequence[int] | None = None,
                    seed: int = 0) -> np.ndarray:
    """Normalised gradient magnitude ``grid``-shaped (e.g. ``(L,)`` or ``(H, W)``) of output ``position``.

    Args:
        backbone: tokens ``(B, dim, *grid) -> (B, dim, *grid)``.
        position: the output token (default: the centre of the grid).
    """
    grid = tuple(int(g) for g in grid)
    pos = tuple(g // 2 for g in grid) if position is None else tuple(int(p) for p in position)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, dim, *grid, generator=gen).requires_grad_(True)
    was = backbone.training
    backbone.eval()
    try:
        y = backbone(x)
        w = torch.randn(dim, generator=gen)
        (y[(0, slice(None), *pos)] * w).sum().backward()
    finally:
        backbone.train(was)
    g = x.grad[0].norm(dim=0).numpy()
    return g / max(float(g.max()), 1e-30)


def plot_receptive_fields(backbones: Sequence[str] | Mapping[str, nn.Module], grid: Sequence[int] = (128,),
                          dim: int = 16, depth: int = 2, position: Sequence[int] | None = None,
                          log: bool = True, **kwargs) -> Figure:
    """One panel per backbone: a line over a 1-D grid, an image over a 2-D grid.

    Args:
        backbones: registry names (built with ``create_backbone(name, dim, depth, ndim=len(grid),
            **kwargs)``) or ``{label: module}``.
        log: show ``log10`` of the map on 2-D grids (long, faint tails stay visible).
    """
    from signalkit.backbones import create_backbone

    if not isinstance(backbones, Mapping):
        torch.manual_seed(0)
        backbones = {n: create_backbone(n, dim=dim, depth=depth, ndim=len(grid), **kwargs) for n in backbones}
    fig = Figure(figsize=(3.4 * len(backbones), 3.0))
    axes = np.atleast_1d(fig.subplots(1, len(backbones), squeeze=False)[0])
    for ax, (name, module) in zip(axes, backbones.items()):
        rf = receptive_field(module, grid, dim, position)
        if len(grid) == 1:
            ax.plot(np.arange(grid[0]), rf, lw=1)
            if log:
                ax.set_yscale("log")
            ax.set_xlabel("input token")
            ax.set_ylabel("|grad| (normalised)")
        elif len(grid) == 2:
            img = np.log10(rf + 1e-6) if log else rf
            im = ax.imshow(img, origin="lower", cmap="magma")
            fig.colorbar(im, ax=ax, shrink=0.8, label="log10 |grad|" if log else "|grad|")
            ax.set_xlabel("axis 1")
            ax.set_ylabel("axis 0")
        else:
            raise ValueError(f"grid must have 1 or 2 axes, got {grid}")
        ax.set_title(name)
    fig.tight_layout()
    return fig
