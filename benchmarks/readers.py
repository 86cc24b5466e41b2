"""Reader speed: signalkit's read of a file against MNE's read of the same file, side by side in
one process, interleaved.

    python -m benchmarks.readers [--data ../shared/data] [--repeats 20] [--only SUBSTRING ...]

Five reads of each file, in rounds (``gc.collect()`` before each read, outside the timing; the heap
of the imports and set-up is moved out of the collector's way with ``gc.freeze()`` first, the same
for every read, so a collection costs ~1 ms instead of ~80 ms), in a
carryover-balanced order: the timed rounds walk the rows of a Williams square (5 reads: 10 rows,
the square and its mirror), ``--repeats`` rounded up to whole squares (``--repeats 11``: 20 rounds,
2 squares), so that each read is timed equally often in each place of a round and, within a round,
right after each other read equally often; one warm-up round (the square's last row) comes first.
A read's cost depends on the read before it (on this machine a read of the MEG file after an MNE
read costs ~3 ms more CPU than the same read after a signalkit read: ~1100 more page faults, of
the memory MNE's read gave back to the system, 2026-12-04), and the plain rotation this benchmark
used before (``--order rotate``) always put the plain signalkit read after
MNE's bare read and MNE's like-for-like read after a signalkit read, biasing the plain ratio up:

- **signalkit**: ``read_recording(path, modality)``, the whole Recording: float32 signal, aux
  channels, events, head-frame positions, the checks. The sha256 of the file is computed when
  the Recording's ``attrs["sha256"]`` is first read (not here; see the next read).
- **signalkit + sha256**: the same read, then ``attrs["sha256"]`` read (what the plain read cost
  when it hashed the file itself).
- **MNE, like for like** (the acceptance baseline): what a user of MNE calls to get the same
  things: ``mne.io.read_raw(preload=True)`` (``mne.read_epochs``/``read_epochs_eeglab`` for
  epochs), ``get_data`` of the data channels and of the aux channels as float32, the annotations
  (parsed by the read), ``mne.find_events`` where MNE has a default stim channel, and positions:
  the ``loc`` of the channels, after ``rename_channels`` + ``set_montage(template)`` where
  signalkit takes a template because the file has no positions (the mapping, the template name
  and the channel indices are worked out before the timing). Not on MNE's side: the sha256 of
  the file (MNE has none), the BIDS electrodes table of the sEEG file (signalkit reads it; MNE
  alone does not), signalkit's checks of the file.
- **signalkit, sha256 given**: the same read with ``sha256=`` passed, as ``signalkit ingest``
  calls the reader (the store hashes each source itself, before the read): the read without
  the hash, which MNE has no counterpart of.
- **MNE, bare**: ``read_raw(preload=True).get_data()`` only (what this benchmark measured before).

Reported per file: the medians of CPU time (this process and its children, e.g. the EEGLAB
helper process that parses MAT files, counted to the nanosecond from ``/proc/<pid>/task/*/schedstat``
where the kernel has it; robust on a loaded machine) and of wall-clock time, and
the ratios signalkit / MNE. Files: small generated ones in every writable format (EDF, BDF, FIF,
BrainVision, EEGLAB, -epo.fif; 30 EEG + 1 EOG channels at 256 Hz for 120 s, annotations) and the
real files of the sample folder when present.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path


def _task_cpu(pid: int) -> float | None:
    """CPU seconds of process ``pid``, summed over its threads, to the nanosecond (the kernel's
    ``schedstat``; ``cpu_times`` counts in 10 ms clock ticks, coarser than a read of a small file)."""
    import glob

    total, found = 0, False
    for name in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(name) as fh:
                total += int(fh.read().split()[0])
            found = True
        except (OSError, ValueError, IndexError):
            pass
    return total * 1e-9 if found else None


def _children_cpu() -> float:
    """CPU seconds of this process's live children (the EEGLAB MAT-parser helper)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil missing: children not counted
        return 0.0
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        precise = _task_cpu(child.pid)
        if precise is not None:
            total += precise
            continue
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _mne_open(path: Path):
    import mne

    name = path.name.lower()
    if name.endswith("-epo.fif"):
        return mne.read_epochs(path, preload=True, verbose="error")
    try:
        return mne.io.read_raw(path, preload=True, verbose="error")
    except (ValueError, TypeError) as err:
        if "read_epochs_eeglab" not in str(err):
            raise
        return mne.io.read_epochs_eeglab(path, verbose="error")


def _mne_bare(path: Path, plan: dict):
    return _mne_open(path).get_data()


def _plan(path: Path, modality: str) -> dict:
    """What the like-for-like MNE read does for ``path`` (worked out once, before the timing)."""
    import mne

    from signalkit.io import mne_reader
    from signalkit.io.mne_events import default_stim_channels
    from signalkit.io.montage import canonical_names

    rec = _sk_read(path, modality)
    inst = _mne_open(path)
    template, _ = mne_reader._choose_montage(inst, "auto") if not str(path).endswith("_ieeg.edf") else (None, False)
    mapping = {}
    if template is not None:
        eeg = [inst.ch_names[i] for i in mne.pick_types(inst.info, eeg=True, exclude=[])]
        mapping = {k: v for k, v in canonical_names(eeg, template).items() if k != v}
    stim = isinstance(inst, mne.io.BaseRaw) and bool(default_stim_channels(inst))
    renamed = [mapping.get(n, n) for n in inst.ch_names]  # the channels of the Recording, by index
    picks = [renamed.index(str(n)) for n in rec["channel"].values]
    aux = [renamed.index(str(n)) for n in rec["aux_channel"].values] if "aux_channel" in rec.coords else []
    return {"picks": picks, "aux": aux, "template": template, "mapping": mapping, "stim": stim}


def _mne_full(path: Path, plan: dict):
    """MNE's read of what signalkit returns (see module docstring)."""
    import mne
    import numpy as np

    inst = _mne_open(path)
    if plan["template"] is not None:
        if plan["mapping"]:
            inst.rename_channels(plan["mapping"], verbose="error")
        inst.set_montage(plan["template"], on_missing="ignore", verbose="error")
    picks, aux = plan["picks"], plan["aux"]
    data = inst.get_data(picks=picks).astype(np.float32)
    extra = inst.get_data(picks=aux).astype(np.float32) if aux else None
    events = (inst.annotations.onset, inst.annotations.description) if isinstance(inst, mne.io.BaseRaw) else inst.events
    if plan["stim"]:
        events = (events, mne.find_events(inst, verbose="error"))
    pos = np.array([inst.info["chs"][i]["loc"][:3] for i in picks])
    return data, extra, events, pos


def _sk_read(path: Path, modality: str, plan: dict | None = None):
    from signalkit.io import read_recording

    return read_recording(path, modality)


def _sk_hashed(path: Path, modality: str):
    from signalkit.io import read_recording

    rec = read_recording(path, modality)
    rec.attrs["sha256"]
    return rec


def _sk_given(path: Path, modality: str, sha: str):
    from signalkit.io import read_recording

    return read_recording(path, modality, sha256=sha)


def generated_files(out: Path, seconds: float = 120.0) -> dict[str, Path]:
    """One file per writable format: 30 EEG + 1 EOG channel, 256 Hz, annotations every 4 s."""
    import mne
    import numpy as np

    rng = np.random.default_rng(0)
    sfreq, n = 256.0, int(seconds * 256)
    names = [f"{c}" for c in ("Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 CP5 CP1 CP2 CP6 "
                               "P7 P3 Pz P4 P8 PO3 PO4 O1 Oz O2").split()] + ["EOG1"]
    info = mne.create_info(names, sfreq, ["eeg"] * 30 + ["eog"])
    raw = mne.io.RawArray(rng.standard_normal((31, n)) * 1e-5, info, verbose="error")
    onsets = np.arange(2.0, seconds - 2, 4.0)
    raw.set_annotations(mne.Annotations(onsets, np.full(len(onsets), 1.0), ["a", "b"] * (len(onsets) // 2)
                                        + ["a"] * (len(onsets) % 2)))
    files = {}
    for fmt, name in (("edf", "g.edf"), ("bdf", "g.bdf"), ("brainvision", "g.vhdr"), ("eeglab", "g.set")):
        mne.export.export_raw(out / name, raw, fmt=fmt, overwrite=True, verbose="error")
        files[f"generated {fmt}"] = out / name
    raw.save(out / "g_raw.fif", overwrite=True, verbose="error")
    files["generated fif"] = out / "g_raw.fif"
    events = mne.make_fixed_length_events(raw, duration=1.0)
    mne.Epochs(raw, events, tmin=0, tmax=1 - 1 / sfreq, baseline=None, preload=True,
               verbose="error").save(out / "g-epo.fif", overwrite=True, verbose="error")
    files["generated -epo.fif"] = out / "g-epo.fif"
    return files


def real_files(data: Path | None) -> dict[str, tuple[Path, str]]:
    if data is None or not data.is_dir():
        return {}
    cands = {
        "EEGMMIDB edf": (data / "eeg" / "eegmmidb" / "S001R03.edf", "eeg"),
        "EEGLAB sample .set": (data / "eeg" / "test_raw.set", "eeg"),
        "Elekta MEG fif": (data / "meg" / "test_elekta_3ch_raw.fif", "meg"),
        "sEEG edf + electrodes.tsv": (data / "ieeg" / "sub-pat01_ses-test_acq-seeg_ieeg.edf", "ieeg"),
    }
    smni = sorted((data / "eeg" / "smni").glob("*-epo.fif"))
    if smni:
        cands["SMNI -epo.fif"] = (smni[0], "eeg")
    return {k: v for k, v in cands.items() if v[0].exists()}


def williams_orders(n: int) -> list[list[int]]:
    """The rows of a Williams square of ``n`` treatments: within the rows, each treatment
    follows each other one equally often (once for even ``n``; with the mirrored rows, twice,
    for odd ``n``)."""
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + i) % n for x in first] for i in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


def round_orders(n: int, repeats: int, order: str = "balanced") -> tuple[list[int], list[list[int]]]:
    """The order of ``n`` reads (indices) in the warm-up round and in each timed round.

    ``balanced``: the timed rounds are the rows of :func:`williams_orders` ``(n)``, ``repeats`` rounded
    up to a whole number of squares (at least one), so that over them each read is in each place of a
    round equally often and follows each other read within a round equally often; the warm-up round
    is the square's last row (the rows then follow each other cyclically from the warm-up on).
    ``rotate`` (the earlier order): ``repeats`` timed rounds, round ``r`` the reads rotated by ``r``
    (the warm-up is round 0, unrotated).
    """
    if order == "rotate":
        rounds = [[(i + r) % n for i in range(n)] for r in range(repeats + 1)]
        return rounds[0], rounds[1:]
    if order != "balanced":
        raise ValueError(f"order: expected balanced or rotate, got {order!r}")
    square = williams_orders(n)
    squares = max(1, -(-repeats // len(square)))
    return square[-1], [list(row) for _ in range(squares) for row in square]


def describe_rounds(n: int, repeats: int, order: str = "balanced") -> str:
    """One line on the rounds :func:`round_orders` gives, e.g. ``rounds: 20 (2 whole Williams squares
    of 10 rows; --repeats 11 rounded up), after 1 warm-up round, order balanced``."""
    timed = round_orders(n, repeats, order)[1]
    if order == "rotate":
        return f"rounds: {len(timed)} (rotations of {n} reads), after 1 warm-up round, order rotate"
    rows = len(williams_orders(n))
    squares = len(timed) // rows
    note = "" if len(timed) == repeats else f"; --repeats {repeats} rounded up"
    return (f"rounds: {len(timed)} ({squares} whole Williams square{'s' * (squares > 1)} of {rows} rows{note}), "
            "after 1 warm-up round, order balanced")


READS = ("signalkit", "signalkit_hashed", "signalkit_sha_given", "mne_full", "mne_bare")


def measure(path: Path, modality: str, repeats: int, order: str = "balanced") -> dict[str, dict[str, float]]:
    """Median CPU and wall seconds of each read over the timed rounds of :func:`round_orders` (``balanced``:
    ``repeats`` rounded up to whole Williams squares; ``rotate``: ``repeats`` rounds), after one warm-up round."""
    plan = _plan(path, modality)
    from signalkit.recording import file_sha256

    sha = file_sha256(path) if path.is_file() else "0" * 64
    reads = {
        "signalkit": lambda: _sk_read(path, modality),
        "signalkit_hashed": lambda: _sk_hashed(path, modality),
        "signalkit_sha_given": lambda: _sk_given(path, modality, sha),
        "mne_full": lambda: _mne_full(path, plan),
        "mne_bare": lambda: _mne_bare(path, plan),
    }
    names = list(READS)
    times: dict[str, dict[str, list[float]]] = {k: {"cpu": [], "wall": []} for k in names}
    warm_up, timed = round_orders(len(names), repeats, order)
    gc.collect()
    gc.freeze()  # what the process holds before the reads: not re-scanned by every collection
    try:
        _rounds(reads, names, [warm_up, *timed], times)
    finally:
        gc.unfreeze()
    return {k: {m: statistics.median(v) for m, v in d.items()} for k, d in times.items()}


def _rounds(reads: dict, names: list[str], rows: list[list[int]], times: dict) -> None:
    """Run the reads of every row (round 0 warms up, untimed); append CPU and wall seconds to ``times``."""
    for r, row in enumerate(rows):
        for name in (names[i] for i in row):
            gc.collect()
            k0 = _children_cpu()  # queried outside the timed span
            c0, w0 = time.process_time(), time.perf_counter()
            out = reads[name]()
            w1, c1 = time.perf_counter(), time.process_time()
            k1 = _children_cpu()
            del out
            if r:  # round 0 warms up
                times[name]["cpu"].append(c1 - c0 + k1 - k0)
                times[name]["wall"].append(w1 - w0)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("SIGNALKIT_SAMPLE_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not Path(default).is_dir():
        default = "/work/shared/data"
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--repeats", type=int, default=20,
                        help="timed rounds (balanced order: rounded up to whole Williams squares of 10 rows)")
    parser.add_argument("--only", nargs="*", default=None, help="keep files whose label contains one of these")
    parser.add_argument("--order", choices=("balanced", "rotate"), default="balanced",
                        help="order of the reads in a round (see the module docstring)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        todo = {k: (v, "eeg") for k, v in generated_files(Path(tmp)).items()}
        todo.update(real_files(args.data))
        if args.only:
            todo = {k: v for k, v in todo.items() if any(s.lower() in k.lower() for s in args.only)}
        print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"{describe_rounds(len(READS), args.repeats, args.order)}")
        print("| file | signalkit CPU ms | signalkit + its sha256 CPU ms | signalkit sha256 given CPU ms "
              "| MNE like-for-like CPU ms | MNE bare CPU ms | CPU ratio vs like-for-like | same, + its sha256 "
              "| same, sha256 given | CPU ratio vs bare | wall ratio vs like-for-like | wall ratio vs bare |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for label, (path, modality) in todo.items():
            m = measure(path, modality, args.repeats, args.order)
            sk, full, bare = m["signalkit"], m["mne_full"], m["mne_bare"]
            row = {"file": label, **{f"{k}_{u}_s": m[k][u] for k in m for u in ("cpu", "wall")},
                   "cpu_ratio": sk["cpu"] / full["cpu"], "cpu_ratio_bare": sk["cpu"] / bare["cpu"],
                   "cpu_ratio_hashed": m["signalkit_hashed"]["cpu"] / full["cpu"],
                   "cpu_ratio_sha_given": m["signalkit_sha_given"]["cpu"] / full["cpu"],
                   "wall_ratio": sk["wall"] / full["wall"], "wall_ratio_bare": sk["wall"] / bare["wall"]}
            rows.append(row)
            print(f"| {label} | {1e3 * sk['cpu']:.1f} | {1e3 * m['signalkit_hashed']['cpu']:.1f} "
                  f"| {1e3 * m['signalkit_sha_given']['cpu']:.1f} | {1e3 * full['cpu']:.1f} | {1e3 * bare['cpu']:.1f} "
                  f"| {row['cpu_ratio']:.2f} | {row['cpu_ratio_hashed']:.2f} | {row['cpu_ratio_sha_given']:.2f} "
                  f"| {row['cpu_ratio_bare']:.2f} | {row['wall_ratio']:.2f} | {row['wall_ratio_bare']:.2f} |", flush=True)
        print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return rows


if __name__ == "__main__":
    main()
