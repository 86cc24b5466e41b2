"""Ingest of an EDF larger than a full float64 load allows, under an address-space limit.

The EDF is written record by record (int16, no full array in memory). The child process measures
its own address space after imports and sets ``RLIMIT_AS`` to that plus a budget that holds the
float32 signal (what the block-reading reader keeps) but not a float64 load of the file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_CHILD = r'''
import resource, sys, threading, numpy as np
threading.stack_size(256 << 10)  # thread stacks count against RLIMIT_AS (8 MB each by default)
import signalkit.store, signalkit.io.mne_reader, xarray, zarr
def vm():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
edf, store, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = vm()
resource.setrlimit(resource.RLIMIT_AS, (base + budget, base + budget))
try:
    np.empty(int(sys.argv[4]) // 8, dtype=np.float64).fill(0)  # a float64 load of the data would not fit
    print("float64-fits")
except MemoryError:
    print("float64-refused")
from signalkit.store import ingest, open_store
ingest([edf], store, "eeg", progress=False)
st = open_store(store)
rid = next(iter(st))
sig = st[rid]["signal"]
print("ok", sig.shape[0], sig.shape[1], float(sig[:, -100:].mean().compute()))
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


def _run(tmp_path, mb: int) -> None:
    n_ch, sfreq = 64, 256
    n_rec = mb * (1 << 20) // (n_ch * sfreq * 2)
    edf = tmp_path / "big.edf"
    n = write_edf(edf, n_ch, sfreq, n_rec)
    f32 = n_ch * n * 4
    budget = int(1.5 * f32) + (128 << 20)  # float32 signal + working memory, < a float64 load (2 x f32)
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(edf), str(tmp_path / "big.zarr"), str(budget),
                           str(n_ch * n * 8)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.split("\n")
    assert "float64-refused" in lines
    ok = [l for l in lines if l.startswith("ok")][0].split()
    assert (int(ok[1]), int(ok[2])) == (n_ch, n)


def test_large_edf_ingest_under_memory_limit(tmp_path):
    _run(tmp_path, 300)


@pytest.mark.slow
def test_2gb_edf_ingest_under_memory_limit(tmp_path):
    _run(tmp_path, 2048)
