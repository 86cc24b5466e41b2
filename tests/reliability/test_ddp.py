"""2-process DDP training on CPU (gloo) through the CLI: every training window is seen exactly once
per epoch across the ranks, and logged metrics are reduced across processes (same on every rank)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support import tiny_overrides

# Lightning's DDP launcher re-runs this script once per extra rank, so the callback exists in each.
_SCRIPT = '''
import json, os, sys
import lightning as L
import signalkit.training as training

OUT = sys.argv[1]

class Record(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        sampler = trainer.train_dataloader.sampler
        self.seen = {"epoch": trainer.current_epoch, "indices": [int(i) for i in sampler],
                     "n_windows": len(trainer.datamodule.datasets["train"]), "world": trainer.world_size,
                     "sampler": type(sampler).__name__}

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        vals = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        path = os.path.join(OUT, f"rank{trainer.global_rank}_epoch{trainer.current_epoch}.json")
        with open(path, "w") as f:
            json.dump({**self.seen, "val": vals}, f)

make = training._callbacks
training._callbacks = lambda *a: [*make(*a), Record()]
from signalkit.cli import main
sys.exit(main(sys.argv[2:]))
'''


@pytest.mark.slow  # two processes x (torch + lightning + mne imports) + gloo: ~60 s on the loaded machine
def test_ddp_two_cpu_processes(small_store, tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(_SCRIPT)
    rec = tmp_path / "seen"
    rec.mkdir()
    overrides = [o for o in tiny_overrides(small_store, tmp_path / "run", epochs=2) if "limit_train" not in o]
    args = [sys.executable, str(script), str(rec), "train", "trainer=ddp", *overrides,
            "trainer.accelerator=cpu", "trainer.devices=2", "trainer.limit_val_batches=null"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_PORT": str(29500 + os.getpid() % 1000)}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=500, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for epoch in (0, 1):
        ranks = [json.loads((rec / f"rank{r}_epoch{epoch}.json").read_text()) for r in (0, 1)]
        assert all(x["world"] == 2 and x["sampler"] == "DistributedSampler" for x in ranks)
        n = ranks[0]["n_windows"]
        counts = Counter(ranks[0]["indices"] + ranks[1]["indices"])
        assert set(counts) == set(range(n))  # every window of the split is seen ...
        assert sum(counts.values()) == n + n % 2  # ... exactly once (DistributedSampler pads an odd count by 1)
        assert not set(ranks[0]["indices"]) & set(ranks[1]["indices"]) or n % 2
        # metrics are reduced across processes: both ranks report the same epoch values
        assert ranks[0]["val"].keys() == ranks[1]["val"].keys() and "val/loss" in ranks[0]["val"]
        for k, v in ranks[0]["val"].items():
            assert ranks[1]["val"][k] == pytest.approx(v, rel=1e-6), k
    shuffled = [json.loads((rec / f"rank0_epoch{e}.json").read_text())["indices"] for e in (0, 1)]
    assert shuffled[0] != shuffled[1]  # set_epoch reshuffles
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
