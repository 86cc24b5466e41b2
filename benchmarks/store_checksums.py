"""Cost of the store's crc32c chunk checksums on window reads (with vs without, one process).

Two stores of the same synthetic EDFs: one as ``signalkit ingest`` writes it (``bytes`` +
``crc32c`` codecs) and one without the checksum (``bytes`` only, the layout before checksums).
Timed, interleaved round robin, medians of ``--reps``:

- ``memmap cold``: a fresh ``WindowDataset`` reading random windows until every chunk has been
  touched once (the crc32c of each chunk is verified there, once per process);
- ``memmap warm``: random windows afterwards (plain memory-mapped slices, no checksum work);
- ``zarr``: random windows read through ``zarr`` slicing (the path of the other data modules),
  where every read decodes and verifies its chunk.

    .venv/bin/python -m benchmarks.store_checksums --quick
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np


def _stores(folder: Path, subjects: int, trials: int) -> dict[str, str]:
    from signalkit import store as st
    from signalkit.demo import make_motor_imagery
    from signalkit.io import expand_sources

    edfs = folder / "edf"
    make_motor_imagery(edfs, n_subjects=subjects, n_trials=trials, seed=0)
    files = expand_sources(str(edfs), "eeg")
    with_crc = st.ingest(files, str(folder / "crc.zarr"), "eeg", progress=False)
    plain_chunks = st._time_chunks

    def no_crc(ds):
        enc = plain_chunks(ds)
        for value in enc.values():
            if "compressors" in value:
                value["compressors"] = None
        return enc

    with mock.patch.object(st, "_time_chunks", no_crc):
        without = st.ingest(files, str(folder / "plain.zarr"), "eeg", progress=False)
    return {"crc32c": with_crc, "none": without}


def _dataset(store: str):
    from signalkit.datamodules.windows import WindowDataset, build_sensor_index
    from signalkit.store import open_store

    st = open_store(store)
    return WindowDataset(st, build_sensor_index(st, 4.0, stride_s=0.5))


def _time_reads(fn, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, fn.n, n)
    t0 = time.perf_counter()
    for i in picks:
        fn(int(i))
    return (time.perf_counter() - t0) / n * 1e6  # microseconds per window


class _Memmap:
    def __init__(self, store: str):
        self.ds = _dataset(store)
        self.n = len(self.ds)

    def __call__(self, i: int):
        return self.ds[i]


class _Zarr:
    def __init__(self, store: str):
        import zarr

        self.ds = _dataset(store)
        root = zarr.open_group(store, mode="r")
        self.arrays = [root[rid]["signal"] for rid in self.ds.recordings]
        self.n = len(self.ds)

    def __call__(self, i: int):
        r = int(self.ds._rec[i])
        return np.asarray(self.arrays[r][:, int(self.ds._start[i]):int(self.ds._stop[i])])


def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        stores = _stores(Path(tmp), args.subjects, args.trials)
        rows: dict[tuple[str, str], list[float]] = {}
        for rep in range(args.reps):
            for name, store in stores.items():  # interleaved: both suffer the same machine load
                mm = _Memmap(store)
                rows.setdefault(("memmap cold", name), []).append(_time_reads(mm, mm.n, rep))
                rows.setdefault(("memmap warm", name), []).append(_time_reads(mm, args.windows, rep + 100))
                zr = _Zarr(store)
                rows.setdefault(("zarr", name), []).append(_time_reads(zr, args.windows, rep + 200))
        lines = ["| path | no checksum (us/window) | crc32c (us/window) | crc32c / none |", "|---|---|---|---|"]
        for path in ("memmap cold", "memmap warm", "zarr"):
            a = statistics.median(rows[(path, "none")])
            b = statistics.median(rows[(path, "crc32c")])
            lines.append(f"| {path} | {a:.1f} | {b:.1f} | {b / a:.2f}x |")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subjects", type=int, default=4)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--windows", type=int, default=2000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.subjects, args.trials, args.windows, args.reps = 2, 10, 500, 3
    print(run(args))


if __name__ == "__main__":
    main()
