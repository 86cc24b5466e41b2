"""Depthwise long convolution along one grid axis: public op, autograd and dispatch."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from signalkit.errors import KernelError

from ..backend import resolve_backend
from ..validation import check_same_device, check_tensor
from .banded import dwconv_banded, use_banded
from .reference import ACTIVATIONS, conv_padding, dwconv_reference

__all__ = ["dwconv", "dwconv_reference", "conv_padding"]

MAX_KERNEL_SIZE = 255


class DWConvFunction(torch.autograd.Function):
    """Triton forward/backward of :func:`dwconv` (triton imported lazily, on first call)."""

    @staticmethod
    def forward(ctx, x, weight, bias, axis, dilation, causal, activation):  # type: ignore[override]
        from . import triton as kern

        x, weight = x.contiguous(), weight.contiguous()
        bias = None if bias is None else bias.contiguous()
        left, _ = conv_padding(weight.shape[1], dilation, causal)
        ctx.save_for_backward(x, weight, bias)
        ctx.cfg = (axis, dilation, left, activation)
        return kern.dwconv_fwd(x, weight, bias, axis, dilation, left, activation)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):  # type: ignore[override]
        from . import triton as kern

        x, weight, bias = ctx.saved_tensors
        axis, dilation, left, activation = ctx.cfg
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx, gw, gb = kern.dwconv_bwd(
            x, weight, bias, grad_y, axis, dilation, left, activation, nx, nw, nb and bias is not None
        )
        return gx, gw, gb, None, None, None, None


def _validate(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    axis: int,
    dilation: int,
    activation: str | None,
) -> int:
    op = "dwconv"
    check_tensor(op, "x", x, ndim=(3, 4, 5))
    C = x.shape[1]
    check_tensor(op, "weight", weight, ndim=2)
    if weight.shape[0] != C:
        raise KernelError(f"{op}: weight must have shape (C={C}, K), got {tuple(weight.shape)}")
    K = weight.shape[1]
    if not 1 <= K <= MAX_KERNEL_SIZE:
        raise KernelError(f"{op}: weight kernel size K={K} must be in 1..{MAX_KERNEL_SIZE}")
    if bias is not None:
        check_tensor(op, "bias", bias, shape=(C,))
    check_same_device(op, x=x, weight=weight, bias=bias)
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise KernelError(f"{op}: axis must be an int, got {axis!r}")
    if not -x.dim() <= axis < x.dim():
        raise KernelError(f"{op}: axis={axis} out of range for x with {x.dim()} dims")
    ax = axis % x.dim()
    if ax < 2:
        raise KernelError(
            f"{op}: axis={axis} points at the batch or channel dim of x (B, C, *grid); "
            "it must select a grid axis"
        )
    if not isinstance(dilation, int) or isinstance(dilation, bool) or dilation < 1:
        raise KernelError(f"{op}: dilation must be a positive int, got {dilation!r}")
    if activation not in ACTIVATIONS:
        raise KernelError(f"{op}: activation must be one of {ACTIVATIONS}, got {activation!r}")
    return ax


def dwconv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    axis: int = -1,
    dilation: int = 1,
    causal: bool = False,
    activation: str | None = None,
    backend: str | None = None,
) -> torch.Tensor:
    """Depthwise 1-D convolution (cross-correlation) of an N-d signal along one grid axis.

    ``y[b, c, ..., l, ...] = act(sum_k weight[c, k] * xpad[b, c, ..., l + k * dilation, ...] + bias[c])``
    where ``xpad`` is ``x`` zero padded along ``axis`` by ``dilation * (K - 1)`` in total:
    ``total // 2`` on the left and the rest on the right ("same"), or all on the left when
    ``causal`` (so ``y[l]`` only sees ``x[<= l]``). Same semantics as
    ``torch.nn.functional.conv1d(groups=C)``.

    Args:
        x: ``(B, C, *grid)`` with 1, 2 or 3 grid axes.
        weight: ``(C, K)``, ``1 <= K <= 255`` (odd or even). Channel ``c`` uses ``weight[c]``.
        bias: ``(C,)`` or None.
        axis: the grid axis to convolve, an index into ``x.dim()`` (negative allowed, never the
            batch or channel axis).
        dilation: spacing between kernel taps (>= 1).
        causal: put all the padding on the left.
        activation: None, ``"gelu"`` (exact erf form) or ``"silu"``, applied after the bias.
        backend: ``"auto" | "torch" | "triton"``; None reads ``$SIGNALKIT_KERNEL_BACKEND``.
            ``"torch"`` on CPU computes short axes of 2-D/3-D grids as a banded matrix product
            (:mod:`~signalkit.kernels.dwconv.banded`) and the rest with ``conv1d``.

    Returns:
        ``(B, C, *grid)``, same shape and dtype as ``x``. Differentiable in x, weight and bias.
        ``weight``/``bias`` are cast to ``x.dtype``.
    """
    ax = _validate(x, weight, bias, axis, dilation, activation)
    weight = weight.to(x.dtype)
    bias = None if bias is None else bias.to(x.dtype)
    if resolve_backend(backend, "dwconv", x) == "torch":
        fn = dwconv_banded if use_banded(x, weight.shape[1], dilation, ax) else dwconv_reference
        return fn(
            x, weight, bias, axis=ax, dilation=dilation, causal=causal, activation=activation
        )
    return DWConvFunction.apply(x, weight, bias, ax, dilation, causal, activation)
