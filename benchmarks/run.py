"""Run the benchmarks and write ``benchmarks/RESULTS.md``.

    python -m benchmarks.run --quick     # make bench-quick: under 10 minutes on a 2-core machine
    python -m benchmarks.run --full      # make bench

Each benchmark runs in its own subprocess with a time limit; its markdown output becomes one
section of RESULTS.md (a benchmark over its limit is reported as such, with what it printed).
The peer comparisons (data path, training speed, decoding quality) run with the peers' own
environment ``.venv-bench`` (created by ``python -m benchmarks.peer_env``) so that one process
imports signalkit and braindecode; without it they run with this Python, signalkit rows only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.report import BENCH_PYTHON, ROOT, SCRATCH, machine_line

DATA = os.environ.get("SIGNALKIT_SAMPLE_DATA", str(ROOT.parent / "shared" / "data"))


@dataclass
class Job:
    """One benchmark: a title, its command per mode (None = not run in that mode) and limits."""

    title: str
    quick: list[str] | None
    full: list[str] | None
    quick_limit: float
    full_limit: float
    peers: bool = False  # needs the peers' environment
    why_not: str = ""  # shown when the mode has no command
    notes: list[str] = field(default_factory=list)
    recorded: tuple[str, ...] = ()  # headings (prefixes) of RECORDED.md sections shown in --quick
    needs_cuda: bool = False  # reported as not run (not as failed) on a machine without CUDA


def recorded_sections(prefixes: tuple[str, ...], path: Path = ROOT / "benchmarks" / "RECORDED.md") -> str:
    """The ``## `` sections of RECORDED.md whose heading starts with one of ``prefixes``, as ``###``."""
    if not prefixes or not path.exists():
        return ""
    parts = path.read_text().split("\n## ")[1:]
    found = [part for part in parts if part.startswith(prefixes)]
    return "\n\n".join("### " + part.strip() for part in found)


def jobs() -> list[Job]:
    d = SCRATCH
    haxby = ["benchmarks/fmri.py", "--only", "haxby", "--threads", "1", "--out", f"{d}/fmri_haxby", "--data", DATA]
    return [
        Job("Decoding quality on real EEG (vs braindecode EEGNet / ShallowFBCSPNet, CSP, tangent space, xDAWN)",
            ["-m", "benchmarks.decoding_quality", "--quick"],
            ["-m", "benchmarks.decoding_quality"], 420, 4 * 3600, peers=True,
            notes=["Real recordings decide the default (synthetic data stays in the unit tests). signalkit runs each "
                   "data set's recipe (configs/experiment/eeg/): on EEGMMIDB eeg_bandpower as a 5-member ensemble "
                   "over seeds (model.members: 5; CPU time counts every member): position-keyed spatial filters "
                   "started by closed-form CSP, log band power and an EEGNet-style branch, with a closed-form LDA "
                   "read-out; on the evoked sets eeg_erp (closed-form LDA spatial filters and read-out of the "
                   "decimated waveforms), one member. --quick runs 1 seed on two tasks."],
            recorded=("EEG decoding quality on real data",)),
        Job("fMRI: Haxby leave one run out (experiment=fmri/haxby vs the linear SVM)", haxby, haxby, 180, 600,
            recorded=("fMRI: Haxby",),
            notes=["All 8 folds, both acq- variants, 8-way and face vs house: the closed-form ridge read-out "
                   "trains in one pass (about 1 CPU s per fold), the SVM on the same blocks in the same process."]),
        Job("Data path: ingest, window access, import time (vs braindecode)",
            ["-m", "benchmarks.data_path", "--quick", "--montage", "19", "--out", f"{d}/data_path"],
            ["-m", "benchmarks.data_path", "--montage", "64", "--out", f"{d}/data_path"], 300, 1800, peers=True,
            notes=["With 2 DataLoader workers each worker builds its batches in a ring of shared-memory slots "
                   "that it reuses (datamodules/loading/shared_batches.py); the main process wraps a slot without a "
                   "copy and frees it when the batch is dropped. A fresh shared segment per batch (PyTorch's "
                   "default) cost about 2.5 ms per 3 MB batch, five times the read itself, and held signalkit "
                   "to about 4x braindecode lazy with 2 workers. On the 15-window EEGMMIDB file one epoch is one "
                   "batch, so loader start-up per epoch dominates there."]),
        Job("Training step speed and memory, CPU (vs braindecode)",
            ["-m", "benchmarks.training_speed", "--quick", "--families", "large_kernel_micro", "afno", "hyena", "ssm",
             "--timeout", "90"],
            ["-m", "benchmarks.training_speed"], 180, 3600, peers=True,
            notes=["--quick: 19 channels, 3 timed steps, one repetition."]),
        Job("Kernels (GPU)", ["benchmarks/kernels.py", "--quick", "--dtype", "float32"],
            ["benchmarks/kernels.py"], 60, 1800, needs_cuda=True),
        Job("Training steps (GPU): default EEG, weather and video models vs EEGNet", ["-m", "benchmarks.gpu_steps"],
            ["-m", "benchmarks.gpu_steps"], 120, 600, peers=True, needs_cuda=True,
            notes=["`benchmarks/gpu_check.sh` runs this with the kernel tests and benchmarks/kernels.py "
                   "within 8 minutes."]),
        Job("Readers: read time vs MNE (like-for-like read per format)",
            ["-m", "benchmarks.readers", "--repeats", "10"], ["-m", "benchmarks.readers"], 150, 1200,
            notes=["CPU time of one read (signal as float32, events, positions), the safety helper process "
                   "included, against MNE's preload=True read with the same outputs, in interleaved rounds of "
                   "one process in a carryover-balanced order (whole Williams squares of 10 rounds); `--quick` "
                   "runs one square (10 rounds), the full run two."],
            recorded=("Readers: read time vs MNE",)),
        Job("Kernels (CPU): banded depthwise convolution vs PyTorch conv1d",
            ["-m", "benchmarks.kernels_cpu", "--quick"], ["-m", "benchmarks.kernels_cpu"], 120, 300),
        Job("Backbone scaling with sequence length",
            ["benchmarks/scaling.py", "--quick", "--lengths", "1024", "2048", "4096", "8192", "16384",
             "--families", "large_kernel", "afno", "hyena", "ssm", "attention", "--timeout", "30"],
            ["benchmarks/scaling.py"], 90, 3600),
        Job("Scaling past one machine: Dask ingest, S3 window reads, 1.7 TB corpus model", None,
            ["-m", "benchmarks.distributed", "--out", f"{d}/distributed"], 0, 3600,
            why_not="starts Dask clusters of 1, 2 and 4 workers and an S3 server",
            recorded=("Scaling past one machine",)),
        Job("Long-range delayed XOR", None, ["benchmarks/long_range.py", "--small"], 0, 3600,
            why_not="trains every backbone for minutes", recorded=("Backbones: long-range",)),
        Job("Transfer: pretraining then fine-tuning on another montage", None,
            ["benchmarks/transfer.py", "--out", f"{d}/transfer"], 0, 7200,
            why_not="pretraining + fine-tuning runs take several minutes even with --quick",
            recorded=("Pretraining transfer",)),
        Job("fMRI", None, ["benchmarks/fmri.py", "--out", f"{d}/fmri", "--data", DATA], 0, 3600,
            why_not="trains three fMRI models", recorded=("fMRI",)),
        Job("Weather", None, ["benchmarks/weather.py", "--out", f"{d}/weather",
                              "--data", f"{DATA}/weather"], 0, 3600, why_not="trains a weather model",
            recorded=("Weather",)),
        Job("Video (Moving MNIST)", None,
            ["benchmarks/video.py", "--digits", f"{DATA}/video/mnist_test_images_10k.npz", "--minutes", "8",
             "--out", f"{d}/video"], 0, 3600, why_not="trains each model for minutes of CPU time",
            recorded=("Video",)),
    ]


def run_job(python: str, args: list[str], limit: float) -> tuple[int | None, str, float]:
    """Run ``python args`` in the repo root with a time limit; (return code or None, stdout, s)."""
    t = time.monotonic()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([python, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    if code not in (0, None):
        tail = "\n".join(err.strip().splitlines()[-3:])
        out = (out.strip() + f"\n\n(exit code {code}: `{tail[-300:]}`)").strip()
    return code, out.strip(), time.monotonic() - t


def versions(python: str) -> str:
    """Library versions as seen by ``python``."""
    code = ("import importlib.metadata as m\nout=[]\n"
            "for d in ['signalkit-ml','torch','lightning','mne','braindecode','pyriemann','scikit-learn','zarr']:\n"
            "    try: out.append(f'{d} {m.version(d)}')\n"
            "    except m.PackageNotFoundError: pass\nprint(', '.join(out))")
    res = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return res.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    p.add_argument("--budget", type=float, default=None, help="total seconds (default 570 quick)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    p.add_argument("--only", nargs="*", default=None, help="titles (substrings) to run")
    args = p.parse_args(argv)
    quick = bool(args.quick)
    budget = args.budget or (570.0 if quick else 6 * 3600.0)
    peer_py = str(BENCH_PYTHON) if BENCH_PYTHON.exists() else sys.executable
    start = time.monotonic()
    header = [
        "# signalkit benchmarks", "",
        f"Generated by `python -m benchmarks.run {'--quick' if quick else '--full'}` "
        f"on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.", "",
        f"- Machine: {machine_line()}. Shared with other jobs: wall-clock numbers are noisy; "
        "peer comparisons interleave signalkit and the peer in one run and report ratios.",
        f"- Test environment (`{sys.executable}`): {versions(sys.executable)}",
        f"- Peer environment (`{peer_py}`): {versions(peer_py)}",
        "- CPU only (no GPU on this machine)." if not quick else
        "- CPU only. `--quick`: fewer seeds, epochs and repetitions than `--full` (see each section).",
    ]
    if peer_py == sys.executable:
        header.append("- `.venv-bench` is missing (`python -m benchmarks.peer_env`): peers left out.")
    import torch

    cuda = torch.cuda.is_available()
    sections, summary = [], []
    for job in jobs():
        if args.only and not any(s.lower() in job.title.lower() for s in args.only):
            continue
        cmd = job.quick if quick else job.full
        if cmd is None:
            summary.append([job.title, "not run", f"--quick: {job.why_not}; `make bench` runs it"])
            last = recorded_sections(job.recorded)
            sections.append(f"## {job.title}\n\nNot run in `--quick` ({job.why_not}); `make bench` runs "
                            f"`python {' '.join(job.full or [])}`."
                            + (f" Last recorded run (from `benchmarks/RECORDED.md`):\n\n{last}" if last else ""))
            continue
        if job.needs_cuda and not cuda:
            summary.append([job.title, "not run", "needs a CUDA GPU; none on this machine"])
            sections.append(f"## {job.title}\n\nNot run: `python {' '.join(cmd)}` needs a CUDA GPU and this "
                            "machine has none.")
            continue
        left = budget - (time.monotonic() - start)
        limit = min(job.quick_limit if quick else job.full_limit, left)
        if limit < 20:
            summary.append([job.title, "skipped", "total time budget spent"])
            sections.append(f"## {job.title}\n\nSkipped: the run's total time budget was spent.")
            continue
        python = peer_py if job.peers else sys.executable
        print(f"[bench] {job.title} (limit {limit:.0f} s)", flush=True)
        code, out, secs = run_job(python, cmd, limit)
        status = "ok" if code == 0 else ("timed out" if code is None else f"exit {code}")
        summary.append([job.title, status, f"{secs:.0f} s"])
        body = out or "(no output)"
        if code is None:
            body += f"\n\n**Stopped at its time limit ({limit:.0f} s)**; the output above is partial."
        notes = "\n\n".join(job.notes)
        full = recorded_sections(job.recorded) if quick else ""
        if full:
            notes += ("\n\n" if notes else "") + f"Last recorded full run (from `benchmarks/RECORDED.md`):\n\n{full}"
        sections.append(f"## {job.title}\n\n`{Path(python).parent.parent.name}/bin/python {' '.join(cmd)}` "
                        f"({status}, {secs:.0f} s)\n\n{body}" + (f"\n\n{notes}" if notes else ""))
        print(f"[bench]   {status} in {secs:.0f} s", flush=True)
    from benchmarks.report import md_table

    total = time.monotonic() - start
    text = "\n".join(header) + "\n\n## Summary\n\n" + md_table(["benchmark", "status", "time / note"], summary) \
        + f"\n\nTotal: {total:.0f} s.\n\n" + "\n\n".join(sections) + "\n"
    Path(args.out).write_text(text)
    print(f"[bench] wrote {args.out} ({total:.0f} s)")


if __name__ == "__main__":
    main()
