"""Triton kernels of the selective scan: chunked over time, state carried in registers.

A program owns one batch row and ``BLOCK_D`` channels (all in one B/C group) and walks the
sequence in chunks of ``T`` steps. Inside a chunk the linear recurrence
``h_t = a_t h_{t-1} + b_t`` is solved with ``tl.associative_scan`` on a ``(BLOCK_D, N, T)``
register tile and the chunk's last state is carried to the next chunk; only the state at the start
of each chunk, ``(Bt, Dm, L / T, N)`` float32, is written to global memory (for the backward),
never the full ``(Bt, Dm, L, N)`` state. The backward walks the chunks in reverse, recomputes the
chunk's states from its saved start state, and solves the adjoint recurrence
``lam_t = a_{t+1} lam_{t+1} + C_t gy_t`` with a reverse scan. ``dB``/``dC`` are reduced over the
channels of a group with float32 atomics. All accumulation is float32.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl


@triton.jit
def _combine(a1, b1, a2, b2):
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _dt(delta, bias, SOFTPLUS: tl.constexpr):
    v = delta + bias
    if SOFTPLUS:
        e = tl.exp(-tl.abs(v))  # softplus(v) = max(v, 0) + log1p(exp(-|v|))
        v = tl.maximum(v, 0.0) + tl.where(e < 1e-4, e * (1.0 - 0.5 * e), tl.log(1.0 + e))
    return v


@triton.jit
def _tile(A, Dv, DBIAS, Dm, L, N, G, dpg, nchunks,
          HAS_D: tl.constexpr, HAS_DBIAS: tl.constexpr,
          BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, T: tl.constexpr):
    """What one program owns: its channels ``ds`` (one B/C group), states ``ns`` and chunk steps
    ``ts`` with their masks, its rows' offsets into the ``(Bt, Dm, L)``, ``(Bt, G, N, L)`` and
    state arrays, and the channels' ``A (BLOCK_D, BLOCK_N)``, delta bias and ``D (BLOCK_D,)`` in
    float32 (zeros where absent)."""
    b = tl.program_id(0)
    d0 = tl.program_id(1) * BLOCK_D
    ds = d0 + tl.arange(0, BLOCK_D)
    ns = tl.arange(0, BLOCK_N)
    ts = tl.arange(0, T)
    dm = ds < Dm
    nm = ns < N
    g = d0 // dpg
    A_t = tl.load(A + ds[:, None] * N + ns[None, :], mask=dm[:, None] & nm[None, :], other=0.0).to(tl.float32)
    if HAS_DBIAS:
        bias = tl.load(DBIAS + ds, mask=dm, other=0.0).to(tl.float32)
    else:
        bias = tl.zeros([BLOCK_D], dtype=tl.float32)
    if HAS_D:
        Dval = tl.load(Dv + ds, mask=dm, other=0.0).to(tl.float32)
    else:
        Dval = tl.zeros([BLOCK_D], dtype=tl.float32)
    row = (b * Dm + ds).to(tl.int64) * L  # (BLOCK_D,)
    bc_base = ((b * G + g).to(tl.int64) * N + ns) * L  # (BLOCK_N,)
    st_base = ((b * Dm + ds).to(tl.int64) * nchunks) * N  # (BLOCK_D,)
    return ds, ns, ts, dm, nm, A_t, bias, Dval, row, bc_base, st_base


@triton.jit
def _chunk_states(U, DELTA, Bm, Cm, c, L, ts, dm, nm, row, bc_base, A_t, bias, h0,
                  SOFTPLUS: tl.constexpr, T: tl.constexpr):
    """Chunk ``c`` from its start state ``h0 (BLOCK_D, BLOCK_N)``: its steps ``t`` and masks, the
    inputs (``draw`` is the raw delta, ``dt`` the step sizes, 0 outside the sequence),
    ``bx = dt u B`` and the states ``hh (BLOCK_D, BLOCK_N, T)`` (one associative scan)."""
    t = c * T + ts
    tm = t < L
    m2 = dm[:, None] & tm[None, :]
    off2 = row[:, None] + t[None, :]
    u = tl.load(U + off2, mask=m2, other=0.0).to(tl.float32)
    draw = tl.load(DELTA + off2, mask=m2, other=0.0).to(tl.float32)
    dt = tl.where(m2, _dt(draw, bias[:, None], SOFTPLUS), 0.0)
    mbc = nm[:, None] & tm[None, :]
    Bt = tl.load(Bm + bc_base[:, None] + t[None, :], mask=mbc, other=0.0).to(tl.float32)
    Ct = tl.load(Cm + bc_base[:, None] + t[None, :], mask=mbc, other=0.0).to(tl.float32)
    a = tl.exp(dt[:, None, :] * A_t[:, :, None])
    bx = (dt * u)[:, None, :] * Bt[None, :, :]
    acum, hs = tl.associative_scan((a, bx), 2, _combine)
    hh = hs + acum * h0[:, :, None]
    return t, m2, off2, mbc, u, draw, dt, Bt, Ct, bx, hh


@triton.jit
def _readout(hh, Ct, u, Dval, HAS_D: tl.constexpr):
    """``y_t = <C_t, h_t> + D u_t`` (before the ``silu(z)`` gate) -> ``(BLOCK_D, T)``."""
    y = tl.sum(hh * Ct[None, :, :], axis=1)
    if HAS_D:
        y += Dval[:, None] * u
    return y


@triton.jit
def _scan_fwd_kernel(
    U, DELTA, A, Bm, Cm, Dv, Z, DBIAS, OUT, STATES,
    Dm, L, N, G, dpg, nchunks,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DBIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, T: tl.constexpr,
):
    ds, ns, ts, dm, nm, A_t, bias, Dval, row, bc_base, st_base = _tile(
        A, Dv, DBIAS, Dm, L, N, G, dpg, nchunks, HAS_D, HAS_DBIAS, BLOCK_D, BLOCK_N, T)
    h = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    for c in range(0, nchunks):
        tl.store(STATES + st_base[:, None] + c * N + ns[None, :], h, mask=dm[:, None] & nm[None, :])
        t, m2, off2, mbc, u, draw, dt, Bt, Ct, bx, hh = _chunk_states(
            U, DELTA, Bm, Cm, c, L, ts, dm, nm, row, bc_base, A_t, bias, h, SOFTPLUS, T)
        y = _readout(hh, Ct, u, Dval, HAS_D)
        if HAS_Z:
            z = tl.load(Z + off2, mask=m2, other=0.0).to(tl.float32)
            y = y * z * tl.sigmoid(z)
        tl.store(OUT + off2, y.to(OUT.dtype.element_ty), mask=m2)
        h = tl.sum(tl.where((ts == T - 1)[None, None, :], hh, 0.0), axis=2)


@triton.jit
def _scan_bwd_kernel(
    U, DELTA, A, Bm, Cm, Dv, Z, DBIAS, GOUT, STATES,
    DU, DDELTA, DA, DBm, DCm, DD, DZ, DDBIAS,
    Dm, L, N, G, dpg, nchunks,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DBIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, T: tl.constexpr,
):
    ds, ns, ts, dm, nm, A_t, bias, Dval, row, bc_base, st_base = _tile(
        A, Dv, DBIAS, Dm, L, N, G, dpg, nchunks, HAS_D, HAS_DBIAS, BLOCK_D, BLOCK_N, T)
    dn_mask = dm[:, None] & nm[None, :]
    lam = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    dA_acc = tl.zeros([BLOCK_D, BLOCK_N], dtype=tl.float32)
    dD_acc = tl.zeros([BLOCK_D], dtype=tl.float32)
    dbias_acc = tl.zeros([BLOCK_D], dtype=tl.float32)
    for ci in range(0, nchunks):
        c = nchunks - 1 - ci
        h0 = tl.load(STATES + st_base[:, None] + c * N + ns[None, :], mask=dn_mask, other=0.0)
        # recompute the chunk's states
        t, m2, off2, mbc, u, draw, dt, Bt, Ct, bx, hh = _chunk_states(
            U, DELTA, Bm, Cm, c, L, ts, dm, nm, row, bc_base, A_t, bias, h0, SOFTPLUS, T)
        tn = t + 1
        mn = dm[:, None] & (tn < L)[None, :]
        dtn = _dt(tl.load(DELTA + row[:, None] + tn[None, :], mask=mn, other=0.0).to(tl.float32), bias[:, None], SOFTPLUS)
        gout = tl.load(GOUT + off2, mask=m2, other=0.0).to(tl.float32)
        if HAS_Z:
            y = _readout(hh, Ct, u, Dval, HAS_D)
            z = tl.load(Z + off2, mask=m2, other=0.0).to(tl.float32)
            sz = tl.sigmoid(z)
            tl.store(DZ + off2, (gout * y * sz * (1.0 + z * (1.0 - sz))).to(DZ.dtype.element_ty), mask=m2)
            gy = gout * z * sz
        else:
            gy = gout
        # adjoint: lam_t = a_{t+1} lam_{t+1} + C_t gy_t
        an = tl.where(mn[:, None, :], tl.exp(dtn[:, None, :] * A_t[:, :, None]), 0.0)
        cx = Ct[None, :, :] * gy[:, None, :]
        ncum, lam0 = tl.associative_scan((an, cx), 2, _combine, reverse=True)
        lt = lam0 + ncum * lam[:, :, None]
        lam = tl.sum(tl.where((ts == 0)[None, None, :], lt, 0.0), axis=2)
        # gradients
        dC = tl.sum(hh * gy[:, None, :], axis=0)  # (N, T)
        tl.atomic_add(DCm + bc_base[:, None] + t[None, :], dC, mask=mbc)
        dB = tl.sum(lt * (dt * u)[:, None, :], axis=0)
        tl.atomic_add(DBm + bc_base[:, None] + t[None, :], dB, mask=mbc)
        lB = tl.sum(lt * Bt[None, :, :], axis=1)  # (D, T)
        du = lB * dt
        if HAS_D:
            du += gy * Dval[:, None]
            dD_acc += tl.sum(gy * u, axis=1)
        hm = lt * (hh - bx)  # lam_t * a_t * h_{t-1}
        ddt = lB * u + tl.sum(hm * A_t[:, :, None], axis=1)
        dA_acc += tl.sum(hm * dt[:, None, :], axis=2)
        if SOFTPLUS:
            ddt = ddt * tl.sigmoid(draw + bias[:, None])
        ddt = tl.where(m2, ddt, 0.0)
        dbias_acc += tl.sum(ddt, axis=1)
        tl.store(DU + off2, du.to(DU.dtype.element_ty), mask=m2)
        tl.store(DDELTA + off2, ddt.to(DDELTA.dtype.element_ty), mask=m2)
    pbase = (tl.program_id(0) * Dm + ds).to(tl.int64)
    tl.store(DA + pbase[:, None] * N + ns[None, :], dA_acc, mask=dn_mask)
    tl.store(DD + pbase, dD_acc, mask=dm)
    tl.store(DDBIAS + pbase, dbias_acc, mask=dm)


def _config(Dm: int, G: int, N: int, L: int) -> tuple[int, int, int]:
    """(BLOCK_D, BLOCK_N, T): BLOCK_D divides Dm // G so a program stays in one group."""
    dpg = Dm // G
    BLOCK_N = max(2, triton.next_power_of_2(N))
    block_d = 1
    cap = max(1, 256 // BLOCK_N)
    while block_d * 2 <= min(dpg, 8, cap) and dpg % (block_d * 2) == 0:
        block_d *= 2
    # (BLOCK_D, BLOCK_N, T) register tiles: ~11 of them are live in the backward, keep each <= 2048
    T = max(2, min(32, triton.next_power_of_2(L), 2048 // (block_d * BLOCK_N)))
    return block_d, BLOCK_N, T


def _as4(BC: torch.Tensor, G: int) -> torch.Tensor:
    """``(Bt, N, L)`` or ``(Bt, g, N, L)`` -> contiguous ``(Bt, G, N, L)`` (g divides G)."""
    BC = BC.unsqueeze(1) if BC.dim() == 3 else BC
    if BC.shape[1] != G:
        BC = BC.repeat_interleave(G // BC.shape[1], dim=1)
    return BC.contiguous()


def _groups(B: torch.Tensor, C: torch.Tensor) -> int:
    gb = 1 if B.dim() == 3 else B.shape[1]
    gc = 1 if C.dim() == 3 else C.shape[1]
    return math.lcm(gb, gc)


def _unexpand(grad4: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum a ``(Bt, G, N, L)`` grad back to the layout of ``like``."""
    Bt, G, N, L = grad4.shape
    g = 1 if like.dim() == 3 else like.shape[1]
    out = grad4.view(Bt, g, G // g, N, L).sum(2)
    return (out[:, 0] if like.dim() == 3 else out).to(like.dtype)


def _launch(u, delta, A, B, C, D, z, delta_bias, softplus):
    """What both kernels take: the eight inputs (B/C as contiguous ``(Bt, G, N, L)``; an absent
    ``D``/``z``/``delta_bias`` replaced by a tensor the kernel never reads), the sizes
    ``(Dm, L, N, G, dpg, nchunks)``, the grid and the compile-time flags."""
    Bt, Dm, L = u.shape
    N = A.shape[1]
    G = _groups(B, C)
    BLOCK_D, BLOCK_N, T = _config(Dm, G, N, L)
    inputs = (u, delta, A, _as4(B, G), _as4(C, G), D if D is not None else A, z if z is not None else u,
              delta_bias if delta_bias is not None else A)
    sizes = (Dm, L, N, G, Dm // G, triton.cdiv(L, T))
    meta = dict(HAS_D=D is not None, HAS_Z=z is not None, HAS_DBIAS=delta_bias is not None,
                SOFTPLUS=softplus, BLOCK_D=BLOCK_D, BLOCK_N=BLOCK_N, T=T, num_warps=4)
    return inputs, sizes, (Bt, triton.cdiv(Dm, BLOCK_D)), meta


def scan_fwd(u, delta, A, B, C, D, z, delta_bias, softplus):
    """Returns (out ``(Bt, Dm, L)`` in u.dtype, chunk start states ``(Bt, Dm, nchunks, N)`` float32)."""
    inputs, sizes, grid, meta = _launch(u, delta, A, B, C, D, z, delta_bias, softplus)
    Bt, (Dm, L, N, _, _, nchunks) = u.shape[0], sizes
    out = torch.empty_like(u)
    states = torch.empty(Bt, Dm, nchunks, N, dtype=torch.float32, device=u.device)
    _scan_fwd_kernel[grid](*inputs, out, states, *sizes, **meta)
    return out, states


def scan_bwd(u, delta, A, B, C, D, z, delta_bias, softplus, states, gout):
    """Returns grads (du, ddelta, dA, dB, dC, dD, dz, ddelta_bias) in the dtypes of the inputs."""
    inputs, sizes, grid, meta = _launch(u, delta, A, B, C, D, z, delta_bias, softplus)
    Bt, (Dm, _, N, _, _, nchunks) = u.shape[0], sizes
    if states.shape[2] != nchunks:
        raise ValueError(f"selective_scan backward: {states.shape[2]} saved chunk states, expected {nchunks}")
    f32 = dict(dtype=torch.float32, device=u.device)
    du, ddelta = torch.empty_like(u), torch.empty_like(delta)
    dz = torch.empty_like(z) if z is not None else None
    dB4, dC4 = torch.zeros(inputs[3].shape, **f32), torch.zeros(inputs[4].shape, **f32)
    dA, dD, dbias = torch.empty(Bt, Dm, N, **f32), torch.empty(Bt, Dm, **f32), torch.empty(Bt, Dm, **f32)
    _scan_bwd_kernel[grid](
        *inputs, gout.contiguous(), states,
        du, ddelta, dA, dB4, dC4, dD, dz if dz is not None else du, dbias,
        *sizes, **meta,
    )
    dB, dC = _unexpand(dB4, B), _unexpand(dC4, C)
    return (
        du, ddelta, dA.sum(0).to(A.dtype), dB, dC,
        None if D is None else dD.sum(0).to(D.dtype),
        dz,
        None if delta_bias is None else dbias.sum(0).to(delta_bias.dtype),
    )
