"""dwconv (backend="torch") against a naive loop / conv1d in float64, gradcheck, argument and shape errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from signalkit.errors import KernelError
from signalkit.kernels import dwconv
from tests.support import gen, rel_err

TOL = 1e-12
f64 = torch.float64


def naive_dwconv(x, w, b, axis, dilation, causal, activation):
    xt = x.movedim(axis, -1)
    C, K = w.shape
    L = xt.shape[-1]
    total = dilation * (K - 1)
    left = total if causal else total // 2
    y = torch.zeros_like(xt)
    for l in range(L):
        for k in range(K):
            src = l + k * dilation - left
            if 0 <= src < L:
                y[..., l] += w[:, k].view(1, C, *([1] * (xt.dim() - 3))) * xt[..., src]
    if b is not None:
        y = y + b.view(1, C, *([1] * (xt.dim() - 2)))
    if activation == "gelu":
        y = 0.5 * y * (1 + torch.erf(y / math.sqrt(2)))
    elif activation == "silu":
        y = y * torch.sigmoid(y)
    return y.movedim(-1, axis)


@pytest.mark.parametrize(
    "grid,axis,K,dilation,causal,activation",
    [
        ((37,), -1, 7, 1, False, None),
        ((37,), 2, 8, 2, True, "gelu"),
        ((11, 13), 2, 5, 1, False, "silu"),
        ((11, 13), -1, 6, 3, False, None),
        ((5, 6, 9), 3, 4, 1, True, "gelu"),
        ((5, 6, 9), -1, 1, 1, False, None),
        ((20,), -1, 31, 1, False, None),  # kernel longer than the signal
    ],
)
def test_dwconv_matches_naive(grid, axis, K, dilation, causal, activation):
    g = gen(1)
    x = torch.randn(2, 3, *grid, generator=g, dtype=f64)
    w = torch.randn(3, K, generator=g, dtype=f64)
    b = torch.randn(3, generator=g, dtype=f64)
    out = dwconv(x, w, b, axis=axis, dilation=dilation, causal=causal, activation=activation, backend="torch")
    ref = naive_dwconv(x, w, b, axis % x.dim(), dilation, causal, activation)
    assert out.shape == x.shape
    assert rel_err(out, ref) < TOL


def test_dwconv_same_padding_matches_conv1d_odd_kernel():
    g = gen(2)
    x = torch.randn(2, 4, 40, generator=g, dtype=f64)
    w = torch.randn(4, 9, generator=g, dtype=f64)
    out = dwconv(x, w, backend="torch", dilation=2)
    ref = F.conv1d(x, w.unsqueeze(1), padding="same", dilation=2, groups=4)
    assert rel_err(out, ref) < TOL


def test_dwconv_causal_does_not_see_future():
    g = gen(3)
    x = torch.randn(1, 2, 30, generator=g, dtype=f64)
    w = torch.randn(2, 7, generator=g, dtype=f64)
    y1 = dwconv(x, w, causal=True, dilation=2, backend="torch")
    x2 = x.clone()
    x2[..., 20:] += 1.0
    y2 = dwconv(x2, w, causal=True, dilation=2, backend="torch")
    assert torch.equal(y1[..., :20], y2[..., :20])


def test_dwconv_gradcheck():
    g = gen(4)
    x = torch.randn(1, 2, 4, 7, generator=g, dtype=f64, requires_grad=True)
    w = torch.randn(2, 4, generator=g, dtype=f64, requires_grad=True)
    b = torch.randn(2, generator=g, dtype=f64, requires_grad=True)
    fn = lambda x, w, b: dwconv(x, w, b, axis=2, dilation=2, activation="gelu", backend="torch")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w, b))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(axis=1), "axis"),
        (dict(axis=0), "axis"),
        (dict(axis=5), "axis"),
        (dict(dilation=0), "dilation"),
        (dict(activation="relu"), "activation"),
        (dict(backend="cuda"), "backend"),
    ],
)
def test_dwconv_rejects_bad_arguments(kwargs, match):
    x, w = torch.randn(1, 3, 10), torch.randn(3, 3)
    with pytest.raises(KernelError, match=match):
        dwconv(x, w, **kwargs)


def test_dwconv_rejects_bad_shapes():
    with pytest.raises(KernelError, match="weight"):
        dwconv(torch.randn(1, 3, 10), torch.randn(4, 3))
    with pytest.raises(KernelError, match="weight"):
        dwconv(torch.randn(1, 3, 300), torch.randn(3, 256))
    with pytest.raises(KernelError, match="bias"):
        dwconv(torch.randn(1, 3, 10), torch.randn(3, 3), torch.randn(2))
    with pytest.raises(KernelError, match="x"):
        dwconv(torch.randn(3, 10), torch.randn(3, 3))
