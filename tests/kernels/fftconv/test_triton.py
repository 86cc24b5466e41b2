"""Triton-fused fftconv (interpreter on CPU, float32) against the PyTorch reference."""

from __future__ import annotations

import pytest
import torch
from tests.support import rel_err

from signalkit.kernels import fftconv

TOL = 1e-5


def run(u, k, D, gate, causal, backend):
    leaves = [None if t is None else t.detach().clone().requires_grad_(True) for t in (u, k, D, gate)]
    y = fftconv(leaves[0], leaves[1], leaves[2], gate=leaves[3], causal=causal, backend=backend)
    gy = torch.randn(y.shape, generator=torch.Generator(device=y.device).manual_seed(3), device=y.device)
    y.backward(gy)
    return y.detach(), [None if t is None else t.grad for t in leaves]


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("L,Lk,use_D,use_gate", [(37, 37, True, True), (37, 8, False, True), (40, 7, True, False), (23, 1, False, False)])
def test_fftconv_triton_matches_reference(L, Lk, use_D, use_gate, causal):
    g = torch.Generator().manual_seed(0)
    u = torch.randn(2, 3, L, generator=g)
    k = torch.randn(3, Lk, generator=g) / Lk**0.5
    D = torch.randn(3, generator=g) if use_D else None
    gate = torch.randn(2, 3, L, generator=g) if use_gate else None
    y, grads = run(u, k, D, gate, causal, "triton")
    y_ref, grads_ref = run(u, k, D, gate, causal, "torch")
    assert y.dtype == u.dtype
    assert rel_err(y, y_ref) < TOL
    for name, a, b in zip(("u", "k", "D", "gate"), grads, grads_ref):
        if b is None:
            assert a is None
            continue
        assert a.shape == b.shape
        assert rel_err(a, b) < TOL, name


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.bfloat16, 2e-2)])
def test_fftconv_triton_gpu(dtype, tol):
    g = torch.Generator(device="cuda").manual_seed(0)
    u = torch.randn(4, 64, 8192, device="cuda", generator=g)
    k = torch.randn(64, 8192, device="cuda", generator=g) / 90
    D = torch.randn(64, device="cuda", generator=g)
    gate = torch.randn(4, 64, 8192, device="cuda", generator=g)
    u, gate = u.to(dtype), gate.to(dtype)
    y, grads = run(u, k, D, gate, True, "triton")
    y_ref, grads_ref = run(u.double(), k.double(), D.double(), gate.double(), True, "torch")
    assert rel_err(y, y_ref) < tol
    for a, b in zip(grads, grads_ref):
        assert rel_err(a, b) < tol
