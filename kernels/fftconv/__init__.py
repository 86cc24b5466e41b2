"""Long FFT convolution (public op, dispatch). The AFNO spectral MLP lives in :mod:`signalkit.kernels.afno`."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from signalkit.errors import KernelError

from ..backend import resolve_backend
from ..validation import check_same_device, check_tensor
from ..afno import afno_mlp, afno_mlp_reference  # noqa: F401  (old import path; the op lives in kernels/afno)
from .reference import fft_size, fftconv_reference, next_fast_len, output_offset

__all__ = [
    "fftconv",
    "fftconv_reference",
    "fft_size",
    "next_fast_len",
]


class FFTConvFunction(torch.autograd.Function):
    """Triton-fused forward/backward of :func:`fftconv` (triton imported lazily, on first call).

    Saves ``rfft(u)`` and ``rfft(k)`` (complex64) and, with a gate, ``conv + D u`` (float32).
    """

    @staticmethod
    def forward(ctx, u, k, D, gate, causal):  # type: ignore[override]
        from . import triton as kern

        u, k = u.contiguous(), k.contiguous()
        D = None if D is None else D.contiguous()
        gate = None if gate is None else gate.contiguous()
        n = fft_size(u.shape[-1], k.shape[-1])
        off = output_offset(k.shape[-1], causal)
        need_pre = gate is not None and ctx.needs_input_grad[3]
        y, pre, uf, kf = kern.fftconv_fwd(u, k, D, gate, n, off, need_pre)
        ctx.save_for_backward(u, k, D, gate, pre, uf, kf)
        ctx.cfg = (n, off)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):  # type: ignore[override]
        from . import triton as kern

        u, k, D, gate, pre, uf, kf = ctx.saved_tensors
        n, off = ctx.cfg
        needs = tuple(ctx.needs_input_grad[:4])
        du, dk, dD, dgate = kern.fftconv_bwd(u, k, D, gate, pre, uf, kf, gy, n, off, needs)
        return du, dk, dD, dgate, None


def _validate(
    u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None, gate: torch.Tensor | None
) -> None:
    op = "fftconv"
    check_tensor(op, "u", u, ndim=3)
    Bt, C, L = u.shape
    check_tensor(op, "k", k, ndim=2)
    if k.shape[0] != C:
        raise KernelError(f"{op}: k must have shape (C={C}, Lk), got {tuple(k.shape)}")
    if not 1 <= k.shape[1] <= L:
        raise KernelError(f"{op}: k length Lk={k.shape[1]} must be in 1..L={L}")
    if D is not None:
        check_tensor(op, "D", D, shape=(C,))
    if gate is not None:
        check_tensor(op, "gate", gate, shape=(Bt, C, L))
    check_same_device(op, u=u, k=k, D=D, gate=gate)


def fftconv(
    u: torch.Tensor,
    k: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    gate: torch.Tensor | None = None,
    causal: bool = True,
    backend: str | None = None,
) -> torch.Tensor:
    """Long depthwise convolution through the FFT (linear, zero padded, never circular).

    ``causal=True``: ``y[t] = sum_{s=0}^{min(t, Lk-1)} k[c, s] * u[b, c, t - s]``.
    ``causal=False`` (kernel centred, "same" length): ``y[t] = sum_s k[c, s] * u[b, c, t - s + Lk//2]``.
    Then ``y += D[c] * u`` and ``y *= gate``. The FFT length is ``fft_size(L, Lk)``, the next
    2-3-5-7-smooth size ``>= L + Lk``.

    Args:
        u: ``(B, C, L)``.
        k: ``(C, Lk)`` with ``1 <= Lk <= L``.
        D: ``(C,)`` skip weight or None.
        gate: ``(B, C, L)`` or None.
        causal: see above.
        backend: ``"auto" | "torch" | "triton"``; None reads ``$SIGNALKIT_KERNEL_BACKEND``.

    Returns:
        ``(B, C, L)`` in ``u.dtype``. Differentiable in u, k, D and gate.
    """
    _validate(u, k, D, gate)
    if resolve_backend(backend, "fftconv", u) == "torch":
        return fftconv_reference(u, k, D, gate=gate, causal=causal)
    return FFTConvFunction.apply(u, k, D, gate, bool(causal))
