"""Mamba-1 selective scan: public op, autograd and dispatch."""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from signalkit.errors import KernelError

from ..backend import resolve_backend
from ..validation import check_same_device, check_tensor
from .chunked import selective_scan_chunked
from .reference import expand_groups, selective_scan_reference

__all__ = ["selective_scan", "selective_scan_chunked", "selective_scan_reference", "expand_groups"]


class SelectiveScanFunction(torch.autograd.Function):
    """Triton forward/backward of :func:`selective_scan` (triton imported lazily, on first call).

    Saves the inputs and the chunk start states ``(Bt, Dm, ceil(L / T), N)``; the backward
    recomputes the states inside each chunk.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, delta_softplus):  # type: ignore[override]
        from . import triton as kern

        args = [None if t is None else t.contiguous() for t in (u, delta, A, B, C, D, z, delta_bias)]
        out, states = kern.scan_fwd(*args, delta_softplus)
        ctx.save_for_backward(*args, states)
        ctx.softplus = delta_softplus
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, gout):  # type: ignore[override]
        from . import triton as kern

        u, delta, A, B, C, D, z, delta_bias, states = ctx.saved_tensors
        grads = kern.scan_bwd(u, delta, A, B, C, D, z, delta_bias, ctx.softplus, states, gout)
        return (*grads, None)


def _validate(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None,
    z: torch.Tensor | None,
    delta_bias: torch.Tensor | None,
) -> None:
    op = "selective_scan"
    check_tensor(op, "u", u, ndim=3)
    Bt, Dm, L = u.shape
    check_tensor(op, "delta", delta, shape=(Bt, Dm, L))
    check_tensor(op, "A", A, ndim=2)
    if A.shape[0] != Dm:
        raise KernelError(f"{op}: A must have shape (Dm={Dm}, N), got {tuple(A.shape)}")
    N = A.shape[1]
    for name, t in (("B", B), ("C", C)):
        check_tensor(op, name, t, ndim=(3, 4))
        if t.dim() == 3:
            check_tensor(op, name, t, shape=(Bt, N, L))
        else:
            check_tensor(op, name, t, shape=(Bt, None, N, L))
            G = t.shape[1]
            if G < 1 or Dm % G:
                raise KernelError(f"{op}: {name} has G={G} groups but Dm={Dm} is not divisible by G")
    if D is not None:
        check_tensor(op, "D", D, shape=(Dm,))
    if z is not None:
        check_tensor(op, "z", z, shape=(Bt, Dm, L))
    if delta_bias is not None:
        check_tensor(op, "delta_bias", delta_bias, shape=(Dm,))
    check_same_device(op, u=u, delta=delta, A=A, B=B, C=C, D=D, z=z, delta_bias=delta_bias)


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    backend: str | None = None,
) -> torch.Tensor:
    """Mamba-1 selective scan (``selective_scan_fn`` semantics, real A).

    ``dt = delta + delta_bias`` (then ``softplus`` when ``delta_softplus``);
    ``h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t`` (state ``h`` is ``(Bt, Dm, N)``, ``h_{-1} = 0``);
    ``y_t = <C_t, h_t> + D * u_t``; ``y *= silu(z)`` when z is given.

    Args:
        u: ``(Bt, Dm, L)``.
        delta: ``(Bt, Dm, L)``.
        A: ``(Dm, N)`` real (usually negative).
        B: ``(Bt, N, L)`` or grouped ``(Bt, G, N, L)`` with ``Dm % G == 0`` (channel ``d`` uses
            group ``d // (Dm // G)``).
        C: same layout as B.
        D: ``(Dm,)`` or None.
        z: ``(Bt, Dm, L)`` or None.
        delta_bias: ``(Dm,)`` or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        backend: ``"auto" | "torch" | "triton"``; None reads ``$SIGNALKIT_KERNEL_BACKEND``.
            The torch backend is the chunked scan (:func:`selective_scan_chunked`, any device);
            :func:`selective_scan_reference` is the sequential loop the tests compare against.

    Returns:
        y ``(Bt, Dm, L)`` in ``u.dtype`` (computed in float32, or float64 for float64 inputs).
        Differentiable in every tensor argument.
    """
    _validate(u, delta, A, B, C, D, z, delta_bias)
    if resolve_backend(backend, "selective_scan", u) == "torch":
        return selective_scan_chunked(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    return SelectiveScanFunction.apply(u, delta, A, B, C, D, z, delta_bias, bool(delta_softplus))
