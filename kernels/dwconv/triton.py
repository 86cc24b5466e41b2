"""Triton kernels of the depthwise long convolution (forward, grad x, grad weight/bias).

``x`` (contiguous) is viewed as ``(rows, L, POST)`` with ``rows = B * C * PRE``: ``PRE`` and ``POST``
are the products of the grid axes before and after the convolved axis, and row ``r`` belongs to
channel ``(r // PRE) % C``. A program owns one row and a tile of ``BLOCK`` consecutive flattened
``(l, q)`` positions; the K taps are a loop of shifted, masked loads of the same input tile, so
for long kernels the tile (plus its halo) is re-read from L1/L2 rather than from HBM. The
padding, bias, activation and, in backward, the activation derivative are fused; nothing padded
is ever materialised. Accumulation is float32 for every input dtype.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

ACT_CODES = {None: 0, "gelu": 1, "silu": 2}


@triton.jit
def _act_fwd(v, ACT: tl.constexpr):
    if ACT == 1:
        v = 0.5 * v * (1.0 + tl.math.erf(v * 0.7071067811865476))
    elif ACT == 2:
        v = v * tl.sigmoid(v)
    return v


@triton.jit
def _act_grad(v, ACT: tl.constexpr):
    """Derivative of the activation at pre-activation ``v``."""
    if ACT == 1:
        cdf = 0.5 * (1.0 + tl.math.erf(v * 0.7071067811865476))
        pdf = tl.exp(-0.5 * v * v) * 0.3989422804014327
        d = cdf + v * pdf
    elif ACT == 2:
        s = tl.sigmoid(v)
        d = s * (1.0 + v * (1.0 - s))
    else:
        d = tl.full(v.shape, 1.0, tl.float32)
    return d


@triton.jit
def _dwconv_tap_kernel(
    X, W, Bias, Y, GY,
    C, PRE, L, POST, K, step, shift,
    HAS_BIAS: tl.constexpr, ACT: tl.constexpr, MODE: tl.constexpr, BLOCK: tl.constexpr,
):
    """``acc[l] = sum_k W[c, k] * X[l + k * step + shift] (+ bias)``.

    MODE 0 stores ``act(acc)`` into Y; MODE 1 stores ``GY * act'(acc)`` (float32) into Y.
    Forward: ``step = dilation, shift = -left``. Grad x: ``step = -dilation, shift = left``.
    """
    r = tl.program_id(0)
    pid = tl.program_id(1)
    c = (r // PRE) % C
    LP = L * POST
    base = r.to(tl.int64) * LP
    p = pid * BLOCK + tl.arange(0, BLOCK)
    pm = p < LP
    l = p // POST
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for k in range(0, K):
        w = tl.load(W + c * K + k).to(tl.float32)
        off = k * step + shift
        src = l + off
        m = pm & (src >= 0) & (src < L)
        xv = tl.load(X + base + p + off * POST, mask=m, other=0.0).to(tl.float32)
        acc += w * xv
    if HAS_BIAS:
        acc += tl.load(Bias + c).to(tl.float32)
    if MODE == 0:
        out = _act_fwd(acc, ACT)
        tl.store(Y + base + p, out.to(Y.dtype.element_ty), mask=pm)
    else:
        gy = tl.load(GY + base + p, mask=pm, other=0.0).to(tl.float32)
        tl.store(Y + base + p, gy * _act_grad(acc, ACT), mask=pm)


@triton.jit
def _dwconv_wgrad_kernel(
    X, G, DW, DB,
    L, POST, K, dilation, left, per_split, nsplit,
    BLOCK_K: tl.constexpr, BLOCK: tl.constexpr,
):
    """Partial ``dW[r, s, k] = sum_p G[p] * X[p + (k * dilation - left) * POST]`` and
    ``dB[r, s] = sum_p G[p]`` over the positions of split ``s`` of row ``r``."""
    r = tl.program_id(0)
    kb = tl.program_id(1)
    s = tl.program_id(2)
    LP = L * POST
    base = r.to(tl.int64) * LP
    ks = kb * BLOCK_K + tl.arange(0, BLOCK_K)
    km = ks < K
    off = ks * dilation - left
    acc = tl.zeros([BLOCK_K, BLOCK], dtype=tl.float32)
    accb = tl.zeros([BLOCK], dtype=tl.float32)
    start0 = s * per_split
    for start in range(start0, start0 + per_split, BLOCK):
        p = start + tl.arange(0, BLOCK)
        pm = p < LP
        l = p // POST
        g = tl.load(G + base + p, mask=pm, other=0.0).to(tl.float32)
        src = l[None, :] + off[:, None]
        m = pm[None, :] & km[:, None] & (src >= 0) & (src < L)
        xv = tl.load(X + base + p[None, :] + off[:, None] * POST, mask=m, other=0.0).to(tl.float32)
        acc += g[None, :] * xv
        accb += g
    row_out = (r * nsplit + s).to(tl.int64)
    tl.store(DW + row_out * K + ks, tl.sum(acc, axis=1), mask=km)
    if kb == 0:
        tl.store(DB + row_out, tl.sum(accb, axis=0))


def _geometry(x: torch.Tensor, axis: int) -> tuple[int, int, int, int]:
    """(rows, PRE, L, POST) of the ``(rows, L, POST)`` view of contiguous ``x``."""
    shape = x.shape
    pre = 1
    for s in shape[2:axis]:
        pre *= s
    post = 1
    for s in shape[axis + 1 :]:
        post *= s
    return shape[0] * shape[1] * pre, pre, shape[axis], post


def _block(n: int, cap: int = 1024) -> int:
    return max(16, min(cap, triton.next_power_of_2(n)))


def _taps(x, w, bias, out, gy, axis, step, shift, act, mode) -> None:
    rows, pre, L, post = _geometry(x, axis)
    BLOCK = _block(L * post)
    grid = (rows, triton.cdiv(L * post, BLOCK))
    _dwconv_tap_kernel[grid](
        x, w, bias if bias is not None else w, out, gy if gy is not None else x,
        x.shape[1], pre, L, post, w.shape[1], step, shift,
        HAS_BIAS=bias is not None, ACT=act, MODE=mode, BLOCK=BLOCK,
        num_warps=4 if BLOCK <= 512 else 8,
    )


def dwconv_fwd(x, weight, bias, axis, dilation, left, activation) -> torch.Tensor:
    """Forward. x contiguous ``(B, C, *grid)``; returns ``(B, C, *grid)`` in x.dtype."""
    y = torch.empty_like(x)
    _taps(x, weight, bias, y, None, axis, dilation, -left, ACT_CODES[activation], 0)
    return y


def dwconv_bwd(x, weight, bias, grad_y, axis, dilation, left, activation, need_x, need_w, need_b):
    """Backward: returns (grad_x, grad_weight, grad_bias) (None where not needed)."""
    act = ACT_CODES[activation]
    grad_y = grad_y.contiguous()
    if act:
        g = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        _taps(x, weight, bias, g, grad_y, axis, dilation, -left, act, 1)
    else:
        g = grad_y
    gx = gw = gb = None
    if need_x:
        gx = torch.empty_like(x)
        _taps(g, weight, None, gx, None, axis, -dilation, left, 0, 0)
    if need_w or need_b:
        rows, pre, L, post = _geometry(x, axis)
        K = weight.shape[1]
        LP = L * post
        BLOCK = _block(LP, 256)
        BLOCK_K = min(16, triton.next_power_of_2(K))
        tiles = triton.cdiv(LP, BLOCK)
        nsplit = max(1, min(tiles, triton.cdiv(2048, rows)))
        per_split = triton.cdiv(tiles, nsplit) * BLOCK
        nsplit = triton.cdiv(LP, per_split)
        dw = torch.empty(rows, nsplit, K, dtype=torch.float32, device=x.device)
        db = torch.empty(rows, nsplit, dtype=torch.float32, device=x.device)
        grid = (rows, triton.cdiv(K, BLOCK_K), nsplit)
        _dwconv_wgrad_kernel[grid](
            x, g, dw, db, L, post, K, dilation, left, per_split, nsplit,
            BLOCK_K=BLOCK_K, BLOCK=BLOCK, num_warps=4,
        )
        B, C = x.shape[:2]
        if need_w:
            gw = dw.view(B, C, pre * nsplit, K).sum((0, 2)).to(weight.dtype)
        if need_b:
            gb = db.view(B, C, pre * nsplit).sum((0, 2)).to(bias.dtype)
    return gx, gw, gb
