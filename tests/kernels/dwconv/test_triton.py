"""Triton dwconv (interpreter on CPU, float32) against the PyTorch reference: output and grads."""

from __future__ import annotations

import pytest
import torch
from tests.support import rel_err

from signalkit.kernels import dwconv

TOL = 1e-5


def _run(x, w, b, backend, **kw):
    x = x.detach().clone().requires_grad_(True)
    w = w.detach().clone().requires_grad_(True)
    b = None if b is None else b.detach().clone().requires_grad_(True)
    y = dwconv(x, w, b, backend=backend, **kw)
    gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(99)).to(y.device)
    y.backward(gy)
    return y.detach(), x.grad, w.grad, None if b is None else b.grad


@pytest.mark.parametrize(
    "grid,axis,K,dilation,causal,activation,bias",
    [
        ((37,), -1, 7, 1, False, None, True),
        ((37,), -1, 31, 1, True, "gelu", True),
        ((37,), 2, 8, 2, False, "silu", False),
        ((37,), -1, 31, 2, False, None, True),
        ((9, 10), 2, 7, 2, True, "silu", True),
        ((9, 10), -1, 6, 1, False, "gelu", False),
        ((4, 5, 6), 3, 7, 1, False, None, True),
        ((4, 5, 6), 2, 3, 2, True, "gelu", True),
    ],
)
def test_dwconv_triton_matches_reference(grid, axis, K, dilation, causal, activation, bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *grid, generator=g)
    w = torch.randn(3, K, generator=g) / K**0.5
    b = torch.randn(3, generator=g) if bias else None
    kw = dict(axis=axis, dilation=dilation, causal=causal, activation=activation)
    out = _run(x, w, b, "triton", **kw)
    ref = _run(x, w, b, "torch", **kw)
    for name, o, r in zip(("y", "grad_x", "grad_w", "grad_b"), out, ref):
        if r is None:
            assert o is None
            continue
        assert o.shape == r.shape and o.dtype == r.dtype
        assert rel_err(o, r) < TOL, name


def test_dwconv_triton_noncontiguous_input_and_no_grad():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 13, 3, generator=g).transpose(1, 2)  # (2, 3, 13), non-contiguous
    w = torch.randn(3, 5, generator=g)
    y = dwconv(x, w, backend="triton")
    assert rel_err(y, dwconv(x, w, backend="torch")) < TOL


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float16, 2e-3), (torch.bfloat16, 1e-2)])
def test_dwconv_triton_gpu(dtype, tol):
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(4, 64, 4096, device="cuda", generator=g)
    w = torch.randn(64, 63, device="cuda", generator=g) / 8
    b = torch.randn(64, device="cuda", generator=g)
    x, w, b = x.to(dtype), w.to(dtype), b.to(dtype)
    out = _run(x, w, b, "triton", dilation=2, activation="gelu")
    ref = _run(x.double(), w.double(), b.double(), "torch", dilation=2, activation="gelu")
    for o, r in zip(out, ref):
        assert o.dtype == dtype
        assert rel_err(o, r) < tol
