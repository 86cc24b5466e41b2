"""Chunked selective scan (the torch backend) against the sequential reference loop.

Outputs and every gradient, float64 (rel err < 1e-10) and float32 (rel err < 1e-5), ragged
lengths (L not a multiple of the chunk, L < chunk, L = 1, L = 0), optional D/z/delta_bias,
softplus on/off, shared and grouped B/C (with different group counts), strong decay.
"""

from __future__ import annotations

import pytest
import torch
from tests.support import rel_err

from signalkit.kernels import selective_scan
from signalkit.kernels.selective_scan import selective_scan_chunked, selective_scan_reference
from signalkit.kernels.selective_scan import chunked
from signalkit.kernels.selective_scan.chunked import chunk_length

NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def make_inputs(Bt, Dm, N, L, gb=None, gc="same", optional=True, dtype=torch.float64, decay=1.0, seed=0):
    """Random scan inputs; ``decay`` scales ``delta`` and ``A`` (large values: strong decay)."""
    g = torch.Generator().manual_seed(seed)

    def r(*s):
        return torch.randn(*s, generator=g, dtype=dtype)

    gc = gb if gc == "same" else gc
    return {
        "u": r(Bt, Dm, L),
        "delta": 0.5 * decay * r(Bt, Dm, L),
        "A": -(torch.rand(Dm, N, generator=g, dtype=dtype) * 2 + 0.1) * decay,
        "B": r(Bt, N, L) if gb is None else r(Bt, gb, N, L),
        "C": r(Bt, N, L) if gc is None else r(Bt, gc, N, L),
        "D": r(Dm) if optional else None,
        "z": r(Bt, Dm, L) if optional else None,
        "delta_bias": 0.1 * r(Dm) if optional else None,
    }


def run(fn, t, softplus, **kw):
    """``fn`` forward and backward with a fixed random output gradient; returns ``(y, grads)``."""
    leaves = {k: (None if v is None else v.detach().clone().requires_grad_(True)) for k, v in t.items()}
    y = fn(**leaves, delta_softplus=softplus, **kw)
    gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(5), dtype=y.dtype)
    y.backward(gy)
    return y.detach(), {k: (None if v is None else v.grad) for k, v in leaves.items()}


def assert_matches_reference(t, softplus, tol, **kw):
    y, grads = run(selective_scan_chunked, t, softplus, **kw)
    y_ref, grads_ref = run(selective_scan_reference, t, softplus)
    assert torch.isfinite(y).all()
    assert rel_err(y, y_ref) < tol, rel_err(y, y_ref)
    for k in NAMES:
        if t[k] is None:
            continue
        assert torch.isfinite(grads[k]).all(), k
        assert rel_err(grads[k], grads_ref[k]) < tol, (k, rel_err(grads[k], grads_ref[k]))


CASES = [  # Bt, Dm, N, L, gb, gc, optional, softplus, chunk
    (2, 4, 3, 37, None, "same", True, True, 8),  # 4 full chunks + a partial one
    (1, 4, 3, 37, 2, "same", True, False, 16),  # grouped B/C
    (2, 6, 5, 19, 3, None, False, True, None),  # B grouped, C shared, no D/z/delta_bias
    (1, 6, 2, 23, 2, 3, True, True, 4),  # different group counts for B and C
    (1, 2, 3, 5, None, "same", True, True, 16),  # L < chunk
    (2, 2, 3, 1, None, "same", True, False, None),  # L = 1
    (1, 3, 16, 130, 1, "same", True, True, None),  # default chunk on a longer sequence
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("Bt,Dm,N,L,gb,gc,optional,softplus,chunk", CASES)
def test_chunked_matches_reference(Bt, Dm, N, L, gb, gc, optional, softplus, chunk, dtype):
    t = make_inputs(Bt, Dm, N, L, gb, gc, optional, dtype)
    if not softplus:
        t["delta"] = t["delta"].abs()
    assert_matches_reference(t, softplus, TOL[dtype], chunk=chunk)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_strong_decay_stays_finite_and_exact(dtype):
    # |dt A| up to ~100 per step and ~10^4 per chunk: exp of a positive cumulative sum would overflow
    t = make_inputs(2, 4, 4, 45, 2, "same", True, dtype, decay=30.0)
    t["delta"] = t["delta"].abs()
    assert_matches_reference(t, False, TOL[dtype], chunk=16)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_batch_rows_in_blocks(monkeypatch, dtype):
    monkeypatch.setattr(chunked, "BLOCK", 2 * 4 * 3 * 3)  # two batch rows per block: blocks of 2, 2, 1
    t = make_inputs(5, 4, 3, 33, 2, None, True, dtype)
    assert_matches_reference(t, True, TOL[dtype], chunk=11)


def test_gradcheck_float64():
    t = make_inputs(1, 4, 2, 11, 2, None, True)
    names = [k for k in NAMES if t[k] is not None]
    args = tuple(t[k].requires_grad_(True) for k in names)

    def fn(*a):
        return selective_scan_chunked(**dict(zip(names, a)), delta_softplus=True, chunk=4)

    assert torch.autograd.gradcheck(fn, args)


def test_empty_sequence_and_low_precision_inputs():
    t = make_inputs(1, 2, 3, 0, dtype=torch.float32)
    u = t["u"].requires_grad_(True)
    y = selective_scan_chunked(**t)
    y.sum().backward()
    assert y.shape == (1, 2, 0) and u.grad.shape == (1, 2, 0)
    t = make_inputs(2, 4, 3, 21, dtype=torch.float32)
    half = {k: v.bfloat16() for k, v in t.items()}
    y = selective_scan_chunked(**half, delta_softplus=True)
    assert y.dtype == torch.bfloat16
    ref = selective_scan_reference(**half, delta_softplus=True)
    assert rel_err(y, ref) < 1e-2  # same float32 maths, output rounded to bfloat16


def test_torch_backend_is_the_chunked_scan():
    t = make_inputs(2, 4, 3, 40, dtype=torch.float32)
    assert torch.equal(selective_scan(**t, backend="torch"), selective_scan_chunked(**t))


def test_chunk_length_grows_like_sqrt_and_stays_bounded():
    assert [chunk_length(L) for L in (1, 7, 16)] == [1, 7, 16]
    assert [chunk_length(L) for L in (100, 1024, 4096, 16384, 1 << 20)] == [16, 16, 32, 64, 128]


def test_forward_saves_only_chunk_start_states():
    """Nothing of size ``Bt * Dm * N * L`` is saved for the backward (the reference saves several):
    the largest saved tensors are inputs (``Bt * Dm * L`` or ``Bt * N * L``)."""
    Bt, Dm, N, L = 1, 8, 16, 512
    t = make_inputs(Bt, Dm, N, L, dtype=torch.float32)
    for v in t.values():
        v.requires_grad_(True)
    sizes: list[int] = []

    def pack(x):
        sizes.append(x.numel())
        return x

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        selective_scan_chunked(**t, delta_softplus=True)
    assert max(sizes) <= Bt * max(Dm, N) * L
    sizes.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        selective_scan_reference(**t, delta_softplus=True)
    assert max(sizes) >= Bt * Dm * N * L
