"""fftconv (backend="torch") against a naive loop in float64, fast FFT lengths, gradcheck, shape errors."""

from __future__ import annotations

import pytest
import torch

from signalkit.errors import KernelError
from signalkit.kernels import fftconv
from signalkit.kernels.fftconv import next_fast_len
from tests.support import gen, rel_err

f64 = torch.float64


def naive_fftconv(u, k, D, gate, causal):
    Bt, C, L = u.shape
    Lk = k.shape[1]
    off = 0 if causal else Lk // 2
    y = torch.zeros_like(u)
    for t in range(L):
        for s in range(Lk):
            src = t - s + off
            if 0 <= src < L:
                y[..., t] += k[:, s] * u[..., src]
    if D is not None:
        y = y + D[:, None] * u
    if gate is not None:
        y = y * gate
    return y


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("L,Lk", [(37, 37), (37, 8), (50, 1), (23, 12)])
def test_fftconv_matches_naive(L, Lk, causal):
    g = gen(5)
    u = torch.randn(2, 3, L, generator=g, dtype=f64)
    k = torch.randn(3, Lk, generator=g, dtype=f64)
    D = torch.randn(3, generator=g, dtype=f64)
    gate = torch.randn(2, 3, L, generator=g, dtype=f64)
    out = fftconv(u, k, D, gate=gate, causal=causal, backend="torch")
    assert rel_err(out, naive_fftconv(u, k, D, gate, causal)) < 1e-11
    out = fftconv(u, k, causal=causal, backend="torch")
    assert rel_err(out, naive_fftconv(u, k, None, None, causal)) < 1e-11


def test_next_fast_len():
    for n in [1, 2, 7, 11, 13, 74, 97, 1000, 1025, 65537]:
        m = next_fast_len(n)
        assert m >= n
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        assert r == 1
        assert all(not _smooth(j) for j in range(n, m))


def _smooth(m: int) -> bool:
    for p in (2, 3, 5, 7):
        while m % p == 0:
            m //= p
    return m == 1


def test_fftconv_gradcheck():
    g = gen(6)
    u = torch.randn(1, 2, 9, generator=g, dtype=f64, requires_grad=True)
    k = torch.randn(2, 4, generator=g, dtype=f64, requires_grad=True)
    D = torch.randn(2, generator=g, dtype=f64, requires_grad=True)
    gate = torch.randn(1, 2, 9, generator=g, dtype=f64, requires_grad=True)
    for causal in (True, False):
        fn = lambda u, k, D, gate: fftconv(u, k, D, gate=gate, causal=causal, backend="torch")  # noqa: E731
        assert torch.autograd.gradcheck(fn, (u, k, D, gate))


def test_fftconv_rejects_bad_shapes():
    with pytest.raises(KernelError, match="k"):
        fftconv(torch.randn(1, 3, 10), torch.randn(3, 11))
    with pytest.raises(KernelError, match="gate"):
        fftconv(torch.randn(1, 3, 10), torch.randn(3, 4), gate=torch.randn(1, 3, 9))
    with pytest.raises(KernelError, match="D"):
        fftconv(torch.randn(1, 3, 10), torch.randn(3, 4), torch.randn(4))
