"""benchmarks/gpu_check.sh runs unattended on the GPU machine: its CPU dry run passes every step
(tiny sizes) with a Python that sees only the GPU image's packages (no Hydra, mne, zarr, dask,
braindecode; signalkit not installed), and writes the files a GPU run writes, at most 8 (what the device
tool brings back), so the first real run does not fail on a missing package or a typo."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.benchmarks.gpu_image import image_like_python

ROOT = Path(__file__).resolve().parents[2]
FILES = ["env.md", "kernels.md", "pytest.md", "stderr.log", "steps.json", "steps.md", "summary.md"]


@pytest.fixture(scope="module")
def image_python(tmp_path_factory) -> str:
    return str(image_like_python(tmp_path_factory.mktemp("gpu_image")))


def _run(python: str, dest: Path, *flags: str) -> tuple[subprocess.CompletedProcess, str]:
    env = {**os.environ, "PYTHON": python, "OMP_NUM_THREADS": "1"}
    for key in ("OUT", "PYTHONPATH", "TRITON_INTERPRET"):
        env.pop(key, None)
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), *flags, str(dest)],
                          capture_output=True, text=True, env=env, timeout=1500, cwd=dest)
    return proc, (dest / "summary.md").read_text()


def test_image_python_lacks_what_the_gpu_image_lacks(image_python):
    probe = ("import importlib.util as u; print(sorted(m for m in ('hydra', 'omegaconf', 'mne', 'zarr', 'dask', "
             "'braindecode', 'torch', 'triton', 'numpy', 'xarray', 'pytest') if u.find_spec(m)))")
    out = subprocess.run([image_python, "-c", probe], capture_output=True, text=True, cwd="/", timeout=120)
    assert out.stdout.strip() == str(sorted(["torch", "triton", "numpy", "xarray", "pytest"])), out.stderr


def test_gpu_check_dry_run(image_python, tmp_path):
    proc, summary = _run(image_python, tmp_path, "--dry-run")
    assert proc.returncode == 0, summary + proc.stderr[-2000:] + (tmp_path / "stderr.log").read_text()[-3000:]
    for step in ("env", "pytest", "kernels", "steps"):
        assert f"| {step} | ok |" in summary, summary
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES  # 7 files, none deeper: all come back
    env = (tmp_path / "env.md").read_text()
    assert "absent here: hydra, omegaconf, mne, zarr, dask, braindecode" in env  # the image's situation
    assert "signalkit importable from" in env and str(ROOT) not in env.split("importable from")[1]  # not installed
    pytest_out = (tmp_path / "pytest.md").read_text()
    assert "8 skipped" in pytest_out and pytest_out.count("needs CUDA") == 4  # the CUDA tests are collected
    kernels = (tmp_path / "kernels.md").read_text()
    for op in ("dwconv gelu", "fftconv gated", "selective_scan", "afno_mlp"):
        assert f"| {op} |" in kernels, kernels
    rows = {r["model"]: r for r in json.loads((tmp_path / "steps.json").read_text())}
    eegnet = "EEGNet (benchmarks/eegnet.py; braindecode not installed)"
    for model in ("signalkit eeg_decoder", "signalkit weather_afno", "signalkit video_simvp", eegnet):
        assert "error" not in rows[model] and rows[model]["ms_per_step"] > 0, rows[model]
    assert rows[eegnet]["params"] == 1556  # braindecode 1.8.1's EEGNet at 8 channels x 160 samples
    assert "CPU dry run" in (tmp_path / "steps.md").read_text()  # never passed off as a GPU number


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is here: run the real check")
def test_cuda_mode_without_a_gpu_says_so(image_python, tmp_path):
    """The GPU run's own commands (not the dry run's) parse and start here; without CUDA the two
    benchmarks refuse with one line and the check exits 1, keeping what ran."""
    proc, summary = _run(image_python, tmp_path)
    assert proc.returncode == 1
    assert "| env | ok |" in summary and "| pytest | ok |" in summary, summary
    assert "| kernels | failed (exit 1) |" in summary and "| steps | failed (exit 1) |" in summary, summary
    err = (tmp_path / "stderr.log").read_text()
    assert "kernels.py needs a CUDA GPU" in err and "gpu_steps.py needs a CUDA GPU" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [f for f in FILES if f != "steps.json"]


def test_model_configs_file_is_current():
    """benchmarks/gpu_models.json (read on the GPU, where Hydra is absent) equals ``model_config``:
    after changing a model config, run ``python -m benchmarks.gpu_steps --write-configs``."""
    from benchmarks.gpu_steps import MODEL_OVERRIDES, model_configs
    from signalkit.models import model_config

    assert model_configs() == {n: model_config(n, **kw) for n, kw in MODEL_OVERRIDES.items()}


def test_eegnet_copy_has_braindecodes_size():
    import torch

    from benchmarks.eegnet import EEGNet

    model = EEGNet(n_chans=64, n_outputs=4, n_times=640)
    assert sum(p.numel() for p in model.parameters()) == 3412  # braindecode 1.8.1's EEGNet, same shape
    assert model(torch.randn(3, 64, 640)).shape == (3, 4)
