"""Helpers of the Dask-cluster ingest tests: a LocalCluster, byte-level store comparison, and a
slow EEG reader installed on the workers so that a kill lands while a group is being written."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def store_files(path: str | Path) -> dict[str, bytes]:
    """Every file of a local store, by path relative to the store: bytes compared bit for bit."""
    root = Path(path)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sleepy(block: np.ndarray, delay: float) -> np.ndarray:
    time.sleep(delay)
    return block


def read_slow_eeg(path, delay: float = 0.6, block: int = 512, **kwargs):
    """The EEG reader, but the signal comes back as a dask array whose blocks take ``delay`` s each:
    :func:`signalkit.store.write_recording` then writes the group chunk by chunk over seconds."""
    import dask.array as da

    from signalkit.io.mne_reader import read_sensor

    rec = read_sensor(path, modality="eeg", **kwargs)
    sig = rec["signal"]
    lazy = da.from_array(sig.values, chunks=(sig.shape[0], block)).map_blocks(_sleepy, delay, dtype=sig.dtype)
    rec["signal"] = (sig.dims, lazy)
    return rec


def install_slow_reader(delay: float = 0.6, block: int = 512) -> int:
    """Run on a worker (``client.run``): make its ``eeg`` reader slow; return the worker's pid."""
    from functools import partial

    from signalkit.io import get_reader, register_reader

    exts = get_reader("eeg").extensions  # loads the built-in readers first, so they do not override ours
    register_reader("eeg", partial(read_slow_eeg, delay=delay, block=block), exts)
    return os.getpid()


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)
