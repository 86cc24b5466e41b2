"""Data path: EDF ingest throughput, random window access, first batch, import time.

Compares ``signalkit.store.ingest`` + ``WindowDataset`` (lazy zarr slices and ``preload=True``)
with braindecode 1.x ``create_windows_from_events`` on the same EDF files (lazy: raw and windows
with ``preload=False``; preloaded: both ``preload=True``). Run it with a Python that has both
(``.venv-bench/bin/python``); without braindecode only the signalkit rows are printed.

    .venv-bench/bin/python -m benchmarks.data_path --quick
    .venv-bench/bin/python -m benchmarks.data_path --subjects 8 --trials 30 --montage 64

Window access: shuffled DataLoader, batch 64, ``num_workers`` 0 and 2 (persistent). Worker start-up
is reported apart, as first-batch latency; throughput is steady state, whole epochs repeated until
``--min-windows`` windows. Each method runs ``--reps`` times, interleaved round robin so that all
suffer the same load from other jobs on the machine; medians are reported. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from benchmarks.report import BENCH_PYTHON, SCRATCH, have, import_seconds, md_table, ratio

WINDOW_S = 4.0
BATCH = 64
EPOCHS_MAX = 100  # timed epochs per run at most (the run stops at --min-windows or this, first)
SYNTH_EVENTS = {"left_hand": 0, "right_hand": 1}
REAL_EVENTS = {"T1": 0, "T2": 1}
REAL_EDF = Path(os.environ.get("SIGNALKIT_SAMPLE_DATA", "/work/shared/data")) / "eeg" / "eegmmidb_S001R03.edf"


def synthetic_edfs(out: Path, subjects: int, trials: int, montage: str) -> list[Path]:
    """Write (once, cached by size) the synthetic motor-imagery EDFs; return their paths."""
    from signalkit.synthetic.eeg import make_motor_imagery

    folder = out / f"mi_{subjects}x{trials}_{montage}"
    done = folder / ".done"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        make_motor_imagery(folder, n_subjects=subjects, n_trials=trials, montage=montage)
        done.touch()
    return sorted(folder.glob("sub-*/*.edf"))


def ingest_rows(files: list[Path], out: Path, jobs_list: list[int]) -> tuple[list, str]:
    """Ingest ``files`` with each ``jobs``; return table rows and the last store path."""
    from signalkit.store import ingest

    mb = sum(f.stat().st_size for f in files) / 1e6
    rows, store = [], ""
    warm = str(out / "warmup.zarr")  # first-time imports and page cache, untimed
    ingest([str(files[0])], warm, "eeg", {}, jobs=1, progress=False)
    shutil.rmtree(warm, ignore_errors=True)
    for jobs in jobs_list:
        store = str(out / f"store_j{jobs}.zarr")
        shutil.rmtree(store, ignore_errors=True)
        t = time.perf_counter()
        ingest([str(f) for f in files], store, "eeg", {}, jobs=jobs, progress=False)
        secs = time.perf_counter() - t
        rows.append([f"signalkit ingest, jobs={jobs}", len(files), f"{mb:.1f}", f"{secs:.2f}", f"{mb / secs:.1f}"])
    return rows, store


def signalkit_dataset(store: str, events: dict, preload: bool):
    """(dataset, collate_fn) of signalkit event windows (4 s from the event onset)."""
    from signalkit.datamodules.loading.collate import collate_sensor
    from signalkit.datamodules.windows import WindowDataset, build_sensor_index
    from signalkit.store import open_store

    st = open_store(store)
    index = build_sensor_index(st, WINDOW_S, events=events)
    return WindowDataset(st, index, preload=preload), collate_sensor


def braindecode_dataset(files: list[Path], events: dict, preload: bool):
    """(dataset, None) of braindecode windows from the same EDFs (4 s from each event onset)."""
    import mne
    from braindecode import datasets as bd
    from braindecode.preprocessing import create_windows_from_events

    raw_cls = getattr(bd, "RawDataset", None) or bd.BaseDataset
    parts = []
    for i, f in enumerate(files):
        raw = mne.io.read_raw_edf(f, preload=preload, verbose="error")
        parts.append(raw_cls(raw, description={"subject": i}, target_name=None))
    concat = bd.BaseConcatDataset(parts)
    sfreq = parts[0].raw.info["sfreq"]
    n = int(round(WINDOW_S * sfreq))
    windows = create_windows_from_events(
        concat, trial_start_offset_samples=0, trial_stop_offset_samples=0,
        window_size_samples=n, window_stride_samples=n, drop_last_window=True,
        mapping=events, preload=preload)
    return windows, None


def _loader(ds, collate, workers: int, seed: int) -> DataLoader:
    """The same loader for every method: seeded shuffle, batch 64, persistent workers."""
    g = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers, collate_fn=collate,
                      generator=g, persistent_workers=workers > 0)


def _count(batch) -> int:
    return (batch["x"] if isinstance(batch, dict) else batch[0]).shape[0]


def one_run(ds, collate, workers: int, seed: int, min_windows: int) -> dict:
    """One fresh loader: start-up, then steady-state throughput over repeated epochs.

    ``first``: seconds from DataLoader creation to the first batch (worker start-up included);
    the rest of that first epoch is a warm-up (file cache, memory maps, workers' imports), untimed.
    Then whole shuffled epochs are timed until at least ``min_windows`` windows have been read
    (persistent workers: no process start inside the timed part). Returns ``first`` and windows
    per wall second (``wps``) and per CPU second of this process plus its workers (``cps``: the
    measure that load from other jobs on a shared machine disturbs least).
    """
    t0 = time.perf_counter()
    loader = _loader(ds, collate, workers, seed)
    it = iter(loader)
    n_first = _count(next(it))
    first = time.perf_counter() - t0
    for batch in it:  # warm-up: the rest of the first epoch
        n_first += _count(batch)
    pids = [w.pid for w in getattr(it, "_workers", [])]  # idle between epochs (persistent workers)
    n, t, c, w0 = 0, time.perf_counter(), time.process_time(), _cpu_of(pids)
    while n < min_windows:
        for batch in loader:
            n += _count(batch)
    wall, cpu = time.perf_counter() - t, time.process_time() - c + _cpu_of(pids) - w0
    del it, loader  # shuts the persistent workers down
    return {"first": first, "wps": n / wall, "cps": n / max(cpu, 1e-9), "n": n}


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes ``pids`` (Linux ``/proc``)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def access_table(makers: dict, workers_list: list[int], reps: int, min_windows: int) -> tuple[str, dict]:
    """Build each dataset (timed), then interleave runs (round robin); return (markdown, results)."""
    built, res = {}, {}
    for make in makers.values():  # warm-up: first-time imports and file cache, untimed
        try:
            make()
        except Exception:
            pass
    for name, make in makers.items():
        t = time.perf_counter()
        try:
            built[name] = make()
        except Exception as e:  # a peer that cannot build on these files is reported, not fatal
            res[name] = {"error": f"{type(e).__name__}: {e}"[:120]}
            continue
        res[name] = {"build_s": time.perf_counter() - t, "n": len(built[name][0])}
    # a tiny recording (15 windows) would need hundreds of epochs: at least 100 epochs are enough
    n_min = min((len(ds) for ds, _ in built.values()), default=0)
    target = min(min_windows, EPOCHS_MAX * n_min)
    for workers in workers_list:
        for name in built:
            res[name][workers] = {"wps": [], "first": [], "cps": [], "timed": 0}
        for rep in range(reps):
            for name, (ds, collate) in built.items():
                r = one_run(ds, collate, workers, seed=rep, min_windows=target)
                for key in ("wps", "first", "cps"):
                    res[name][workers][key].append(r[key])
                res[name][workers]["timed"] = r["n"]
    med = {name: {w: {k: statistics.median(r[w][k]) for k in ("wps", "first", "cps")} for w in workers_list}
           for name, r in res.items() if "error" not in r}
    lazy, pre = med.get("braindecode lazy"), med.get("braindecode preload")
    rows = []
    for name, r in res.items():
        if "error" in r:
            rows.append([name, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", r["error"]])
            continue
        for w in workers_list:
            m = med[name][w]
            cps = m["cps"]
            spread = f"{min(r[w]['wps']):.0f}-{max(r[w]['wps']):.0f}"
            rows.append([name, r["n"], w, f"{r['build_s']:.2f}", f"{m['first'] * 1000:.0f}",
                         r[w]["timed"], f"{m['wps']:.0f}", spread,
                         ratio(m["wps"], lazy[w]["wps"]) if lazy else "-",
                         ratio(m["wps"], pre[w]["wps"]) if pre else "-",
                         f"{cps:.0f}" if cps else "-",
                         ratio(cps, lazy[w]["cps"]) if cps and lazy else "-",
                         ratio(cps, pre[w]["cps"]) if cps and pre else "-"])
    header = ["method", "windows", "workers", "build s", "first batch ms", "timed windows / run",
              "windows/s (median)", "range", "vs bd lazy", "vs bd preload", "windows/CPU-s",
              "CPU vs bd lazy", "CPU vs bd preload"]
    return md_table(header, rows), res


def import_table(reps: int) -> str:
    """Median fresh-interpreter import time of signalkit and braindecode (interleaved)."""
    mods = ["signalkit", "signalkit.datamodules"] + (["braindecode"] if have("braindecode") else [])
    times: dict[str, list[float]] = {m: [] for m in mods}
    for _ in range(reps):
        for m in mods:
            times[m].append(import_seconds(m))
    med = {m: statistics.median(v) for m, v in times.items()}
    rows = [[f"import {m}", f"{med[m]:.2f}", ratio(med[m], med.get("braindecode"))] for m in mods]
    return md_table(["statement", f"median s ({reps} fresh processes)", "vs braindecode"], rows)


def run(args: argparse.Namespace, emit=lambda text: None) -> str:
    """All tables as markdown; ``emit`` gets each part as soon as it is measured (so that a run
    stopped at a time limit still leaves its finished tables)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    peers = have("braindecode")
    parts = []
    datasets = [("synthetic", synthetic_edfs(out, args.subjects, args.trials, args.montage), SYNTH_EVENTS)]
    if REAL_EDF.exists():
        datasets.append(("EEGMMIDB S001R03", [REAL_EDF], REAL_EVENTS))
    for label, files, events in datasets:
        ing, store = ingest_rows(files, out / label.replace(" ", "_"), [1, 2] if len(files) > 1 else [1])
        parts.append(f"**{label}** ({len(files)} EDF files)\n\n"
                     + md_table(["ingest", "files", "MB (EDF)", "s", "MB/s"], ing))
        emit(parts[-1])
        makers = {
            "signalkit lazy (zarr)": lambda s=store, e=events: signalkit_dataset(s, e, False),
            "signalkit preload": lambda s=store, e=events: signalkit_dataset(s, e, True),
        }
        if peers:
            makers["braindecode lazy"] = lambda f=files, e=events: braindecode_dataset(f, e, False)
            makers["braindecode preload"] = lambda f=files, e=events: braindecode_dataset(f, e, True)
        table, _ = access_table(makers, args.workers, args.reps, args.min_windows)
        parts.append(table)
        emit(parts[-1])
    parts.append(import_table(args.import_reps))
    emit(parts[-1])
    note = (f"Window access, every method alike: shuffled DataLoader (seeded RandomSampler), batch {BATCH}, "
            f"{WINDOW_S:g} s windows, persistent workers. Each run makes a fresh loader: *first batch* is "
            "the time from DataLoader creation to the first batch (worker start-up included); the rest of "
            f"that epoch is an untimed warm-up; then whole epochs are timed until >= {args.min_windows} "
            f"windows or {EPOCHS_MAX} epochs, whichever comes first (*timed windows / run*): steady-state access, "
            "no process start inside. "
            f"Median (and range) of {args.reps} runs per method, interleaved round robin so that all "
            "suffer the same load from other jobs. windows/CPU-s: timed windows per CPU second of the main "
            "process and its DataLoader workers together (user + system; less disturbed by other jobs than "
            "wall clock on a shared machine). bd = braindecode; "
            "build s: index/windows construction (signalkit: from the store; braindecode: from the EDF "
            "files, incl. reading them when preloaded). Wall clock on a shared machine.")
    if not peers:
        note += " braindecode is not importable in this Python: signalkit rows only."
    emit(note)
    return "\n\n".join(parts + [note])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(SCRATCH / "data_path"))
    p.add_argument("--subjects", type=int, default=8)
    p.add_argument("--trials", type=int, default=30, help="trials per class and subject")
    p.add_argument("--montage", default="64", choices=["19", "64"])
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--reps", type=int, default=5, help="interleaved runs per method (median reported)")
    p.add_argument("--min-windows", type=int, default=10000, help="timed windows per run (whole epochs)")
    p.add_argument("--import-reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="3 runs of >= 5000 windows, 3 import reps")
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.min_windows, args.import_reps = 3, 5000, 3
    if not have("braindecode") and BENCH_PYTHON.exists():
        print(f"(hint: run with {BENCH_PYTHON} to include braindecode)")
    run(args, emit=lambda text: print(text + "\n", flush=True))


if __name__ == "__main__":
    main()
