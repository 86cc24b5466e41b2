"""float16/bfloat16 through the Triton kernels (interpreter): float32 accumulation, outputs in the
input dtype, compared with the float64 reference evaluated on the same (rounded) inputs."""

from __future__ import annotations

import pytest
import torch
from tests.support import rel_err

from signalkit.kernels import dwconv, fftconv, selective_scan

TOLS = {torch.float16: 3e-3, torch.bfloat16: 2e-2}
DTYPES = list(TOLS)


def _leaves(ts, dtype=None):
    out = []
    for t in ts:
        t = t if dtype is None else t.to(dtype)
        out.append(t.detach().clone().requires_grad_(True))
    return out


def _check(fn, low, tol):
    """Run ``fn`` on ``low`` (triton) and on their float64 copies (torch); compare y and grads."""
    ref = _leaves(low, torch.float64)
    y = fn(*low, backend="triton")
    y_ref = fn(*ref, backend="torch")
    assert y.dtype == low[0].dtype
    gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(0))
    y.backward(gy.to(y.dtype))
    y_ref.backward(gy.to(y.dtype).double())
    assert rel_err(y, y_ref) < tol
    for a, b in zip(low, ref):
        assert a.grad.dtype == a.dtype
        assert rel_err(a.grad, b.grad) < tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_dwconv_low_precision(dtype):
    g = torch.Generator().manual_seed(1)
    x, w, b = torch.randn(2, 3, 37, generator=g), torch.randn(3, 7, generator=g) / 3, torch.randn(3, generator=g)
    fn = lambda x, w, b, backend: dwconv(x, w, b, dilation=2, activation="silu", backend=backend)  # noqa: E731
    _check(fn, _leaves((x, w, b), dtype), TOLS[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_fftconv_low_precision(dtype):
    g = torch.Generator().manual_seed(2)
    u, k, D = torch.randn(2, 3, 37, generator=g), torch.randn(3, 9, generator=g) / 3, torch.randn(3, generator=g)
    gate = torch.randn(2, 3, 37, generator=g)
    fn = lambda u, k, D, gate, backend: fftconv(u, k, D, gate=gate, backend=backend)  # noqa: E731
    _check(fn, _leaves((u, k, D, gate), dtype), TOLS[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_selective_scan_low_precision(dtype):
    g = torch.Generator().manual_seed(3)
    u, delta = torch.randn(2, 4, 37, generator=g), torch.randn(2, 4, 37, generator=g)
    A = -torch.rand(4, 5, generator=g) - 0.1
    B, C, z = torch.randn(2, 5, 37, generator=g), torch.randn(2, 5, 37, generator=g), torch.randn(2, 4, 37, generator=g)
    fn = lambda u, delta, A, B, C, z, backend: selective_scan(  # noqa: E731
        u, delta, A, B, C, z=z, delta_softplus=True, backend=backend
    )
    _check(fn, _leaves((u, delta, A, B, C, z), dtype), TOLS[dtype])
