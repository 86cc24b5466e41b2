"""The banded-matrix CPU path of dwconv against the conv1d reference: outputs and gradients."""

from __future__ import annotations

import pytest
import torch

from signalkit.kernels import dwconv
from signalkit.kernels.dwconv.banded import dwconv_banded, use_banded
from signalkit.kernels.dwconv.reference import dwconv_reference


def _grads(fn, x, w, b, **kw):
    x, w = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    b = None if b is None else b.clone().requires_grad_(True)
    y = fn(x, w, b, **kw)
    y.backward(torch.randn(y.shape, generator=torch.Generator().manual_seed(7), dtype=y.dtype))
    return y.detach(), x.grad, w.grad, None if b is None else b.grad


@pytest.mark.parametrize(
    "grid,axis,K,dilation,causal,activation,bias",
    [
        ((20, 19), 2, 31, 1, False, None, True),  # kernel longer than the axis
        ((20, 19), 3, 31, 1, True, "gelu", True),
        ((9, 10), 2, 7, 2, True, "silu", True),
        ((9, 10), 3, 6, 1, False, "gelu", False),  # even kernel
        ((37, 5), 2, 8, 3, False, None, True),
        ((4, 5, 6), 3, 7, 1, False, None, True),
        ((4, 5, 6), 4, 3, 2, True, "gelu", True),
        ((1, 13), 3, 5, 1, False, None, False),  # length-1 other axis
    ],
)
def test_banded_matches_conv1d(grid, axis, K, dilation, causal, activation, bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, *grid, generator=g, dtype=torch.float64)
    w = torch.randn(4, K, generator=g, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64) if bias else None
    kw = dict(axis=axis, dilation=dilation, causal=causal, activation=activation)
    out = _grads(dwconv_banded, x, w, b, **kw)
    ref = _grads(dwconv_reference, x, w, b, **kw)
    for name, o, r in zip(("y", "grad_x", "grad_w", "grad_b"), out, ref):
        if r is None:
            assert o is None
            continue
        torch.testing.assert_close(o, r, rtol=1e-10, atol=1e-10, msg=name)


def test_banded_causal_never_sees_the_future():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 12, 7, generator=g)
    w = torch.randn(3, 9, generator=g)
    y = dwconv_banded(x, w, axis=2, causal=True)
    x2 = x.clone()
    x2[:, :, 6:] = torch.randn(2, 3, 6, 7, generator=g)
    torch.testing.assert_close(dwconv_banded(x2, w, axis=2, causal=True)[:, :, :6], y[:, :, :6])


def test_routing_short_grid_axes_only():
    grid = torch.zeros(2, 8, 20, 19)
    assert use_banded(grid, 31, 1, 2) and use_banded(grid, 31, 1, 3)
    assert not use_banded(torch.zeros(2, 8, 4096), 31, 1, 2)  # 1-D sequences: conv1d
    assert not use_banded(torch.zeros(1, 2, 512, 4), 31, 1, 2)  # long axis: conv1d
    assert not use_banded(torch.zeros(1, 2, 200, 4), 7, 1, 2)  # axis much longer than the kernel
    x = torch.randn(2, 8, 20, 19)
    w = torch.randn(8, 31)
    torch.testing.assert_close(dwconv(x, w, axis=2, backend="torch"), dwconv_reference(x, w, axis=2),
                               rtol=1e-5, atol=1e-5)
