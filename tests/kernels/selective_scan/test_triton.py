"""Triton selective scan (interpreter on CPU, float32) against the PyTorch reference."""

from __future__ import annotations

import pytest
import torch
from tests.support import rel_err

from signalkit.kernels import selective_scan

TOL = 1e-5
NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


def make_inputs(Bt, Dm, N, L, gb=None, gc="same", optional=True, seed=0, device="cpu"):
    g = torch.Generator(device=device).manual_seed(seed)

    def r(*s):
        return torch.randn(*s, generator=g, device=device)

    gc = gb if gc == "same" else gc
    t = {
        "u": r(Bt, Dm, L),
        "delta": 0.5 * r(Bt, Dm, L),
        "A": -torch.rand(Dm, N, generator=g, device=device) * 2 - 0.1,
        "B": r(Bt, N, L) if gb is None else r(Bt, gb, N, L),
        "C": r(Bt, N, L) if gc is None else r(Bt, gc, N, L),
        "D": r(Dm) if optional else None,
        "z": r(Bt, Dm, L) if optional else None,
        "delta_bias": 0.1 * r(Dm) if optional else None,
    }
    return t


def run(t, backend, softplus):
    leaves = {k: (None if v is None else v.detach().clone().requires_grad_(True)) for k, v in t.items()}
    y = selective_scan(**leaves, delta_softplus=softplus, backend=backend)
    gy = torch.randn(y.shape, generator=torch.Generator(device=y.device).manual_seed(5), device=y.device)
    y.backward(gy)
    return y.detach(), {k: (None if v is None else v.grad) for k, v in leaves.items()}


@pytest.mark.parametrize(
    "Bt,Dm,N,L,gb,gc,optional,softplus",
    [
        (2, 3, 4, 37, None, "same", True, True),  # ragged L over 2 chunks + a partial one
        (1, 4, 3, 37, 2, "same", True, False),  # grouped B/C, N not a power of two
        (2, 6, 5, 19, 3, None, False, True),  # B grouped, C shared, no D/z/delta_bias
        (1, 2, 16, 70, None, "same", True, True),
    ],
)
def test_selective_scan_triton_matches_reference(Bt, Dm, N, L, gb, gc, optional, softplus):
    t = make_inputs(Bt, Dm, N, L, gb, gc, optional)
    if not softplus:
        t["delta"] = t["delta"].abs()
    y, grads = run(t, "triton", softplus)
    y_ref, grads_ref = run(t, "torch", softplus)
    assert rel_err(y, y_ref) < TOL
    for k in NAMES:
        if grads_ref[k] is None:
            assert grads[k] is None
            continue
        assert grads[k].shape == grads_ref[k].shape
        assert rel_err(grads[k], grads_ref[k]) < TOL, k


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.bfloat16, 2e-2)])
def test_selective_scan_triton_gpu(dtype, tol):
    t = make_inputs(2, 64, 16, 1000, 2, device="cuda")
    t16 = {k: v.to(dtype) if k in ("u", "delta", "B", "C", "z") else v for k, v in t.items()}
    y, grads = run(t16, "triton", True)
    y_ref, grads_ref = run({k: v.double() for k, v in t16.items()}, "torch", True)
    assert rel_err(y, y_ref) < tol
    for k in NAMES:
        assert rel_err(grads[k], grads_ref[k]) < tol, k
