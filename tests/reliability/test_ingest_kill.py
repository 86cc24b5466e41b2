"""An ingest killed with SIGKILL at random points leaves the previous store intact; reruns converge."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import same_snapshot, store_snapshot

from signalkit.io import expand_sources
from signalkit.store import ingest, open_store

# The child imports everything first and says "ready", so the random delay lands inside the ingest.
_CHILD = ("import sys, time; import signalkit.store, signalkit.io.mne_reader, signalkit.config; "
          "from signalkit.cli import main; print('ready', flush=True); t = time.time(); "
          "code = main(sys.argv[1:]); print('took', time.time() - t, flush=True); sys.exit(code)")
CONFIGS = {"A": [], "B": ["preprocess.l_freq=1.0"]}


def _start(src: Path, store: str, config: str) -> subprocess.Popen:
    args = [sys.executable, "-c", _CHILD, "ingest", "eeg", str(src), store, "progress=false", *CONFIGS[config]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def _leftovers(store: str) -> list[str]:
    p = Path(store)
    return sorted(x.name for x in p.parent.iterdir() if x.name.startswith(p.name + "."))


def _kill_runs(src: Path, tmp_path: Path, attempts: int, seed: int) -> int:
    """Kill ``attempts`` ingests (alternating configs) at random points; return how many were killed."""
    import shutil

    files = expand_sources(src, "eeg")
    refs, durations = {}, {}
    for name, overrides in CONFIGS.items():
        ref = str(tmp_path / f"ref_{name}.zarr")
        t = time.time()
        ingest(files, ref, "eeg", _reader_kwargs(overrides), progress=False)
        durations[name] = time.time() - t
        refs[name] = store_snapshot(ref)
    assert not same_snapshot(refs["A"], refs["B"])  # the two configs give different content
    store = str(tmp_path / "s.zarr")
    shutil.copytree(tmp_path / "ref_A.zarr", store)

    rng = random.Random(seed)
    killed, current = 0, "A"
    for attempt in range(attempts):
        config = "B" if current == "A" else "A"  # the other config: every run rewrites every group
        proc = _start(src, store, config)
        time.sleep(rng.uniform(0.0, 1.3 * durations[config]))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.communicate(timeout=300)
        snap = store_snapshot(store)  # open_store works after every kill
        if proc.returncode == 0:
            current = config
        assert same_snapshot(snap, refs[current]), f"attempt {attempt}: store changed by a killed run"
    # a rerun completes, equals a clean build, and removes the killed runs' leftovers
    final = "B" if current == "A" else "A"
    ingest(files, store, "eeg", _reader_kwargs(CONFIGS[final]), progress=False)
    assert same_snapshot(store_snapshot(store), refs[final])
    assert _leftovers(store) == []
    print(f"ingest runs: {attempts}, killed with SIGKILL: {killed}, store intact after each")
    return killed


def test_sigkill_during_ingest_keeps_previous_store(small_edf_dir, tmp_path):
    assert _kill_runs(small_edf_dir, tmp_path, attempts=2, seed=0) >= 1


@pytest.mark.slow
def test_sigkill_during_ingest_many_times(small_edf_dir, tmp_path):
    assert _kill_runs(small_edf_dir, tmp_path, attempts=12, seed=1) >= 6


def _reader_kwargs(overrides: list[str]) -> dict:
    from signalkit.config import compose, to_plain

    cfg = compose("ingest", ["reader=eeg", "source=x", "store=y", *[f"reader.{o}" for o in overrides]])
    kw = to_plain(cfg.reader)
    kw.pop("modality", None)
    return kw


def test_interrupted_swap_is_recovered(small_store, tmp_path):
    """Killed between the two moves of the swap: the store sits at <store>.old-<id>; it is moved back."""
    import shutil

    store = tmp_path / "s.zarr"
    shutil.copytree(small_store, store)
    before = store_snapshot(str(store))
    store.rename(tmp_path / "s.zarr.old-999999999-deadbeef")
    (tmp_path / "s.zarr.partial-999999999-cafe0000").mkdir()  # a dead process's partial folder, with
    (tmp_path / "s.zarr.partial-999999999-cafe0000" / ".signalkit").write_text('{"kind": "store"}')  # its marker
    assert same_snapshot(store_snapshot(str(store)), before)
    assert not (tmp_path / "s.zarr.old-999999999-deadbeef").exists()
    files = [open_store(str(store)).provenance(r)["source"] for r in open_store(str(store))]
    ingest(files, str(store), "eeg", open_store(str(store)).attrs["config"], progress=False)
    assert same_snapshot(store_snapshot(str(store)), before)
    assert _leftovers(str(store)) == []
