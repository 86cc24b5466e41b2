"""Masks over the token grid for masked modelling, and sparse masking of backbone features.

A token mask is a boolean tensor ``(B, *grid)`` (``True`` = masked). ``random_mask`` masks single
tokens, ``block_mask`` masks contiguous blocks (harder: neighbours cannot simply be copied).
Axes in ``shared_axes`` get one decision for the whole axis (for the sensor tokenizer's virtual
channels: each virtual channel mixes every sensor, so a time patch is masked for all of them).

``SparseMasking`` re-applies a mask after every backbone block through forward hooks (the SparK
recipe): masked positions are zeroed after each block, so large kernels cannot carry information
from visible into masked positions and back out through the stack.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError

MASK_KINDS = ("random", "block")


def check_mask_ratio(ratio: float) -> float:
    """``ratio`` as a float; :class:`ConfigError` naming ``task.mask_ratio`` unless ``0 < ratio < 1``
    (the one check of every mask and masked task)."""
    if not 0.0 < float(ratio) < 1.0:
        raise ConfigError(f"task.mask_ratio: expected a number in (0, 1), got {ratio}")
    return float(ratio)


def _check(ratio: float, grid: Sequence[int]) -> None:
    check_mask_ratio(ratio)
    if not grid or any(int(g) < 1 for g in grid):
        raise ConfigError(f"task.mask: empty token grid {tuple(grid)}")


def _free_shape(grid: Sequence[int], shared_axes: Sequence[int]) -> list[int]:
    return [1 if i in shared_axes else int(g) for i, g in enumerate(grid)]


def random_mask(batch_size: int, grid: Sequence[int], ratio: float, shared_axes: Sequence[int] = (),
                generator: torch.Generator | None = None, device: torch.device | str | None = None) -> Tensor:
    """Mask ``round(ratio * n)`` tokens chosen uniformly per sample -> bool ``(B, *grid)``.

    ``n`` counts the free positions (axes in ``shared_axes`` count once); at least one token is
    masked and at least one stays visible.
    """
    _check(ratio, grid)
    free = _free_shape(grid, shared_axes)
    n = math.prod(free)
    k = min(max(1, round(ratio * n)), n - 1) if n > 1 else 1
    scores = torch.rand(batch_size, n, generator=generator)
    idx = scores.argsort(dim=1)[:, :k]
    mask = torch.zeros(batch_size, n, dtype=torch.bool)
    mask.scatter_(1, idx, True)
    return mask.reshape(batch_size, *free).expand(batch_size, *[int(g) for g in grid]).to(device)


def block_mask(batch_size: int, grid: Sequence[int], ratio: float, block: Sequence[int] | int = 4,
               shared_axes: Sequence[int] = (), generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Tensor:
    """Mask blocks of ``block`` tokens per axis until ``ratio`` of the grid is masked -> ``(B, *grid)``.

    Block corners are drawn uniformly; blocks are added until the masked fraction reaches
    ``ratio`` (blocks may overlap, so it can exceed it by less than one block). Axes in
    ``shared_axes`` are masked whole.
    """
    _check(ratio, grid)
    free = _free_shape(grid, shared_axes)
    sizes = [block] * len(free) if isinstance(block, int) else list(block)
    if len(sizes) != len(free):
        raise ConfigError(f"task.mask_block: {len(sizes)} block sizes for a {len(free)}-axis grid")
    sizes = [max(1, min(int(s), f)) for s, f in zip(sizes, free)]
    n = math.prod(free)
    target = min(max(1, round(ratio * n)), n - 1) if n > 1 else 1
    mask = torch.zeros(batch_size, *free, dtype=torch.bool)
    for b in range(batch_size):
        m = mask[b]
        for _ in range(64 * n):  # bounded: each step masks >= 1 new token with positive probability
            if int(m.sum()) >= target:
                break
            corner = [int(torch.randint(0, f - s + 1, (1,), generator=generator)) for f, s in zip(free, sizes)]
            m[tuple(slice(c, c + s) for c, s in zip(corner, sizes))] = True
        if bool(m.all()):  # keep one token visible
            m.view(-1)[int(torch.randint(0, n, (1,), generator=generator))] = False
    return mask.expand(batch_size, *[int(g) for g in grid]).to(device)


def make_mask(kind: str, batch_size: int, grid: Sequence[int], ratio: float, block: Sequence[int] | int = 4,
              shared_axes: Sequence[int] = (), generator: torch.Generator | None = None,
              device: torch.device | str | None = None) -> Tensor:
    """Dispatch to :func:`random_mask` or :func:`block_mask` by ``kind``."""
    if kind == "random":
        return random_mask(batch_size, grid, ratio, shared_axes, generator, device)
    if kind == "block":
        return block_mask(batch_size, grid, ratio, block, shared_axes, generator, device)
    raise ConfigError(f"task.mask: expected one of {', '.join(MASK_KINDS)}, got {kind!r}")


def upsample_mask(mask: Tensor, signal_shape: Sequence[int], signal_dims: Sequence[int | None]) -> Tensor:
    """Token mask ``(B, *grid)`` -> signal-space mask broadcastable to ``signal_shape``.

    ``signal_dims[i]`` is the dimension of the signal ``x`` that grid axis ``i`` patches (each
    token covers ``ceil(n / g)`` samples, the last patch possibly padded) or ``None`` when the
    axis has no signal dimension of its own (the mask must then be constant along it, see
    ``shared_axes``). Signal dimensions no grid axis maps to are broadcast.
    """
    if len(signal_dims) != mask.dim() - 1:
        raise ConfigError(f"task.signal_dims: {len(signal_dims)} entries for a {mask.dim() - 1}-axis token grid")
    m = mask
    for axis in reversed([i for i, d in enumerate(signal_dims) if d is None]):
        m = m.any(dim=axis + 1)  # constant along these axes by construction
    mapped = sorted((int(d), int(mask.shape[i + 1]), i) for i, d in enumerate(signal_dims) if d is not None)
    kept = [i for i, d in enumerate(signal_dims) if d is not None]
    m = m.permute(0, *[kept.index(i) + 1 for _, _, i in mapped])  # grid axes in signal-dim order
    shape = [int(mask.shape[0])] + [1] * (len(signal_shape) - 1)
    for j, (d, g, _) in enumerate(mapped):
        n = int(signal_shape[d])
        patch = -(-n // g)
        idx = (torch.arange(n, device=m.device) // patch).clamp(max=g - 1)
        m = m.index_select(j + 1, idx)
        shape[d] = n
    return m.reshape(shape)


class SparseMasking:
    """Forward hooks zeroing masked token positions after every block of ``backbone.blocks``.

    ``with masking.active(keep):`` (``keep`` is ``(B, 1, *grid)`` float, 0 at masked positions)
    makes every block's output ``out * keep``; outside the context the hooks do nothing. Works
    for any backbone with a ``blocks`` ModuleList whose blocks map ``(B, D, *grid)`` to itself.
    """

    def __init__(self, backbone: nn.Module):
        blocks = getattr(backbone, "blocks", None)
        self.keep: Tensor | None = None
        self.handles = []
        if isinstance(blocks, nn.ModuleList):
            for blk in blocks:
                self.handles.append(blk.register_forward_hook(self._hook))

    @property
    def n_hooks(self) -> int:
        return len(self.handles)

    def _hook(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor:
        if self.keep is None or not isinstance(output, Tensor) or output.shape[2:] != self.keep.shape[2:]:
            return output
        return output * self.keep.to(output.dtype)

    @contextlib.contextmanager
    def active(self, keep: Tensor) -> Iterator[None]:
        self.keep = keep
        try:
            yield
        finally:
            self.keep = None

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def bernoulli_patch_mask(shape: Sequence[int], patch: Sequence[int], ratio: float,
                         generator: torch.Generator | None = None) -> Tensor:
    """Signal-space mask hiding each patch independently with probability ``ratio``.

    ``shape = (B, *dims)`` is the signal's shape and ``patch`` the patch size along each of
    ``dims`` (the last patch of an axis may be cut). Returns bool ``(B, *dims)`` (True = hidden),
    constant within each patch; unlike :func:`random_mask` the number of hidden patches varies.
    """
    check_mask_ratio(ratio)
    b, *dims = (int(n) for n in shape)
    if len(patch) != len(dims):
        raise ConfigError(f"task.mask: {len(patch)} patch sizes for a {len(dims)}-dimensional signal")
    grid = [math.ceil(n / int(p)) for n, p in zip(dims, patch)]
    m = torch.rand(b, *grid, generator=generator, device="cpu") < ratio
    for axis, rep in enumerate(patch, start=1):
        m = m.repeat_interleave(int(rep), dim=axis)
    return m[(slice(None), *(slice(0, n) for n in dims))]
