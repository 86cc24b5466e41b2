"""fMRI benchmark: streaming ingest, and the three tasks against their baselines.

    python benchmarks/fmri.py [--out /tmp/fmri_bench] [--data ../shared/data] [--quick]

Rows (markdown table on stdout, JSON in ``<out>/fmri.json``):

* ingest: a synthetic 64x64x48x200 float32 ``.nii`` (150 MB) through ``signalkit.store.ingest``
  in a child process: seconds, MB/s and the child's peak resident memory.
* decoding (synthetic block design, 4 subjects, split by subject): volume model and region
  (sensor-tokenizer) model accuracy beside the functional-connectivity + logistic baseline.
* forecasting (synthetic): next-frame MSE vs persistence.
* reconstruction (real ``nipy_functional.nii.gz``, split by time): masked-voxel MSE vs each
  voxel's run mean and vs the run's global mean.
* haxby (real, ``fmri/haxby`` BIDS, subject 1): ``experiment=fmri/haxby test_run=<run>`` leave one
  run out over the runs (the closed-form ridge trains on all other runs; deterministic, no seeds),
  8-way and face vs house, on the ``acq-1slice`` and ``acq-25mm`` (brain mask from ``derivatives/``)
  variants, with the linear SVM on the same blocks from the same run's ``metrics.json``; per fold,
  mean ± std over folds and the paired difference. ``--haxby-folds N`` limits the folds (runs 1..N);
  ``--override KEY=VALUE`` (repeatable) is added to every fold's command, e.g.
  ``--override task.readout_samples=volume``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INGEST_CHILD = """
import resource, sys, time
import signalkit.store
t = time.time()
signalkit.store.ingest([sys.argv[1]], sys.argv[2], "fmri", {}, progress=False)
print(time.time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_ingest(out: Path) -> dict:
    import numpy as np

    from signalkit.synthetic.fmri import write_nifti_frames

    shape = (64, 64, 48, 200)
    base = np.random.default_rng(0).standard_normal(shape[:3]).astype(np.float32)
    path = write_nifti_frames(out / "ingest.nii", shape, lambda t: base + t)
    proc = subprocess.run([sys.executable, "-c", INGEST_CHILD, str(path), str(out / "ingest.zarr")],
                          capture_output=True, text=True, check=True)
    seconds, rss_kb = proc.stdout.split()[-2:]
    size_mb = os.path.getsize(path) / 2**20
    return {"file_mb": round(size_mb, 1), "seconds": round(float(seconds), 2),
            "mb_per_s": round(size_mb / float(seconds), 1), "peak_rss_mb": round(int(rss_kb) / 1024, 1)}


def _train(overrides: list[str]) -> dict:
    from signalkit.training import train

    return train([*overrides, "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=1"])


HAXBY_CLASSES = "[bottle,cat,chair,face,house,scissors,scrambledpix,shoe]"
HAXBY_TASKS = (("8-way", HAXBY_CLASSES), ("face vs house", "[face,house]"))


def bench_haxby(root: Path, out: Path, folds: int, overrides: list[str] | None = None) -> dict:
    """Leave-one-run-out balanced accuracy of ``experiment=fmri/haxby`` (closed-form ridge, trained
    on every other run) and of the linear SVM on the same blocks, both from each fold's
    ``metrics.json``; per fold, mean ± std over folds, and the paired difference."""
    import numpy as np

    from signalkit.store import ingest

    func = root / "sub-1" / "func"
    results: dict = {}
    for acq, mask in (("1slice", None), ("25mm", "label-brain")):
        runs = sorted(func.glob(f"*acq-{acq}_*_bold.nii.gz"))
        if not runs:
            continue
        store = str(out / f"haxby_{acq}.zarr")
        ingest([str(p) for p in runs], store, "fmri", {"preprocess": {"mask": mask}} if mask else {}, progress=False)
        ids = [p.name.split("_run-")[1].split("_")[0] for p in runs]
        for task, events in HAXBY_TASKS:
            model, svm, cpu = [], [], time.process_time()
            for test in ids[:folds]:
                m = _train(["experiment=fmri/haxby", f"data.store={store}", f"data.events={events}",
                            f"test_run={test}", f"output_dir={out / f'haxby_{acq}_{task[:1]}_{test}'}",
                            *(overrides or [])])
                model.append(m["test/balanced_accuracy"])
                svm.append(m["test/balanced_accuracy_linear_svm"])
            diff = np.asarray(model) - np.asarray(svm)
            results[f"haxby_{acq}_{task}"] = {
                "test_runs": ids[:folds], "model": model, "linear_svm": svm,
                "model_mean": float(np.mean(model)), "model_std": float(np.std(model)),
                "svm_mean": float(np.mean(svm)), "svm_std": float(np.std(svm)),
                "diff_mean": float(diff.mean()), "diff_std": float(diff.std()),
                "wins_ties_losses": [int((diff > 0).sum()), int((diff == 0).sum()), int((diff < 0).sum())],
                "cpu_seconds": round(time.process_time() - cpu, 1)}
    return results


def haxby_table(res: dict) -> str:
    """Markdown: one row per (acq, task) with per-fold scores, means and the paired difference."""
    rows = ["| Haxby sub-1, leave one run out | folds | experiment=fmri/haxby (ridge) | linear SVM, same blocks "
            "| paired difference (ridge - SVM) | wins/ties/losses | CPU s |", "|---|---|---|---|---|---|---|"]
    per_fold = []
    for key, r in res.items():
        w, t, lo = r["wins_ties_losses"]
        rows.append(f"| {key[6:]} | {len(r['model'])} | {r['model_mean']:.3f} ± {r['model_std']:.3f} "
                    f"| {r['svm_mean']:.3f} ± {r['svm_std']:.3f} | {r['diff_mean']:+.3f} ± {r['diff_std']:.3f} "
                    f"| {w}/{t}/{lo} | {r['cpu_seconds']} |")
        per_fold.append(f"| {key[6:]} | " + " | ".join(f"{a:.3f} / {b:.3f}" for a, b in zip(r["model"], r["linear_svm"]))
                        + " |")
    runs = next(iter(res.values()))["test_runs"] if res else []
    head = "| per test run: ridge / SVM | " + " | ".join(runs) + " |\n|---|" + "---|" * len(runs)
    return ("\n".join(rows) + "\n\nBalanced accuracy (sklearn's), mean ± std over the test runs; the ridge is "
            "trained on the 7 other runs (penalty by inner leave-one-run-out CV), the SVM (LinearSVC, C=1) on the "
            "same blocks of the same runs, in the same process.\n\n" + head + "\n" + "\n".join(per_fold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--data", default=os.environ.get("SIGNALKIT_SAMPLE_DATA", "../shared/data"))
    parser.add_argument("--quick", action="store_true", help="fewer epochs (smoke run)")
    parser.add_argument("--only", choices=["all", "haxby"], default="all")
    parser.add_argument("--haxby-folds", type=int, default=8, help="leave-one-run-out folds (test runs 1..N)")
    parser.add_argument("--override", action="append", default=[],
                        help="KEY=VALUE added to every Haxby fold's command (repeatable)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: min(4, cores))")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads or max(1, min(4, os.cpu_count() or 1)))
    out = Path(args.out or tempfile.mkdtemp(prefix="fmri_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    from signalkit.store import ingest
    from signalkit.synthetic.fmri import make_block_design

    haxby = Path(args.data) / "fmri" / "haxby"
    if args.only == "haxby":
        res = bench_haxby(haxby, out, args.haxby_folds, args.override)
        (out / "fmri_haxby.json").write_text(json.dumps(res, indent=2))
        print(haxby_table(res))
        return
    scale = 0.4 if args.quick else 1.0
    ep = lambda n: f"trainer.max_epochs={max(2, int(n * scale))}"  # noqa: E731
    results: dict = {"ingest": bench_ingest(out)}
    info = make_block_design(out / "synthetic", n_subjects=4, seed=0)
    store = str(out / "synthetic.zarr")
    ingest([str(p) for p in info["runs"]], store, "fmri", {"atlas": str(info["atlas"])}, progress=False)
    t = time.time()
    m = _train(["experiment=fmri/decoding", f"data.store={store}", f"output_dir={out / 'decoding'}", ep(15)])
    results["decoding_volume"] = {"accuracy": m["test/accuracy"], "fc_accuracy": m["test/fc_accuracy"],
                                  "seconds": round(time.time() - t, 1)}
    t = time.time()
    m = _train(["experiment=fmri/decoding", f"data.store={store}", f"output_dir={out / 'decoding_region'}", ep(30),
                "model=fmri_region_decoder", "data.mode=region"])
    results["decoding_region"] = {"accuracy": m["test/accuracy"], "fc_accuracy": m["test/fc_accuracy"],
                                  "seconds": round(time.time() - t, 1)}
    t = time.time()
    m = _train(["experiment=fmri/forecasting", f"data.store={store}", f"output_dir={out / 'forecasting'}", ep(10),
                "data.stride_s=8"])
    results["forecasting"] = {"mse": m["test/mse"], "mse_persistence": m["test/mse_persistence"],
                              "skill": m["test/skill"], "seconds": round(time.time() - t, 1)}
    real = Path(args.data) / "fmri" / "nipy_functional.nii.gz"
    if real.exists():
        rstore = str(out / "nipy.zarr")
        ingest([str(real)], rstore, "fmri", {}, progress=False)
        t = time.time()
        m = _train(["experiment=fmri/reconstruction", f"data.store={rstore}", f"output_dir={out / 'recon'}", ep(20),
                    "model.backbone.kernel_size=3"])
        results["reconstruction_nipy"] = {k.split("/")[1]: m[k] for k in ("test/mse", "test/mse_voxel_mean",
                                                                           "test/mse_global_mean", "test/skill")}
        results["reconstruction_nipy"]["seconds"] = round(time.time() - t, 1)
    if haxby.is_dir():
        results.update(bench_haxby(haxby, out, args.haxby_folds, args.override))
    (out / "fmri.json").write_text(json.dumps(results, indent=2))
    print("| benchmark | result | baseline | seconds |\n|---|---|---|---|")
    ing = results["ingest"]
    print(f"| ingest {ing['file_mb']} MB .nii (streamed) | {ing['mb_per_s']} MB/s, peak RSS {ing['peak_rss_mb']} MB | - | {ing['seconds']} |")
    for key in ("decoding_volume", "decoding_region"):
        r = results[key]
        print(f"| {key} (synthetic, acc) | {r['accuracy']:.3f} | FC+logreg {r['fc_accuracy']:.3f} | {r['seconds']} |")
    r = results["forecasting"]
    print(f"| forecasting (synthetic, next-frame MSE) | {r['mse']:.3f} | persistence {r['mse_persistence']:.3f} | {r['seconds']} |")
    if "reconstruction_nipy" in results:
        r = results["reconstruction_nipy"]
        print(f"| masked reconstruction (nipy_functional, MSE) | {r['mse']:.3f} | voxel mean {r['mse_voxel_mean']:.3f}, "
              f"global mean {r['mse_global_mean']:.3f} | {r['seconds']} |")
    print("\n" + haxby_table({k: v for k, v in results.items() if k.startswith("haxby_")}))
    print(f"\nresults: {out / 'fmri.json'}")


if __name__ == "__main__":
    main()
