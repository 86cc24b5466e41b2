"""Kernel dispatch: backend choice (env, CPU, float64), cheap import without triton, empty inputs, input validation, the benchmark script without CUDA."""

from __future__ import annotations

import pytest
import torch

from signalkit.errors import KernelError
from signalkit.kernels import dwconv, fftconv, selective_scan
from tests.support import scan_inputs

f64 = torch.float64


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
