"""Triton kernels fused around ``torch.fft`` for the long FFT convolution.

The FFTs themselves stay ``torch.fft.rfft/irfft`` (cuFFT); zero padding to the FFT length is
done by ``rfft(n=...)``. Triton fuses everything between and after them:

* forward: ``Y_f = U_f * K_f`` (complex multiply, K broadcast over the batch), then one epilogue
  that slices the linear-convolution window, adds ``D * u``, multiplies by ``gate`` and casts;
* backward: one prologue ``g = gy * gate``, ``dgate = gy * (conv + D u)``, partial ``dD``; the
  correlations ``G_f * conj(K_f)`` and ``sum_b G_f * conj(U_f)`` (batch reduction fused); one
  gather epilogue per gradient that undoes the output offset (with wrap-around) and adds ``D * g``.

All arithmetic is float32; complex spectra are handled through their interleaved real view.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _cmul_kernel(A, Bk, Out, total, CF, CONJ: tl.constexpr, BLOCK: tl.constexpr):
    """``Out[i] = A[i] * Bk[i % CF]`` (or ``* conj(Bk)``) for complex interleaved buffers."""
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = i < total
    j = i % CF
    ar = tl.load(A + 2 * i, mask=m, other=0.0)
    ai = tl.load(A + 2 * i + 1, mask=m, other=0.0)
    br = tl.load(Bk + 2 * j, mask=m, other=0.0)
    bi = tl.load(Bk + 2 * j + 1, mask=m, other=0.0)
    if CONJ:
        bi = -bi
    tl.store(Out + 2 * i, ar * br - ai * bi, mask=m)
    tl.store(Out + 2 * i + 1, ar * bi + ai * br, mask=m)


@triton.jit
def _cmul_conj_reduce_kernel(A, Bu, Out, Bt, CF, BLOCK: tl.constexpr):
    """``Out[j] = sum_b A[b, j] * conj(Bu[b, j])`` for complex interleaved ``(Bt, CF)`` buffers."""
    j = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = j < CF
    accr = tl.zeros([BLOCK], dtype=tl.float32)
    acci = tl.zeros([BLOCK], dtype=tl.float32)
    for b in range(0, Bt):
        i = b * CF + j
        ar = tl.load(A + 2 * i, mask=m, other=0.0)
        ai = tl.load(A + 2 * i + 1, mask=m, other=0.0)
        br = tl.load(Bu + 2 * i, mask=m, other=0.0)
        bi = tl.load(Bu + 2 * i + 1, mask=m, other=0.0)
        accr += ar * br + ai * bi
        acci += ai * br - ar * bi
    tl.store(Out + 2 * j, accr, mask=m)
    tl.store(Out + 2 * j + 1, acci, mask=m)


@triton.jit
def _fwd_epilogue_kernel(
    FULL, U, Dv, GATE, Y, PRE, C, L, n, off,
    HAS_D: tl.constexpr, HAS_GATE: tl.constexpr, STORE_PRE: tl.constexpr, BLOCK: tl.constexpr,
):
    """``pre = FULL[r, off + t] + D[c] u[r, t]``; ``Y = pre * gate`` (cast to Y's dtype)."""
    r = tl.program_id(0)
    t = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = t < L
    row = r.to(tl.int64) * L
    v = tl.load(FULL + r.to(tl.int64) * n + off + t, mask=m, other=0.0)
    if HAS_D:
        u = tl.load(U + row + t, mask=m, other=0.0).to(tl.float32)
        v += tl.load(Dv + r % C).to(tl.float32) * u
    if HAS_GATE:
        if STORE_PRE:
            tl.store(PRE + row + t, v, mask=m)
        v = v * tl.load(GATE + row + t, mask=m, other=0.0).to(tl.float32)
    tl.store(Y + row + t, v.to(Y.dtype.element_ty), mask=m)


@triton.jit
def _bwd_prologue_kernel(
    GY, GATE, PRE, U, G, DGATE, DDP, L, ntiles,
    HAS_GATE: tl.constexpr, NEED_DGATE: tl.constexpr, HAS_D: tl.constexpr, BLOCK: tl.constexpr,
):
    """``g = gy * gate`` (float32), ``dgate = gy * pre``, partial ``dD[r, tile] = sum g * u``."""
    r = tl.program_id(0)
    tile = tl.program_id(1)
    t = tile * BLOCK + tl.arange(0, BLOCK)
    m = t < L
    row = r.to(tl.int64) * L
    gy = tl.load(GY + row + t, mask=m, other=0.0).to(tl.float32)
    g = gy
    if HAS_GATE:
        g = gy * tl.load(GATE + row + t, mask=m, other=0.0).to(tl.float32)
        if NEED_DGATE:
            pre = tl.load(PRE + row + t, mask=m, other=0.0)
            tl.store(DGATE + row + t, (gy * pre).to(DGATE.dtype.element_ty), mask=m)
    tl.store(G + row + t, g, mask=m)
    if HAS_D:
        u = tl.load(U + row + t, mask=m, other=0.0).to(tl.float32)
        tl.store(DDP + r.to(tl.int64) * ntiles + tile, tl.sum(g * u, axis=0))


@triton.jit
def _gather_kernel(CORR, G, Dv, OUT, C, L, n, off, HAS_D: tl.constexpr, BLOCK: tl.constexpr):
    """``OUT[r, t] = CORR[r, (t - off) mod n] (+ D[c] * G[r, t])``."""
    r = tl.program_id(0)
    t = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = t < L
    idx = t - off
    idx = tl.where(idx < 0, idx + n, idx)
    v = tl.load(CORR + r.to(tl.int64) * n + idx, mask=m, other=0.0)
    row = r.to(tl.int64) * L
    if HAS_D:
        v += tl.load(Dv + r % C).to(tl.float32) * tl.load(G + row + t, mask=m, other=0.0)
    tl.store(OUT + row + t, v.to(OUT.dtype.element_ty), mask=m)


def _block(n: int, cap: int = 1024) -> int:
    return max(16, min(cap, triton.next_power_of_2(n)))


def _cmul(a: torch.Tensor, b: torch.Tensor, conj: bool) -> torch.Tensor:
    """complex64 ``a (Bt, C, F) * b (C, F)`` (or ``conj(b)``)."""
    out = torch.empty_like(a)
    total, CF = a.numel(), b.numel()
    BLOCK = _block(total)
    _cmul_kernel[(triton.cdiv(total, BLOCK),)](
        torch.view_as_real(a), torch.view_as_real(b), torch.view_as_real(out), total, CF,
        CONJ=conj, BLOCK=BLOCK, num_warps=4,
    )
    return out


def fftconv_fwd(u, k, D, gate, n, off, need_pre):
    """Returns (y ``(Bt, C, L)`` in u.dtype, pre = conv + D u float32 or None, U_f, K_f)."""
    Bt, C, L = u.shape
    uf = torch.fft.rfft(u.float(), n=n)
    kf = torch.fft.rfft(k.float(), n=n)
    full = torch.fft.irfft(_cmul(uf, kf, False), n=n)
    y = torch.empty_like(u)
    pre = torch.empty(u.shape, dtype=torch.float32, device=u.device) if (need_pre and gate is not None) else None
    BLOCK = _block(L)
    _fwd_epilogue_kernel[(Bt * C, triton.cdiv(L, BLOCK))](
        full, u, D if D is not None else u, gate if gate is not None else u, y,
        pre if pre is not None else full, C, L, n, off,
        HAS_D=D is not None, HAS_GATE=gate is not None, STORE_PRE=pre is not None,
        BLOCK=BLOCK, num_warps=4,
    )
    return y, pre, uf, kf


def fftconv_bwd(u, k, D, gate, pre, uf, kf, gy, n, off, needs):
    """Returns (du, dk, dD, dgate) (None where ``needs`` is False)."""
    Bt, C, L = u.shape
    Lk = k.shape[1]
    need_u, need_k, need_D, need_gate = needs
    gy = gy.contiguous()
    BLOCK = _block(L)
    ntiles = triton.cdiv(L, BLOCK)
    f32 = dict(dtype=torch.float32, device=u.device)
    g = torch.empty(u.shape, **f32)
    dgate = torch.empty_like(gate) if (gate is not None and need_gate) else None
    ddp = torch.empty(Bt * C, ntiles, **f32) if (D is not None and need_D) else None
    _bwd_prologue_kernel[(Bt * C, ntiles)](
        gy, gate if gate is not None else gy, pre if pre is not None else g, u, g,
        dgate if dgate is not None else g, ddp if ddp is not None else g, L, ntiles,
        HAS_GATE=gate is not None, NEED_DGATE=dgate is not None, HAS_D=ddp is not None,
        BLOCK=BLOCK, num_warps=4,
    )
    du = dk = dD = None
    if need_u or need_k:
        gf = torch.fft.rfft(g, n=n)
    if need_u:
        corr = torch.fft.irfft(_cmul(gf, kf, True), n=n)
        du = torch.empty_like(u)
        _gather_kernel[(Bt * C, ntiles)](
            corr, g, D if D is not None else g, du, C, L, n, off,
            HAS_D=D is not None, BLOCK=BLOCK, num_warps=4,
        )
    if need_k:
        F = gf.shape[-1]
        kcf = torch.empty(C, F, dtype=gf.dtype, device=u.device)
        CB = _block(C * F)
        _cmul_conj_reduce_kernel[(triton.cdiv(C * F, CB),)](
            torch.view_as_real(gf), torch.view_as_real(uf), torch.view_as_real(kcf), Bt, C * F,
            BLOCK=CB, num_warps=4,
        )
        corr_k = torch.fft.irfft(kcf, n=n)
        dk = torch.empty_like(k)
        KB = _block(Lk)
        _gather_kernel[(C, triton.cdiv(Lk, KB))](
            corr_k, g, g, dk, C, Lk, n, off, HAS_D=False, BLOCK=KB, num_warps=4,
        )
    if ddp is not None:
        dD = ddp.view(Bt, C, ntiles).sum((0, 2)).to(D.dtype)
    return du, dk, dD, dgate
