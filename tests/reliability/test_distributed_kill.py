"""A Dask worker killed (SIGKILL) while it writes a recording's group: the run either completes
(the scheduler reruns the task on another worker, which rewrites the group whole) or fails with
nothing committed; either way the next run completes the store, equal to a ``jobs=1`` build."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from signalkit.errors import StoreError  # noqa: E402
from signalkit.io import expand_sources  # noqa: E402
from signalkit.store import ingest, open_store  # noqa: E402
from tests.support import install_slow_reader, same_snapshot, store_snapshot  # noqa: E402


def _first_chunk_written(store: Path, timeout: float = 120.0) -> bool:
    """Wait until some group of a partial store has a signal chunk on disk (a write in progress)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for partial in store.parent.glob(store.name + ".partial-*"):
            if any(partial.glob("*/signal/c/*")):
                return True
        time.sleep(0.02)
    return False


def _ingest_in_thread(files, store: str, address: str) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target():
        try:
            out["result"] = ingest(files, store, "eeg", progress=False, cluster=address)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            out["error"] = err

    th = threading.Thread(target=target, daemon=True)
    th.start()
    return th, out


def _leftovers(store: Path) -> list[str]:
    return sorted(p.name for p in store.parent.iterdir() if p.name.startswith(store.name + "."))



@pytest.mark.parametrize("allowed_failures", [0, pytest.param(3, marks=pytest.mark.slow)])
def test_worker_killed_mid_write(small_edf_dir, tmp_path, allowed_failures):
    files = expand_sources(small_edf_dir, "eeg")[:2]  # one per worker: both are writing when one dies
    ref = store_snapshot(ingest(files, str(tmp_path / "ref.zarr"), "eeg", progress=False))
    store = tmp_path / "s.zarr"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as lc, distributed.Client(lc) as client:
        client.run_on_scheduler(_set_allowed_failures, n=allowed_failures)
        pids = client.run(install_slow_reader, delay=0.25, block=1100)  # a group takes ~2 s to write
        th, out = _ingest_in_thread(files, str(store), lc.scheduler_address)
        assert _first_chunk_written(store), "no write started"
        os.kill(next(iter(pids.values())), signal.SIGKILL)  # one worker dies mid-write
        th.join(timeout=300)
        assert not th.is_alive()
        if allowed_failures == 0:  # the task is not retried: the run fails, nothing committed
            assert isinstance(out.get("error"), StoreError), out
            assert not store.exists()
            with pytest.raises(StoreError):
                open_store(str(store))
        else:  # retried on the surviving (or restarted) worker: the same run completes
            assert "error" not in out, out
            assert same_snapshot(store_snapshot(str(store)), ref)
        assert _leftovers(store) == []
        # the next run completes the store, equal to a clean one-process build
        ingest(files, str(store), "eeg", progress=False, cluster=lc.scheduler_address)
        assert same_snapshot(store_snapshot(str(store)), ref)
        assert _leftovers(store) == []


def _set_allowed_failures(dask_scheduler=None, n: int = 3) -> None:
    dask_scheduler.allowed_failures = n
