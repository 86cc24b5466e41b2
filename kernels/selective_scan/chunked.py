"""Chunked selective scan: the fast PyTorch path (CPU training) with a hand-written backward.

The sequence (length ``L``, zero-padded to ``nC * T``) is cut into ``nC`` chunks of ``T`` steps
and the tensors are kept in *chunk layout* ``(T, Bt, G, dpg, ., nC)``: step ``t`` of every chunk
is one contiguous slice, so a Python loop over the ``T`` steps of a chunk advances all ``nC``
chunks at once, and a second loop over the ``nC`` chunks carries the state between them. The
number of Python steps is ``O(T + L / T)`` (``T ~ sqrt(L)``), every step is a vectorised op on
``Bt * Dm * N * nC`` elements, and no step ever exponentiates a positive sum of log-decays, so a
strong decay (large ``|dt * A|``) underflows to 0 instead of overflowing. Batch rows are processed
in blocks of about ``BLOCK`` state elements per step, so that the per-step temporaries stay in
cache; decays are ``exp2(dt * A * log2(e))`` (``exp2`` is ~3x faster than ``exp`` on CPU).

Forward (``h_t = a_t h_{t-1} + b_t`` with ``a_t = exp(dt_t A)``, ``b_t = dt_t u_t B_t``):

1. chunk-local scan from a zero state -> every chunk's end state ``s_c``;
2. carry ``H_c = exp(A * sum_chunk dt) H_{c-1} + s_c`` over the chunks (``H_{-1} = 0``), keeping
   each chunk's start state ``(Bt, Dm, N, nC)``: the only tensor saved for the backward;
3. the chunk scan again from the right start states, ``y_t = <C_t, h_t>``.

Backward: recompute the states ``h`` (one ``(rows, Dm, N, L)`` tensor per block of batch rows,
freed after its backward),
solve the adjoint ``lam_t = C_t gy_t + a_{t+1} lam_{t+1}`` with the same chunk-local + carry
scheme run in reverse, then reduce the gradients with vectorised ops:
``gx = <lam, B>``, ``gB = sum_group lam x``, ``gC = sum_group h gy``,
``g(dt A) = lam a h_{t-1}`` -> ``gdt``, ``gA``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .reference import scan_inputs, scan_output

__all__ = ["selective_scan_chunked", "chunk_length"]

LOG2E = 1.0 / math.log(2.0)
BLOCK = 1 << 16  # state elements per step and block of batch rows


def chunk_length(L: int) -> int:
    """Default chunk length: the power of two nearest ``sqrt(0.4 L)``, in ``[16, 128]``, at most ``L``.

    The forward + backward runs ``5 T + 2 L / T`` Python steps, smallest at ``T = sqrt(0.4 L)``.
    """
    if L <= 16:
        return max(L, 1)
    T = 2 ** round(math.log2(math.sqrt(0.4 * L)))
    return min(max(T, 16), 128, L)


def _to_chunks(t: torch.Tensor, T: int, nC: int) -> torch.Tensor:
    """``(..., L) -> (T, ..., nC)`` contiguous, zero-padded to ``nC * T``."""
    L = t.shape[-1]
    if nC * T != L:
        t = F.pad(t, (0, nC * T - L))
    t = t.reshape(*t.shape[:-1], nC, T)
    return t.movedim(-1, 0).contiguous()


def _from_chunks(t: torch.Tensor, L: int) -> torch.Tensor:
    """Inverse of :func:`_to_chunks`: ``(T, ..., nC) -> (..., L)``."""
    T, nC = t.shape[0], t.shape[-1]
    t = t.movedim(0, -1)  # (..., nC, T)
    return t.reshape(*t.shape[:-2], nC * T)[..., :L]


def _carry(s: torch.Tensor, dec: torch.Tensor, reverse: bool) -> torch.Tensor:
    """Carry a linear recurrence over chunks: ``H_c = dec_c H_{c-1} + s_c``; returns every chunk's
    *incoming* state ``H_{c-1}`` (``H_{-1} = 0``; chunks visited last-to-first when ``reverse``).

    Args:
        s, dec: ``(..., nC)`` chunk-local end values and whole-chunk decays.

    Returns:
        ``(..., nC)`` incoming states.
    """
    s_c, dec_c = s.movedim(-1, 0).contiguous(), dec.movedim(-1, 0).contiguous()
    nC = s_c.shape[0]
    out = torch.empty_like(s_c)
    h = s_c.new_zeros(s_c.shape[1:])
    order = range(nC - 1, -1, -1) if reverse else range(nC)
    for c in order:
        out[c] = h
        h = torch.addcmul(s_c[c], dec_c[c], h)
    return out.movedim(0, -1)


class _ChunkedScan(torch.autograd.Function):
    """``y_t = <C_t, h_t>``, ``h_t = exp(dt_t A) h_{t-1} + x_t B_t`` in chunk layout.

    Inputs (all in the work dtype, chunk layout, ``Dm = G * dpg``):
        dt, x: ``(T, Bt, G, dpg, 1, nC)``; A: ``(G, dpg, N, 1)``; B, C: ``(T, Bt, G, 1, N, nC)``.
    Output: ``y (T, Bt, G, dpg, nC)``.
    """

    @staticmethod
    def forward(ctx, dt, x, A, B, C):  # type: ignore[override]
        T = dt.shape[0]
        shape = (*dt.shape[1:4], A.shape[2], dt.shape[-1])  # (Bt, G, dpg, N, nC)
        A2 = A * LOG2E  # exp2 is ~3x faster than exp on CPU
        h = dt.new_zeros(shape)
        for t in range(T):  # 1. chunk-local end states
            h = torch.addcmul(x[t] * B[t], torch.exp2(dt[t] * A2), h)
        dec = torch.exp2(dt.sum(0) * A2)  # (Bt, G, dpg, N, nC) whole-chunk decay
        starts = _carry(h, dec, reverse=False)  # 2.
        h = starts
        y = dt.new_empty(T, *shape[:3], shape[-1])
        for t in range(T):  # 3.
            h = torch.addcmul(x[t] * B[t], torch.exp2(dt[t] * A2), h)
            torch.sum(C[t] * h, dim=-2, out=y[t])
        ctx.save_for_backward(dt, x, A, B, C, starts)
        return y

    @staticmethod
    def backward(ctx, gy):  # type: ignore[override]
        dt, x, A, B, C, starts = ctx.saved_tensors
        T = dt.shape[0]
        gy = gy.unsqueeze(-2)  # (T, Bt, G, dpg, 1, nC)
        # recompute the states; hs[t] = h_{t-1}, hs[t + 1] = h_t (chunk-local indices)
        hs = dt.new_empty(T + 1, *starts.shape)
        hs[0] = starts
        A2 = A * LOG2E
        a = torch.exp2(dt * A2)  # (T, Bt, G, dpg, N, nC)
        for t in range(T):
            torch.addcmul(x[t] * B[t], a[t], hs[t], out=hs[t + 1])
        # adjoint lam_t = C_t gy_t + a_{t+1} lam_{t+1}: chunk-local pass, carry, full pass
        mu = torch.zeros_like(starts)
        for t in range(T - 1, -1, -1):
            mu = a[t] * torch.addcmul(mu, C[t], gy[t])
        mu = _carry(mu, torch.exp2(dt.sum(0) * A2), reverse=True)  # what each chunk receives from the next
        gdt, gx = torch.empty_like(dt), torch.empty_like(x)
        gB, gC = torch.empty_like(B), torch.empty_like(C)
        gA = torch.zeros_like(starts)
        for t in range(T - 1, -1, -1):
            lam = torch.addcmul(mu, C[t], gy[t])
            torch.sum(hs[t + 1] * gy[t], dim=2, keepdim=True, out=gC[t])
            torch.sum(lam * B[t], dim=-2, keepdim=True, out=gx[t])
            torch.sum(lam * x[t], dim=2, keepdim=True, out=gB[t])
            mu = a[t].mul_(lam)
            w = hs[t] * mu  # g(dt_t A) = lam_t a_t h_{t-1}
            torch.sum(w * A, dim=-2, keepdim=True, out=gdt[t])
            gA.addcmul_(w, dt[t])
        return gdt, gx, gA.sum((0, 4)).unsqueeze(-1), gB, gC


def _groups(BC: torch.Tensor, G: int) -> torch.Tensor:
    """``(Bt, N, L)`` or ``(Bt, g, N, L)`` -> ``(Bt, G, N, L)`` with ``G`` a multiple of ``g``."""
    if BC.dim() == 3:
        BC = BC.unsqueeze(1)
    return BC if BC.shape[1] == G else BC.repeat_interleave(G // BC.shape[1], dim=1)


def selective_scan_chunked(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    chunk: int | None = None,
) -> torch.Tensor:
    """Selective scan by chunks (same semantics and dtypes as ``selective_scan_reference``).

    Args:
        u, delta: ``(Bt, Dm, L)``.
        A: ``(Dm, N)`` real.
        B, C: ``(Bt, N, L)`` or ``(Bt, G, N, L)`` with ``Dm % G == 0``.
        D: ``(Dm,)`` or None. z: ``(Bt, Dm, L)`` or None. delta_bias: ``(Dm,)`` or None.
        chunk: chunk length ``T`` (default :func:`chunk_length`).

    Returns:
        y ``(Bt, Dm, L)`` in ``u.dtype`` (computed in float32, or float64 for float64 inputs);
        differentiable in every tensor argument. Memory: the forward saves only its inputs and the
        chunk start states ``(Bt, Dm, N, ceil(L / T))``; the backward holds ``O(Bt Dm N L)``.
    """
    dtype_in = u.dtype
    work, u, dt, A = scan_inputs(u, delta, A, B, C, delta_bias, delta_softplus)
    Bt, Dm, L = u.shape
    N = A.shape[1]
    gb = B.shape[1] if B.dim() == 4 else 1
    gc = C.shape[1] if C.dim() == 4 else 1
    G = gb * gc // math.gcd(gb, gc)
    dpg = Dm // G
    T = chunk or chunk_length(L)
    nC = -(-L // T)
    dt_c = _to_chunks(dt, T, nC).view(T, Bt, G, dpg, 1, nC)
    x_c = _to_chunks(dt * u, T, nC).view(T, Bt, G, dpg, 1, nC)
    B_c = _to_chunks(_groups(B.to(work), G), T, nC).unsqueeze(3)  # (T, Bt, G, 1, N, nC)
    C_c = _to_chunks(_groups(C.to(work), G), T, nC).unsqueeze(3)
    # batch rows in blocks of about BLOCK state elements per step: the per-step temporaries stay in cache
    rows = max(1, BLOCK // max(1, Dm * N * nC))
    A_g = A.reshape(G, dpg, N, 1)
    parts = zip(*(v.split(rows, dim=1) for v in (dt_c, x_c, B_c, C_c)))
    y = torch.cat([_ChunkedScan.apply(d, x, A_g, b, c) for d, x, b, c in parts], dim=1)  # (T, Bt, G, dpg, nC)
    return scan_output(_from_chunks(y.reshape(T, Bt, Dm, nC), L), u, D, z, dtype_in)
