"""The PyTorch ops (backend="torch") against naive loops / conv1d in float64, plus gradcheck."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from tests.support import rel_err

from signalkit.errors import KernelError
from signalkit.kernels import afno_mlp, dwconv, fftconv, selective_scan
from signalkit.kernels.fftconv import next_fast_len

TOL = 1e-12
f64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- dwconv
def naive_dwconv(x, w, b, axis, dilation, causal, activation):
    xt = x.movedim(axis, -1)
    C, K = w.shape
    L = xt.shape[-1]
    total = dilation * (K - 1)
    left = total if causal else total // 2
    y = torch.zeros_like(xt)
    for l in range(L):
        for k in range(K):
            src = l + k * dilation - left
            if 0 <= src < L:
                y[..., l] += w[:, k].view(1, C, *([1] * (xt.dim() - 3))) * xt[..., src]
    if b is not None:
        y = y + b.view(1, C, *([1] * (xt.dim() - 2)))
    if activation == "gelu":
        y = 0.5 * y * (1 + torch.erf(y / math.sqrt(2)))
    elif activation == "silu":
        y = y * torch.sigmoid(y)
    return y.movedim(-1, axis)


@pytest.mark.parametrize(
    "grid,axis,K,dilation,causal,activation",
    [
        ((37,), -1, 7, 1, False, None),
        ((37,), 2, 8, 2, True, "gelu"),
        ((11, 13), 2, 5, 1, False, "silu"),
        ((11, 13), -1, 6, 3, False, None),
        ((5, 6, 9), 3, 4, 1, True, "gelu"),
        ((5, 6, 9), -1, 1, 1, False, None),
        ((20,), -1, 31, 1, False, None),  # kernel longer than the signal
    ],
)
def test_dwconv_matches_naive(grid, axis, K, dilation, causal, activation):
    g = gen(1)
    x = torch.randn(2, 3, *grid, generator=g, dtype=f64)
    w = torch.randn(3, K, generator=g, dtype=f64)
    b = torch.randn(3, generator=g, dtype=f64)
    out = dwconv(x, w, b, axis=axis, dilation=dilation, causal=causal, activation=activation, backend="torch")
    ref = naive_dwconv(x, w, b, axis % x.dim(), dilation, causal, activation)
    assert out.shape == x.shape
    assert rel_err(out, ref) < TOL


def test_dwconv_same_padding_matches_conv1d_odd_kernel():
    g = gen(2)
    x = torch.randn(2, 4, 40, generator=g, dtype=f64)
    w = torch.randn(4, 9, generator=g, dtype=f64)
    out = dwconv(x, w, backend="torch", dilation=2)
    ref = F.conv1d(x, w.unsqueeze(1), padding="same", dilation=2, groups=4)
    assert rel_err(out, ref) < TOL


def test_dwconv_causal_does_not_see_future():
    g = gen(3)
    x = torch.randn(1, 2, 30, generator=g, dtype=f64)
    w = torch.randn(2, 7, generator=g, dtype=f64)
    y1 = dwconv(x, w, causal=True, dilation=2, backend="torch")
    x2 = x.clone()
    x2[..., 20:] += 1.0
    y2 = dwconv(x2, w, causal=True, dilation=2, backend="torch")
    assert torch.equal(y1[..., :20], y2[..., :20])


def test_dwconv_gradcheck():
    g = gen(4)
    x = torch.randn(1, 2, 4, 7, generator=g, dtype=f64, requires_grad=True)
    w = torch.randn(2, 4, generator=g, dtype=f64, requires_grad=True)
    b = torch.randn(2, generator=g, dtype=f64, requires_grad=True)
    fn = lambda x, w, b: dwconv(x, w, b, axis=2, dilation=2, activation="gelu", backend="torch")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w, b))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(axis=1), "axis"),
        (dict(axis=0), "axis"),
        (dict(axis=5), "axis"),
        (dict(dilation=0), "dilation"),
        (dict(activation="relu"), "activation"),
        (dict(backend="cuda"), "backend"),
    ],
)
def test_dwconv_rejects_bad_arguments(kwargs, match):
    x, w = torch.randn(1, 3, 10), torch.randn(3, 3)
    with pytest.raises(KernelError, match=match):
        dwconv(x, w, **kwargs)


def test_dwconv_rejects_bad_shapes():
    with pytest.raises(KernelError, match="weight"):
        dwconv(torch.randn(1, 3, 10), torch.randn(4, 3))
    with pytest.raises(KernelError, match="weight"):
        dwconv(torch.randn(1, 3, 300), torch.randn(3, 256))
    with pytest.raises(KernelError, match="bias"):
        dwconv(torch.randn(1, 3, 10), torch.randn(3, 3), torch.randn(2))
    with pytest.raises(KernelError, match="x"):
        dwconv(torch.randn(3, 10), torch.randn(3, 3))


# ----------------------------------------------------------------------------- fftconv
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


# ----------------------------------------------------------------------------- afno
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


# ----------------------------------------------------------------------------- selective scan
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


def scan_inputs(Bt=2, Dm=4, N=3, L=13, G=None, seed=8, requires_grad=False):
    g = gen(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=f64)  # noqa: E731
    bc = (Bt, N, L) if G is None else (Bt, G, N, L)
    t = dict(
        u=r(Bt, Dm, L),
        delta=0.5 * r(Bt, Dm, L),
        A=-torch.rand(Dm, N, generator=g, dtype=f64) * 2,
        B=r(*bc),
        C=r(*bc),
        D=r(Dm),
        z=r(Bt, Dm, L),
        delta_bias=0.1 * r(Dm),
    )
    if requires_grad:
        for v in t.values():
            v.requires_grad_(True)
    return t


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


def test_backend_env_and_triton_on_cpu(monkeypatch):
    x, w = torch.randn(1, 3, 10), torch.randn(3, 3)
    monkeypatch.setenv("SIGNALKIT_KERNEL_BACKEND", "bogus")
    with pytest.raises(KernelError, match="SIGNALKIT_KERNEL_BACKEND"):
        dwconv(x, w)
    monkeypatch.setenv("SIGNALKIT_KERNEL_BACKEND", "torch")
    dwconv(x, w)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(KernelError, match="TRITON_INTERPRET"):
        dwconv(x, w, backend="triton")


def test_triton_backend_rejects_float64():
    x, w = torch.randn(1, 3, 10, dtype=f64), torch.randn(3, 3, dtype=f64)
    with pytest.raises(KernelError, match="float64"):
        dwconv(x, w, backend="triton")


def test_import_is_cheap_and_works_without_triton():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['triton'] = None\n"
        "import torch, signalkit.kernels as K\n"
        "x = torch.randn(1, 2, 8)\n"
        "assert K.dwconv(x, torch.randn(2, 3)).shape == x.shape\n"
        "assert K.fftconv(x, torch.randn(2, 4)).shape == x.shape\n"
        "try:\n"
        "    K.dwconv(x, torch.randn(2, 3), backend='triton')\n"
        "except K.KernelError as e:\n"
        "    print('ERR', e)\n"
    )
    env = dict(__import__("os").environ, TRITON_INTERPRET="1", SIGNALKIT_KERNEL_BACKEND="auto")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ERR" in out.stdout and "triton is not installed" in out.stdout


def test_empty_inputs_take_the_torch_path():
    x = torch.randn(0, 3, 10)
    assert dwconv(x, torch.randn(3, 3), backend="triton").shape == x.shape


def test_benchmark_script_imports_and_explains_without_cuda(capsys):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "kernels.py"
    spec = importlib.util.spec_from_file_location("signalkit_bench_kernels", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the script would run the benchmark")
    assert mod.main([]) == 1
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_inputs_are_validated_for_dtype_and_device():
    with pytest.raises(KernelError, match="x must be a floating-point"):
        dwconv(torch.ones(1, 3, 10, dtype=torch.int64), torch.randn(3, 3))
    with pytest.raises(KernelError, match="weight is on meta"):
        dwconv(torch.randn(1, 3, 10), torch.randn(3, 3, device="meta"))
    with pytest.raises(KernelError, match="gate is on meta"):
        fftconv(torch.randn(1, 3, 10), torch.randn(3, 3), gate=torch.randn(1, 3, 10, device="meta"))
    t = scan_inputs()
    with pytest.raises(KernelError, match="delta must have shape"):
        selective_scan(**dict(t, delta=t["delta"][:, :, :5]))
    with pytest.raises(KernelError, match="u must be a torch.Tensor"):
        selective_scan(**dict(t, u=t["u"].numpy()))
