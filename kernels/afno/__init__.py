"""AFNO block-diagonal complex MLP (spectral MLP of the frequency backbones): public op and dispatch."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from signalkit.errors import KernelError

from ..backend import resolve_backend
from ..validation import check_same_device, check_tensor
from .reference import afno_mlp_reference


class AFNOMLPFunction(torch.autograd.Function):
    """Fused Triton forward/backward of :func:`afno_mlp` (triton imported lazily, on first call).

    Works on the interleaved real view of ``xf`` flattened to ``(M, C, 2)``; saves only the inputs.
    """

    @staticmethod
    def forward(ctx, xf, w1, b1, w2, b2, lam):  # type: ignore[override]
        from . import triton as kern

        shape = xf.shape
        xr = torch.view_as_real(xf.contiguous()).reshape(-1, shape[-1], 2)
        w1, b1, w2, b2 = (t.contiguous() for t in (w1, b1, w2, b2))
        y = kern.afno_fwd(xr, w1, b1, w2, b2, lam)
        ctx.save_for_backward(xr, w1, b1, w2, b2)
        ctx.cfg = (shape, lam)
        return torch.view_as_complex(y).reshape(shape)

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):  # type: ignore[override]
        from . import triton as kern

        xr, w1, b1, w2, b2 = ctx.saved_tensors
        shape, lam = ctx.cfg
        gyr = torch.view_as_real(gy.contiguous()).reshape(-1, shape[-1], 2)
        gx, dw1, db1, dw2, db2 = kern.afno_bwd(xr, w1, b1, w2, b2, lam, gyr)
        return torch.view_as_complex(gx).reshape(shape), dw1, db1, dw2, db2, None


def _validate(
    xf: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    sparsity_threshold: float,
) -> None:
    op = "afno_mlp"
    check_tensor(op, "xf", xf, complex_=True)
    if xf.dim() < 1:
        raise KernelError(f"{op}: xf must have shape (..., C), got a scalar")
    check_tensor(op, "w1", w1, ndim=4)
    if w1.shape[0] != 2:
        raise KernelError(f"{op}: w1 must have shape (2, nb, bs, bs*hf), got {tuple(w1.shape)}")
    _, nb, bs, hid = w1.shape
    C = xf.shape[-1]
    if nb * bs != C:
        raise KernelError(
            f"{op}: xf has C={C} channels but w1 has nb*bs={nb}*{bs}={nb * bs} (shape {tuple(w1.shape)})"
        )
    check_tensor(op, "b1", b1, shape=(2, nb, hid))
    check_tensor(op, "w2", w2, shape=(2, nb, hid, bs))
    check_tensor(op, "b2", b2, shape=(2, nb, bs))
    if not float(sparsity_threshold) >= 0.0:
        raise KernelError(f"{op}: sparsity_threshold must be >= 0, got {sparsity_threshold!r}")
    check_same_device(op, xf=xf, w1=w1, b1=b1, w2=w2, b2=b2)


def afno_mlp(
    xf: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    *,
    sparsity_threshold: float = 0.01,
    backend: str | None = None,
) -> torch.Tensor:
    """AFNO block-diagonal complex MLP with soft shrinkage (Guibas et al. 2021; FourCastNet AFNO2D).

    With ``x = xf`` split into ``nb`` blocks of ``bs`` channels and complex weights
    ``W = w[0] + i w[1]``:
    ``o1 = relu(x @ W1 + b1)`` (relu on real and imaginary parts separately),
    ``o2 = o1 @ W2 + b2``, output ``softshrink(o2, sparsity_threshold)`` on real and imaginary parts.

    Args:
        xf: complex ``(..., C)`` with ``C = nb * bs`` (e.g. the rfft2 of a field, channels last).
        w1: ``(2, nb, bs, bs * hf)``.
        b1: ``(2, nb, bs * hf)``.
        w2: ``(2, nb, bs * hf, bs)``.
        b2: ``(2, nb, bs)``.
        sparsity_threshold: soft-shrinkage lambda (>= 0).
        backend: ``"auto" | "torch" | "triton"``; None reads ``$SIGNALKIT_KERNEL_BACKEND``.

    Returns:
        complex ``(..., C)`` of ``xf.dtype``. Differentiable in xf and all weights.
    """
    _validate(xf, w1, b1, w2, b2, sparsity_threshold)
    probe = torch.view_as_real(xf)
    if resolve_backend(backend, "afno_mlp", probe) == "torch":
        return afno_mlp_reference(xf, w1, b1, w2, b2, sparsity_threshold=float(sparsity_threshold))
    return AFNOMLPFunction.apply(xf, w1, b1, w2, b2, float(sparsity_threshold))


__all__ = ["afno_mlp", "afno_mlp_reference"]
