"""``trainer=ddp_multinode`` through torchrun's rendezvous: 2 "nodes" x 2 CPU processes (gloo) on
127.0.0.1. Every training window is seen once per epoch across the 4 ranks, and the validation
metrics reduced across them equal a one-process evaluation of the same checkpoint. The run ends
cleanly on every node whichever finishes first: ranks leave the process group together
(``signalkit.training._leave_process_group``) and one rank writes the shared run folder's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support import free_port, tiny_overrides

_SCRIPT = '''
import json, os, sys
import lightning as L
import signalkit.training as training

OUT = sys.argv[1]

class Record(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        sampler = trainer.train_dataloader.sampler
        self.seen = {"indices": [int(i) for i in sampler], "n_windows": len(trainer.datamodule.datasets["train"]),
                     "world": trainer.world_size, "node": trainer.node_rank, "local": trainer.local_rank,
                     "n_val": len(trainer.datamodule.datasets["val"])}

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        vals = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        with open(os.path.join(OUT, f"rank{trainer.global_rank}.json"), "w") as f:
            json.dump({**self.seen, "val": vals}, f)

make = training._callbacks
training._callbacks = lambda *a: [*make(*a), Record()]
from signalkit.cli import main
sys.exit(main(sys.argv[2:]))
'''


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "PYTHONWARNINGS": "ignore",
            "TORCHELASTIC_ERROR_FILE": os.devnull}


def torchrun_node(port: int, script: Path, args: list[str], nnodes: int = 2, nproc: int = 2) -> list[str]:
    """One node's torchrun command: c10d rendezvous on 127.0.0.1:<port> (the README's recipe); the
    first node to bind the port hosts the rendezvous store, and waits in torchrun's exit barrier
    until the other node's workers are done."""
    return [sys.executable, "-m", "torch.distributed.run", f"--nnodes={nnodes}", f"--nproc-per-node={nproc}",
            "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=signalkit-test",
            "--rdzv-conf=join_timeout=300,read_timeout=120", "--local-addr=127.0.0.1", "--max-restarts=0",
            str(script), *args]


def wait_nodes(nodes: list[subprocess.Popen], timeout: float = 600.0, grace: float = 60.0) -> list[str]:
    """Wait for every node; once one has failed, the others get ``grace`` seconds before they are
    killed (a node left alone would wait out the rendezvous' timeouts). Returns each node's output."""
    import threading

    outs: list[str] = [""] * len(nodes)

    def drain(i: int) -> None:
        outs[i] = nodes[i].stdout.read()

    readers = [threading.Thread(target=drain, args=(i,), daemon=True) for i in range(len(nodes))]
    for t in readers:
        t.start()
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(n.poll() is None for n in nodes):
        if any(n.poll() not in (None, 0) for n in nodes):
            end = min(end, time.monotonic() + grace)
        time.sleep(0.5)
    for n in nodes:
        if n.poll() is None:
            n.kill()
        n.wait(timeout=60)
    for t in readers:
        t.join(timeout=60)
    return outs


@pytest.mark.slow  # 4 processes x (torch + lightning + mne imports) + gloo on 2 cores: ~2 min
def test_two_nodes_two_processes_each(mi_store, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    rec = tmp_path / "seen"
    rec.mkdir()
    run = tmp_path / "run"
    overrides = [o for o in tiny_overrides(mi_store, run, epochs=1) if "limit_" not in o]
    args = [str(rec), "train", "trainer=ddp_multinode", *overrides, "trainer.accelerator=cpu",
            "trainer.devices=2", "trainer.num_nodes=2", "trainer.precision=32-true"]
    port = free_port()
    nodes = [subprocess.Popen(torchrun_node(port, script, args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=_env(), cwd=tmp_path) for _ in range(2)]
    outs = wait_nodes(nodes)
    assert [n.returncode for n in nodes] == [0, 0], "\n".join(o[-3000:] for o in outs)
    # one writer of the run folder's files (global rank 0), no temporary left by any rank
    assert json.loads((run / "metrics.json").read_text())["train/epochs"] == 1.0
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []
    ranks = [json.loads((rec / f"rank{r}.json").read_text()) for r in range(4)]
    assert {(x["node"], x["local"]) for x in ranks} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert all(x["world"] == 4 for x in ranks)
    n = ranks[0]["n_windows"]
    counts = Counter(i for x in ranks for i in x["indices"])
    assert set(counts) == set(range(n))  # every training window is seen ...
    assert sum(counts.values()) == n + (-n) % 4  # ... once (DistributedSampler pads to a multiple of 4)
    for x in ranks[1:]:  # metrics are reduced across all 4 processes
        assert x["val"] == pytest.approx(ranks[0]["val"], rel=1e-6)
    # ... and equal a one-process evaluation of the checkpoint written at the end of that epoch
    assert ranks[0]["n_val"] % 4 == 0, "val split must not be padded for the comparison"
    from signalkit.training import evaluate

    one = evaluate([f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", "split=val", f"output_dir={tmp_path / 'ev'}"])
    assert one["val/loss"] == pytest.approx(ranks[0]["val"]["val/loss"], rel=1e-5)
    shared = [k for k in ranks[0]["val"] if k in one and k != "val/loss"]
    assert shared, (one.keys(), ranks[0]["val"].keys())
    for k in shared:
        assert one[k] == pytest.approx(ranks[0]["val"][k], rel=1e-5, abs=1e-6), k


def test_multinode_config_under_torchrun_environment(mi_store, tmp_path, monkeypatch):
    """Fast variant: the trainer built from ``trainer=ddp_multinode`` in the environment torchrun gives
    rank 3 of 2 x 2 (no processes launched) has the right world, node and ranks."""
    from signalkit.config import compose
    from signalkit.training import _trainer

    env = {"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "GROUP_RANK": "1",
           "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = compose("train", [*tiny_overrides(mi_store, tmp_path / "run"), "trainer=ddp_multinode",
                            "trainer.accelerator=cpu", "trainer.devices=2", "trainer.num_nodes=2",
                            "trainer.precision=32-true"])
    from lightning.fabric.utilities import rank_zero as fabric_rank_zero
    from lightning_utilities.core import rank_zero as utils_rank_zero

    saved = fabric_rank_zero.rank_zero_only.rank, utils_rank_zero.rank_zero_only.rank
    try:  # the DDP strategy sets the process-wide rank_zero_only.rank (3 here): restored for later tests
        trainer = _trainer(cfg, tmp_path / "run", [], [])
    finally:
        fabric_rank_zero.rank_zero_only.rank, utils_rank_zero.rank_zero_only.rank = saved
    assert type(trainer.strategy.cluster_environment).__name__ == "TorchElasticEnvironment"
    assert (trainer.world_size, trainer.num_nodes, trainer.node_rank, trainer.global_rank, trainer.local_rank) \
        == (4, 2, 1, 3, 1)
