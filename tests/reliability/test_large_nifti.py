"""Ingest of a run larger than the memory allowed: nibabel dataobj blocks -> zarr, block by block.

A child process caps its address space (``RLIMIT_AS``) below what loading the run would take;
the same child first shows that ``get_fdata()`` fails under the cap, then ingests the run and
checks frames of the store against the generator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from signalkit.synthetic_fmri import write_nifti_frames

CHILD = textwrap.dedent("""
    import resource, sys, threading
    threading.stack_size(1 << 20)  # thread stacks count against RLIMIT_AS
    import numpy as np, nibabel, xarray, zarr, dask.array, scipy.ndimage, pandas
    import signalkit.store, signalkit.io.nifti
    path, store, limit_mb, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    limit = vm + (limit_mb << 20) if mode.endswith("+") else limit_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        nibabel.load(path, mmap=False).get_fdata()
        print("FULL-LOAD-FITS")
    except MemoryError:
        print("FULL-LOAD-FAILS")
    signalkit.store.ingest([path], store, "fmri", {}, progress=False)
    s = signalkit.store.open_store(store)
    arr = zarr.open_group(store, mode="r")[next(iter(s))]["signal"]
    base = np.random.default_rng(0).standard_normal(arr.shape[1:]).astype(np.float32)
    for t in (0, arr.shape[0] // 2, arr.shape[0] - 1):
        assert np.array_equal(arr[t], base + np.float32(t)), t
    print("INGESTED", arr.shape, arr.chunks)
""")


def _run(tmp_path, shape, limit_mb, mode):
    base = np.random.default_rng(0).standard_normal(shape[:3]).astype(np.float32)
    path = write_nifti_frames(tmp_path / "big.nii", shape, lambda t: base + np.float32(t))
    size_mb = os.path.getsize(path) >> 20
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "OMP_NUM_THREADS": "1", "DASK_NUM_WORKERS": "2"}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp_path / "s.zarr"), str(limit_mb), mode],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FULL-LOAD-FAILS" in proc.stdout, "the memory cap does not prevent loading the whole run"
    assert f"INGESTED {tuple(shape[3:]) + tuple(shape[:3])}" in proc.stdout
    return size_mb


def test_ingest_streams_under_a_memory_cap(tmp_path):
    """120 MB run (240 MB as float64) with 100 MB of address space above the imports."""
    shape = (64, 64, 48, 160)
    size_mb = _run(tmp_path, shape, 100, "+")
    assert size_mb > 100


@pytest.mark.slow
def test_ingest_1p4gb_run_under_1gb(tmp_path):
    """96x96x96x400 float32 (1.35 GB) with the whole process capped at 1 GB."""
    size_mb = _run(tmp_path, (96, 96, 96, 400), 1024, "abs")
    assert size_mb > 1024
