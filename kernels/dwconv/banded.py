"""CPU path of the depthwise convolution for short axes: a banded (Toeplitz) matrix product.

Along an axis of length ``L``, a depthwise convolution with "same" or causal zero padding is
``y = x @ T_c^T`` per channel, where ``T_c (L, L)`` holds the kernel taps on its diagonals. On
the short axes of 2-D and 3-D token grids (EEG channels x time patches, 20 x 19; video and
weather fields up to ~128 per axis), PyTorch's CPU depthwise ``conv1d`` runs many short rows
and its weight gradient is slow; one batched matmul per channel is 2-8x faster forward and
backward (``benchmarks/kernels_cpu.py``). Long axes (1-D sequences of thousands of samples)
keep the direct convolution, whose cost is ``O(L K)`` instead of ``O(L^2)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .reference import apply_activation, conv_padding

MAX_BANDED_LENGTH = 256
"""Longest axis computed as a matrix product (``T`` holds ``C L^2`` numbers)."""
SPAN_FACTOR = 5
"""Use the matrix product when ``L <= SPAN_FACTOR * span`` (span: the dilated kernel's extent)."""


def use_banded(x: torch.Tensor, kernel_size: int, dilation: int, axis: int) -> bool:
    """True where :func:`dwconv_banded` is the faster torch path for ``x`` (CPU, short axis,
    grid of 2 or more axes, where the direct path convolves many short rows)."""
    length = x.shape[axis]
    span = (kernel_size - 1) * dilation + 1
    return (x.device.type == "cpu" and x.dim() >= 4 and length <= MAX_BANDED_LENGTH
            and length <= SPAN_FACTOR * span)


def band_matrix(weight: torch.Tensor, length: int, dilation: int, causal: bool) -> torch.Tensor:
    """``T (C, L, L)`` with ``T[c, l, m] = weight[c, k]`` where ``m = l - left + k * dilation``."""
    c, k = weight.shape
    left, _ = conv_padding(k, dilation, causal)
    pos = torch.arange(length, device=weight.device)
    offset = pos[None, :] - pos[:, None] + left  # (l, m)
    tap = torch.div(offset, dilation, rounding_mode="floor")
    valid = (offset % dilation == 0) & (tap >= 0) & (tap < k)
    padded = F.pad(weight, (0, 1))  # column k is the zero outside the band
    return padded[:, torch.where(valid, tap, k)]


def dwconv_banded(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    axis: int,
    dilation: int = 1,
    causal: bool = False,
    activation: str | None = None,
) -> torch.Tensor:
    """Same result as :func:`~signalkit.kernels.dwconv.reference.dwconv_reference`.

    Args:
        x: ``(B, C, *grid)``; ``axis`` (normalised, ``>= 2``) is the convolved grid axis.
        weight: ``(C, K)``; bias: ``(C,)`` or None.

    Returns:
        ``(B, C, *grid)``, differentiable in ``x``, ``weight`` and ``bias``.
    """
    c, length = x.shape[1], x.shape[axis]
    band = band_matrix(weight, length, dilation, causal)  # (C, L, L)
    xt = x.movedim(axis, -1)  # (B, C, *others, L)
    shape = xt.shape
    rows = xt.transpose(0, 1).reshape(c, -1, length)  # (C, B * others, L)
    y = torch.bmm(rows, band.transpose(1, 2))
    y = y.reshape(c, shape[0], *shape[2:]).transpose(0, 1)
    if bias is not None:
        y = y + bias.view(1, c, *([1] * (y.dim() - 2)))
    return apply_activation(y, activation).movedim(-1, axis)
