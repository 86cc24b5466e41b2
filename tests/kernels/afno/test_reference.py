"""AFNO spectral MLP (backend="torch") against a naive loop in float64, gradcheck, shape errors."""

from __future__ import annotations

import pytest
import torch

from signalkit.errors import KernelError
from signalkit.kernels import afno_mlp
from tests.support import gen, rel_err

TOL = 1e-12
f64 = torch.float64


def naive_afno(xf, w1, b1, w2, b2, lam):
    W1 = torch.complex(w1[0], w1[1])
    B1 = torch.complex(b1[0], b1[1])
    W2 = torch.complex(w2[0], w2[1])
    B2 = torch.complex(b2[0], b2[1])
    nb, bs = w1.shape[1], w1.shape[2]
    flat = xf.reshape(-1, nb, bs)
    out = torch.zeros_like(flat)
    for i in range(flat.shape[0]):
        for blk in range(nb):
            h = flat[i, blk] @ W1[blk] + B1[blk]
            h = torch.complex(h.real.clamp_min(0), h.imag.clamp_min(0))
            o = h @ W2[blk] + B2[blk]

            def shrink(v):
                return torch.sign(v) * (v.abs() - lam).clamp_min(0)

            out[i, blk] = torch.complex(shrink(o.real), shrink(o.imag))
    return out.reshape(xf.shape)


def afno_inputs(shape=(2, 3, 5), nb=2, bs=4, hf=2, seed=7, requires_grad=False):
    g = gen(seed)
    xf = torch.randn(*shape, nb * bs, generator=g, dtype=torch.complex128, requires_grad=requires_grad)
    w1 = (0.5 * torch.randn(2, nb, bs, bs * hf, generator=g, dtype=f64)).requires_grad_(requires_grad)
    b1 = (0.5 * torch.randn(2, nb, bs * hf, generator=g, dtype=f64)).requires_grad_(requires_grad)
    w2 = (0.5 * torch.randn(2, nb, bs * hf, bs, generator=g, dtype=f64)).requires_grad_(requires_grad)
    b2 = (0.5 * torch.randn(2, nb, bs, generator=g, dtype=f64)).requires_grad_(requires_grad)
    return xf, w1, b1, w2, b2


def test_afno_matches_naive():
    args = afno_inputs()
    out = afno_mlp(*args, sparsity_threshold=0.1, backend="torch")
    assert out.dtype == torch.complex128 and out.shape == args[0].shape
    assert rel_err(out, naive_afno(*args, 0.1)) < TOL


def test_afno_gradcheck():
    args = afno_inputs(shape=(3,), nb=2, bs=2, hf=1, requires_grad=True)
    fn = lambda *a: afno_mlp(*a, sparsity_threshold=0.05, backend="torch")  # noqa: E731
    assert torch.autograd.gradcheck(fn, args)


def test_afno_rejects_bad_shapes():
    xf, w1, b1, w2, b2 = afno_inputs()
    with pytest.raises(KernelError, match="xf"):
        afno_mlp(xf.real, w1, b1, w2, b2)
    with pytest.raises(KernelError, match="xf"):
        afno_mlp(xf[..., :7], w1, b1, w2, b2)
    with pytest.raises(KernelError, match="b1"):
        afno_mlp(xf, w1, b1[:, :, :3], w2, b2)
