"""Fused Triton kernels of the AFNO block-diagonal complex MLP.

A program owns ``BLOCK_M`` tokens of one channel block. The hidden layer (``bs * hf`` wide) is
walked in chunks of ``BLOCK_H``: each chunk's ``relu(x W1 + b1)`` is computed with ``tl.dot``
and immediately multiplied into the ``(BLOCK_M, bs)`` output accumulator, so the hidden
activations never reach global memory. The backward recomputes the output (for the
soft-shrinkage mask) in a first pass and the hidden chunks in a second; weight and bias grads are
accumulated with float32 atomics. float32 inputs use IEEE fp32 dots (exact to float32
rounding); float16 inputs use TF32 dots. Accumulation is always float32.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _load_tile(ptr, rows, cols, rmask, cmask, rstride):
    return tl.load(ptr + rows[:, None] * rstride + cols[None, :], mask=rmask[:, None] & cmask[None, :], other=0.0).to(tl.float32)


@triton.jit
def _hidden(xr, xi, W1, B1, blk, nb, BS, H, hs, ii, im, PREC: tl.constexpr):
    """Pre-activations ``(hr, hi)`` of hidden chunk ``hs`` for tokens ``(xr, xi)``."""
    hm = hs < H
    w_off = blk * BS * H
    W1r = _load_tile(W1 + w_off, ii, hs, im, hm, H)
    W1i = _load_tile(W1 + nb * BS * H + w_off, ii, hs, im, hm, H)
    b1r = tl.load(B1 + blk * H + hs, mask=hm, other=0.0).to(tl.float32)
    b1i = tl.load(B1 + nb * H + blk * H + hs, mask=hm, other=0.0).to(tl.float32)
    hr = tl.dot(xr, W1r, input_precision=PREC) - tl.dot(xi, W1i, input_precision=PREC) + b1r[None, :]
    hi = tl.dot(xi, W1r, input_precision=PREC) + tl.dot(xr, W1i, input_precision=PREC) + b1i[None, :]
    return hr, hi, W1r, W1i


@triton.jit
def _hidden_chunk(xr, xi, W1, B1, W2, blk, nb, BS, H, h0, ii, im, PREC: tl.constexpr, BLOCK_H: tl.constexpr):
    """Hidden chunk ``hs = h0 .. h0 + BLOCK_H`` (valid ``hm``): pre-activations ``(hr, hi)``,
    activations ``relu`` of each, the chunk's ``W1`` tiles ``(BS, BLOCK_H)`` and ``W2`` tiles
    ``(BLOCK_H, BS)`` (real, imaginary)."""
    hs = h0 + tl.arange(0, BLOCK_H)
    hm = hs < H
    hr, hi, W1r, W1i = _hidden(xr, xi, W1, B1, blk, nb, BS, H, hs, ii, im, PREC)
    w_off = blk * H * BS
    W2r = _load_tile(W2 + w_off, hs, ii, hm, im, BS)
    W2i = _load_tile(W2 + nb * H * BS + w_off, hs, ii, hm, im, BS)
    return hs, hm, hr, hi, tl.maximum(hr, 0.0), tl.maximum(hi, 0.0), W1r, W1i, W2r, W2i


@triton.jit
def _output(xr, xi, W1, B1, W2, B2, blk, nb, BS, H, ii, im,
            PREC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_BS: tl.constexpr, BLOCK_H: tl.constexpr):
    """``o = relu(x W1 + b1) W2 + b2`` for one token tile, hidden layer walked in chunks."""
    accr = tl.zeros([BLOCK_M, BLOCK_BS], dtype=tl.float32)
    acci = tl.zeros([BLOCK_M, BLOCK_BS], dtype=tl.float32)
    for h0 in range(0, H, BLOCK_H):
        hs, hm, hr, hi, ar, ai, W1r, W1i, W2r, W2i = _hidden_chunk(
            xr, xi, W1, B1, W2, blk, nb, BS, H, h0, ii, im, PREC, BLOCK_H)
        accr += tl.dot(ar, W2r, input_precision=PREC) - tl.dot(ai, W2i, input_precision=PREC)
        acci += tl.dot(ai, W2r, input_precision=PREC) + tl.dot(ar, W2i, input_precision=PREC)
    b2r = tl.load(B2 + blk * BS + ii, mask=im, other=0.0).to(tl.float32)
    b2i = tl.load(B2 + nb * BS + blk * BS + ii, mask=im, other=0.0).to(tl.float32)
    return accr + b2r[None, :], acci + b2i[None, :]


@triton.jit
def _softshrink(v, lam):
    return tl.where(v > lam, v - lam, tl.where(v < -lam, v + lam, 0.0))


@triton.jit
def _token_tile(X, M, nb, BS, BLOCK_M: tl.constexpr, BLOCK_BS: tl.constexpr):
    """This program's tile: channel block ``blk``, channel lanes ``ii`` (valid ``im``), the
    interleaved offsets ``offs`` and mask ``m2`` of its ``(BLOCK_M, BLOCK_BS)`` tokens, and their
    real and imaginary parts ``(xr, xi)`` in float32 (X: interleaved complex ``(M, nb * BS, 2)``)."""
    pm = tl.program_id(0)
    blk = tl.program_id(1)
    ms = pm * BLOCK_M + tl.arange(0, BLOCK_M)
    ii = tl.arange(0, BLOCK_BS)
    mm = ms < M
    im = ii < BS
    offs = (ms.to(tl.int64)[:, None] * (nb * BS) + blk * BS + ii[None, :]) * 2
    m2 = mm[:, None] & im[None, :]
    xr = tl.load(X + offs, mask=m2, other=0.0).to(tl.float32)
    xi = tl.load(X + offs + 1, mask=m2, other=0.0).to(tl.float32)
    return blk, ii, im, offs, m2, xr, xi


@triton.jit
def _afno_fwd_kernel(
    X, W1, B1, W2, B2, Y, M, nb, BS, H, lam,
    PREC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_BS: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """X, Y: interleaved complex ``(M, nb * BS, 2)``."""
    blk, ii, im, offs, m2, xr, xi = _token_tile(X, M, nb, BS, BLOCK_M, BLOCK_BS)
    o_r, o_i = _output(xr, xi, W1, B1, W2, B2, blk, nb, BS, H, ii, im, PREC, BLOCK_M, BLOCK_BS, BLOCK_H)
    tl.store(Y + offs, _softshrink(o_r, lam).to(Y.dtype.element_ty), mask=m2)
    tl.store(Y + offs + 1, _softshrink(o_i, lam).to(Y.dtype.element_ty), mask=m2)


@triton.jit
def _afno_bwd_kernel(
    X, W1, B1, W2, B2, GY, GX, DW1, DB1, DW2, DB2, M, nb, BS, H, lam,
    PREC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_BS: tl.constexpr, BLOCK_H: tl.constexpr,
):
    blk, ii, im, offs, m2, xr, xi = _token_tile(X, M, nb, BS, BLOCK_M, BLOCK_BS)
    # pass 1: recompute the output for the shrinkage mask
    o_r, o_i = _output(xr, xi, W1, B1, W2, B2, blk, nb, BS, H, ii, im, PREC, BLOCK_M, BLOCK_BS, BLOCK_H)
    gor = tl.load(GY + offs, mask=m2, other=0.0).to(tl.float32)
    goi = tl.load(GY + offs + 1, mask=m2, other=0.0).to(tl.float32)
    gor = tl.where(tl.abs(o_r) > lam, gor, 0.0)
    goi = tl.where(tl.abs(o_i) > lam, goi, 0.0)
    tl.atomic_add(DB2 + blk * BS + ii, tl.sum(gor, axis=0), mask=im)
    tl.atomic_add(DB2 + nb * BS + blk * BS + ii, tl.sum(goi, axis=0), mask=im)
    gxr = tl.zeros([BLOCK_M, BLOCK_BS], dtype=tl.float32)
    gxi = tl.zeros([BLOCK_M, BLOCK_BS], dtype=tl.float32)
    # pass 2: hidden chunks
    for h0 in range(0, H, BLOCK_H):
        hs, hm, hr, hi, ar, ai, W1r, W1i, W2r, W2i = _hidden_chunk(
            xr, xi, W1, B1, W2, blk, nb, BS, H, h0, ii, im, PREC, BLOCK_H)
        # transposed W2 chunk tiles: (BLOCK_BS, BLOCK_H)
        W2rT = tl.trans(W2r)
        W2iT = tl.trans(W2i)
        gar = tl.dot(gor, W2rT, input_precision=PREC) + tl.dot(goi, W2iT, input_precision=PREC)
        gai = tl.dot(goi, W2rT, input_precision=PREC) - tl.dot(gor, W2iT, input_precision=PREC)
        ghr = tl.where(hr > 0.0, gar, 0.0)
        ghi = tl.where(hi > 0.0, gai, 0.0)
        W1rT = tl.trans(W1r)
        W1iT = tl.trans(W1i)
        gxr += tl.dot(ghr, W1rT, input_precision=PREC) + tl.dot(ghi, W1iT, input_precision=PREC)
        gxi += tl.dot(ghi, W1rT, input_precision=PREC) - tl.dot(ghr, W1iT, input_precision=PREC)
        xrT = tl.trans(xr)
        xiT = tl.trans(xi)
        dw1r = tl.dot(xrT, ghr, input_precision=PREC) + tl.dot(xiT, ghi, input_precision=PREC)
        dw1i = tl.dot(xrT, ghi, input_precision=PREC) - tl.dot(xiT, ghr, input_precision=PREC)
        w1_ptr = DW1 + blk * BS * H + ii[:, None] * H + hs[None, :]
        mw1 = im[:, None] & hm[None, :]
        tl.atomic_add(w1_ptr, dw1r, mask=mw1)
        tl.atomic_add(w1_ptr + nb * BS * H, dw1i, mask=mw1)
        tl.atomic_add(DB1 + blk * H + hs, tl.sum(ghr, axis=0), mask=hm)
        tl.atomic_add(DB1 + nb * H + blk * H + hs, tl.sum(ghi, axis=0), mask=hm)
        arT = tl.trans(ar)
        aiT = tl.trans(ai)
        dw2r = tl.dot(arT, gor, input_precision=PREC) + tl.dot(aiT, goi, input_precision=PREC)
        dw2i = tl.dot(arT, goi, input_precision=PREC) - tl.dot(aiT, gor, input_precision=PREC)
        w2_ptr = DW2 + blk * H * BS + hs[:, None] * BS + ii[None, :]
        mw2 = hm[:, None] & im[None, :]
        tl.atomic_add(w2_ptr, dw2r, mask=mw2)
        tl.atomic_add(w2_ptr + nb * H * BS, dw2i, mask=mw2)
    tl.store(GX + offs, gxr.to(GX.dtype.element_ty), mask=m2)
    tl.store(GX + offs + 1, gxi.to(GX.dtype.element_ty), mask=m2)


def _launch(xr: torch.Tensor, w1: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int, int, int], dict]:
    """``(grid, (M, nb, bs, H), meta)`` of a forward or backward launch on ``xr (M, C, 2)`` with
    ``w1 (2, nb, bs, H)``: block sizes (every tl.dot dim >= 16; weight tiles ``(BLOCK_BS, BLOCK_H)``
    kept <= 4096), one program per ``BLOCK_M`` tokens of one channel block."""
    M = xr.shape[0]
    nb, bs, H = w1.shape[1:]
    block_bs = max(16, triton.next_power_of_2(bs))
    meta = dict(
        PREC="ieee" if xr.dtype == torch.float32 else "tf32",
        BLOCK_M=32,
        BLOCK_BS=block_bs,
        BLOCK_H=max(16, min(64, triton.next_power_of_2(H), 4096 // block_bs)),
        num_warps=8 if block_bs >= 64 else 4,
    )
    return (triton.cdiv(M, meta["BLOCK_M"]), nb), (M, nb, bs, H), meta


def afno_fwd(xr: torch.Tensor, w1, b1, w2, b2, lam: float) -> torch.Tensor:
    """xr: contiguous real view ``(M, C, 2)``; returns the same layout."""
    grid, dims, meta = _launch(xr, w1)
    y = torch.empty_like(xr)
    _afno_fwd_kernel[grid](xr, w1, b1, w2, b2, y, *dims, lam, **meta)
    return y


def afno_bwd(xr, w1, b1, w2, b2, lam, gy):
    """Returns (gx in xr's layout/dtype, dw1, db1, dw2, db2 in the weights' dtypes)."""
    grid, dims, meta = _launch(xr, w1)
    f32 = dict(dtype=torch.float32, device=xr.device)
    gx = torch.empty_like(xr)
    dw1, db1 = torch.zeros(w1.shape, **f32), torch.zeros(b1.shape, **f32)
    dw2, db2 = torch.zeros(w2.shape, **f32), torch.zeros(b2.shape, **f32)
    _afno_bwd_kernel[grid](xr, w1, b1, w2, b2, gy.contiguous(), gx, dw1, db1, dw2, db2, *dims, lam, **meta)
    return gx, dw1.to(w1.dtype), db1.to(b1.dtype), dw2.to(w2.dtype), db2.to(b2.dtype)
