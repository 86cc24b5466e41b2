"""Fused Triton AFNO MLP (interpreter on CPU, float32) against the PyTorch reference."""

from __future__ import annotations

import pytest
import torch
from tests.support import rel_err

from signalkit.kernels import afno_mlp

TOL = 1e-5


def make(shape, nb, bs, hf, device="cpu", seed=0):
    g = torch.Generator(device=device).manual_seed(seed)

    def r(*s, scale=1.0):
        return scale * torch.randn(*s, generator=g, device=device)

    xf = torch.complex(r(*shape, nb * bs), r(*shape, nb * bs))
    H = bs * hf
    return [xf, r(2, nb, bs, H, scale=bs**-0.5), r(2, nb, H, scale=0.3), r(2, nb, H, bs, scale=H**-0.5), r(2, nb, bs, scale=0.3)]


def run(args, lam, backend):
    leaves = [a.detach().clone().requires_grad_(True) for a in args]
    y = afno_mlp(*leaves, sparsity_threshold=lam, backend=backend)
    g = torch.Generator(device=y.device).manual_seed(2)
    gy = torch.complex(torch.randn(y.shape, generator=g, device=y.device), torch.randn(y.shape, generator=g, device=y.device))
    y.backward(gy)
    return y.detach(), [a.grad for a in leaves]


@pytest.mark.parametrize(
    "shape,nb,bs,hf,lam",
    [((2, 5, 3), 2, 4, 1, 0.01), ((37,), 3, 5, 2, 0.1), ((4, 9), 1, 8, 3, 0.0), ((7,), 2, 9, 8, 0.02)],  # last: 2 hidden chunks
)
def test_afno_triton_matches_reference(shape, nb, bs, hf, lam):
    args = make(shape, nb, bs, hf)
    y, grads = run(args, lam, "triton")
    y_ref, grads_ref = run(args, lam, "torch")
    assert y.dtype == torch.complex64 and y.shape == y_ref.shape
    assert rel_err(y, y_ref) < TOL
    for name, a, b in zip(("xf", "w1", "b1", "w2", "b2"), grads, grads_ref):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert rel_err(a, b) < TOL, name


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_afno_triton_gpu():
    args = make((2, 64, 33), 8, 96, 1, device="cuda")
    y, grads = run(args, 0.01, "triton")
    y_ref, grads_ref = run(args, 0.01, "torch")
    assert rel_err(y, y_ref) < 1e-5
    for a, b in zip(grads, grads_ref):
        assert rel_err(a, b) < 1e-4
