"""2-process DDP (CPU, gloo): the weather test metrics equal a single-process evaluation of the
same checkpoint (every init time scored once, none twice)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import SYN_SPLIT


@pytest.mark.slow  # two processes with torch + lightning imports: ~1 min on the loaded machine
def test_ddp_weather_metrics_equal_one_process(synthetic_store, tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "signalkit.cli", "train", "experiment=weather/regional", "trainer=ddp",
            f"data.store={synthetic_store}", *SYN_SPLIT, "data.lead_times=[6,12]", "data.rollout_steps=2",
            "model.dim=8", "model.backbone.depth=1", "model.backbone.num_blocks=2", "trainer.max_epochs=1",
            "trainer.accelerator=cpu", "trainer.devices=2", "trainer.enable_progress_bar=false",
            "data.batch_size=3", f"output_dir={out}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_PORT": str(29500 + os.getpid() % 1000 + 7)}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=500, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = json.loads((out / "metrics.json").read_text())
    ev = subprocess.run([sys.executable, "-m", "signalkit.cli", "evaluate", f"ckpt_path={ddp['best_checkpoint']}"],
                        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    one = json.loads((out / "evaluate_test.json").read_text())
    for key in ("test/t2m/rmse@6h", "test/t2m/rmse_persistence@12h", "test/t2m/acc@6h", "test/t2m/bias@12h"):
        assert ddp[key] == pytest.approx(one[key], rel=1e-5), key
