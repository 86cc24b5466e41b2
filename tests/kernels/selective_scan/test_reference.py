"""Selective scan (backend="torch") against a naive loop in float64, gradcheck, shape errors."""

from __future__ import annotations

import pytest
import torch

from signalkit.errors import KernelError
from signalkit.kernels import selective_scan
from tests.support import rel_err, scan_inputs

TOL = 1e-12
f64 = torch.float64


def naive_scan(u, delta, A, B, C, D, z, delta_bias, softplus):
    Bt, Dm, L = u.shape
    N = A.shape[1]
    dt = delta + (delta_bias[:, None] if delta_bias is not None else 0)
    if softplus:
        dt = torch.log1p(torch.exp(dt))
    y = torch.zeros_like(u)
    for b in range(Bt):
        for d in range(Dm):
            g = d // (Dm // B.shape[1]) if B.dim() == 4 else None
            h = torch.zeros(N, dtype=u.dtype)
            for t in range(L):
                Bt_ = B[b, g, :, t] if g is not None else B[b, :, t]
                Ct_ = C[b, g, :, t] if g is not None else C[b, :, t]
                h = torch.exp(dt[b, d, t] * A[d]) * h + dt[b, d, t] * Bt_ * u[b, d, t]
                y[b, d, t] = (Ct_ * h).sum() + (D[d] * u[b, d, t] if D is not None else 0)
    if z is not None:
        y = y * z * torch.sigmoid(z)
    return y


@pytest.mark.parametrize("G", [None, 1, 2])
@pytest.mark.parametrize("softplus", [True, False])
def test_selective_scan_matches_naive(G, softplus):
    t = scan_inputs(G=G)
    if not softplus:
        t["delta"] = t["delta"].abs()
    out = selective_scan(**t, delta_softplus=softplus, backend="torch")
    ref = naive_scan(**t, softplus=softplus)
    assert rel_err(out, ref) < TOL
    bare = selective_scan(t["u"], t["delta"], t["A"], t["B"], t["C"], delta_softplus=softplus, backend="torch")
    ref = naive_scan(t["u"], t["delta"], t["A"], t["B"], t["C"], None, None, None, softplus)
    assert rel_err(bare, ref) < TOL


def test_selective_scan_gradcheck():
    t = scan_inputs(Bt=1, Dm=2, N=2, L=5, G=1, requires_grad=True)
    names = list(t)
    fn = lambda *a: selective_scan(**dict(zip(names, a)), delta_softplus=True, backend="torch")  # noqa: E731
    assert torch.autograd.gradcheck(fn, tuple(t.values()))


def test_selective_scan_rejects_bad_shapes():
    t = scan_inputs(G=2)
    bad = dict(t, A=t["A"][:3])
    with pytest.raises(KernelError, match="A"):
        selective_scan(**bad)
    t3 = scan_inputs(Dm=4, G=None)
    bad = dict(t3, B=torch.randn(2, 3, 3, 13, dtype=f64))
    with pytest.raises(KernelError, match="B"):
        selective_scan(**bad)
    bad = dict(t3, z=t3["z"][..., :5])
    with pytest.raises(KernelError, match="z"):
        selective_scan(**bad)
