"""Ingest of an EDF larger than the memory allowed streams it, under an address-space limit.

The EDF is written record by record (int16, no full array in memory). The child process imports
everything, measures its address space and sets ``RLIMIT_AS`` to that plus a budget smaller than
the float32 signal: the streamed ingest (``raw.get_data`` per block, the store written block by
block) fits; the same ingest with the in-memory path (``_STREAM_BYTES`` raised) fails for lack of
memory, which shows that the limit bites.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np
import pytest

_CHILD = r'''
import resource, sys, threading, numpy as np
threading.stack_size(256 << 10)  # thread stacks count against RLIMIT_AS (8 MB each by default)
import signalkit.store, signalkit.io.mne_reader, xarray, zarr, dask.array
from signalkit.io import get_reader
get_reader("eeg")  # imports every built-in reader (scipy...) before the limit: imports are not the ingest
def vm():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
edf, store, budget, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if path == "in-memory":
    signalkit.io.mne_reader._STREAM_BYTES = 1 << 62
base = vm()
resource.setrlimit(resource.RLIMIT_AS, (base + budget, base + budget))
from signalkit.store import ingest, open_store
try:
    ingest([edf], store, "eeg", progress=False)
except Exception as err:
    print("failed", type(err).__name__, "MemoryError" in str(err))
    print(err, file=sys.stderr)
    sys.exit(0)
st = open_store(store)
sig = st[next(iter(st))]["signal"]
print("ok", sig.shape[0], sig.shape[1])
for start in (0, sig.shape[1] // 2 + 123, sig.shape[1] - 300):
    np.save(f"{store}.slice{start}.npy", sig[:, start:start + 300].values)
print("slices")
'''


def write_edf(path: Path, n_channels: int, sfreq: int, n_records: int, seed: int = 0) -> int:
    """A valid EDF (1 s records, int16) written block by block; returns the number of samples."""
    names = [f"EEG{i:03d}" for i in range(n_channels)]
    def field(values, width):
        return "".join(str(v)[:width].ljust(width) for v in values)
    header = ("0".ljust(8) + "X X X X".ljust(80) + "Startdate 01-JAN-2020 X X X".ljust(80) + "01.01.20" + "00.00.00"
              + str(256 * (n_channels + 1)).ljust(8) + "".ljust(44) + str(n_records).ljust(8) + "1".ljust(8)
              + str(n_channels).ljust(4))
    header += (field(names, 16) + field(["AgAgCl"] * n_channels, 80) + field(["uV"] * n_channels, 8)
               + field(["-3276.8"] * n_channels, 8) + field(["3276.7"] * n_channels, 8)
               + field(["-32768"] * n_channels, 8) + field(["32767"] * n_channels, 8)
               + field([""] * n_channels, 80) + field([sfreq] * n_channels, 8) + field([""] * n_channels, 32))
    assert len(header) == 256 * (n_channels + 1)
    rng = np.random.default_rng(seed)
    block = rng.integers(-1000, 1000, size=(n_channels, sfreq), dtype=np.int16)
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        for r in range(n_records):
            f.write(np.roll(block, r, axis=1).astype("<i2").tobytes())
    return n_records * sfreq


def _child(edf: Path, store: Path, budget: int, path: str) -> tuple[list[str], str]:
    # one malloc arena: glibc gives each thread that meets contention its own 64 MB address-space
    # reservation, so under load zarr's I/O threads alone could exhaust the limit (a flaky failure)
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(edf), str(store), str(budget), path],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split(), proc.stderr[-2000:]


def _run(tmp_path, n_channels: int, minutes: int, budget_mb: int, control: bool) -> None:
    sfreq = 256
    edf = tmp_path / "big.edf"
    n = write_edf(edf, n_channels, sfreq, minutes * 60)
    budget = budget_mb << 20
    assert budget < 0.7 * n_channels * n * 4  # less than the float32 signal
    out, err = _child(edf, tmp_path / "big.zarr", budget, "streamed")
    assert out[:3] == ["ok", str(n_channels), str(n)] and out[-1] == "slices", err
    raw = mne.io.read_raw(edf, preload=False, verbose="error")
    for start in (0, n // 2 + 123, n - 300):  # the values MNE returns for those samples
        stored = np.load(tmp_path / f"big.zarr.slice{start}.npy")
        np.testing.assert_array_equal(stored, raw.get_data(start=start, stop=start + 300).astype(np.float32))
    if control:  # the same budget does not hold the recording in memory
        assert _child(edf, tmp_path / "control.zarr", budget, "in-memory")[0] == ["failed", "InputError", "True"]


def test_large_edf_ingest_streams_under_memory_limit(tmp_path):
    """64 channels x 40 min at 256 Hz (79 MB EDF, 150 MB as float32) in a 96 MB budget."""
    _run(tmp_path, 64, 40, 96, control=True)


@pytest.mark.slow
def test_2gb_edf_ingest_under_memory_limit(tmp_path):
    """A 2 GB EDF (4 GB as float32) in a 256 MB budget."""
    _run(tmp_path, 64, 1092, 256, control=False)
