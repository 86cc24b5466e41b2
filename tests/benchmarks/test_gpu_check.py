"""benchmarks/gpu_check.sh runs unattended: its CPU dry run passes every step (tiny sizes) and
writes the files a GPU run writes, so the first real run on a GPU does not fail on a typo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=1500, cwd=tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert proc.returncode == 0, summary + proc.stderr[-2000:]
    for step in ("env", "pytest", "kernels", "steps"):
        assert f"| {step} | ok |" in summary, summary
    kernels = (tmp_path / "kernels.md").read_text()
    for op in ("dwconv gelu", "fftconv gated", "selective_scan", "afno_mlp"):
        assert f"| {op} |" in kernels, kernels
    rows = {r["model"]: r for r in json.loads((tmp_path / "steps.json").read_text())}
    for model in ("signalkit eeg_decoder", "signalkit weather_afno", "signalkit video_simvp"):
        assert "error" not in rows[model] and rows[model]["ms_per_step"] > 0, rows[model]
    assert "braindecode EEGNet" in rows  # a row either way: timed, or why not
    assert "CPU dry run" in (tmp_path / "steps.md").read_text()  # never passed off as a GPU number
