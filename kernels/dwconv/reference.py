"""PyTorch reference (and CPU path) of the depthwise long convolution along one grid axis."""

from __future__ import annotations

import torch
import torch.nn.functional as F

ACTIVATIONS = (None, "gelu", "silu")


def conv_padding(kernel_size: int, dilation: int, causal: bool) -> tuple[int, int]:
    """(left, right) zero padding giving an output as long as the input.

    Total padding is ``dilation * (K - 1)``; "same" puts ``total // 2`` on the left and the rest
    on the right, causal puts all of it on the left.
    """
    total = dilation * (kernel_size - 1)
    left = total if causal else total // 2
    return left, total - left


def apply_activation(y: torch.Tensor, activation: str | None) -> torch.Tensor:
    """None (identity), ``"gelu"`` (exact, erf form) or ``"silu"``."""
    if activation is None:
        return y
    if activation == "gelu":
        return F.gelu(y)
    if activation == "silu":
        return F.silu(y)
    raise ValueError(f"unknown activation {activation!r}")


def dwconv_reference(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    axis: int = -1,
    dilation: int = 1,
    causal: bool = False,
    activation: str | None = None,
) -> torch.Tensor:
    """Depthwise 1-D cross-correlation of ``x`` along grid axis ``axis``.

    Args:
        x: ``(B, C, *grid)``, 1 to 3 grid axes.
        weight: ``(C, K)``.
        bias: ``(C,)`` or None.
        axis: normalised (non-negative) index of the convolved axis, ``>= 2``.

    Returns:
        ``(B, C, *grid)``: ``act(sum_k weight[c, k] * xpad[..., l + k * dilation] + bias[c])``.
    """
    C, K = weight.shape
    xt = x.movedim(axis, -1)
    moved_shape = xt.shape
    L = moved_shape[-1]
    # (B, C, *others, L) -> (B * others, C, L)
    xt = xt.movedim(1, -2).reshape(-1, C, L)
    left, right = conv_padding(K, dilation, causal)
    xt = F.pad(xt, (left, right))
    y = F.conv1d(xt, weight.unsqueeze(1), bias, dilation=dilation, groups=C)
    y = apply_activation(y, activation)
    others = moved_shape[2:-1]
    y = y.reshape(moved_shape[0], *others, C, L).movedim(-2, 1)
    return y.movedim(-1, axis)
