"""Haxby read-out variants on checks beyond the four rows of ``benchmarks/fmri.py --only haxby``.

    python benchmarks/fmri_haxby_checks.py [--data ../shared/data] [--out DIR]

The blocks are exactly those of ``experiment=fmri/haxby`` (the recipe's data module: onset + 5 s, 9
volumes, voxels z-scored per run, inside the store's voxel mask); the read-outs are
:func:`signalkit.heads.ridge.fit_ridge_classifier` as :class:`~signalkit.tasks.RidgeDecodingTask` calls
it (block: block averages; volume: every volume, inner CV scored on held-out blocks' mean scores;
refit all / fold_mean), and the SVM is the recipe's baseline (LinearSVC, C=1, block averages). On the
four rows of ``fmri.py`` (runs 1-8, acq-1slice and acq-25mm with the brain mask) this reproduces the
recipe's per-fold numbers. The other rows were not used to choose any variant: leave one run out within
runs 1-4 and within runs 5-8 (3 training runs), and the 25 mm grid inside the gray, hoc and white masks.
Markdown table of mean balanced accuracy over the folds on stdout.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

VARIANTS = {"block/all": ("block", "all"), "block/fold_mean": ("block", "fold_mean"),
            "volume/all": ("volume", "all"), "volume/fold_mean": ("volume", "fold_mean")}
GRIDS = (("1slice", "1slice", None), ("25mm", "25mm", "label-brain"), ("25mm_gray", "25mm", "label-gray"),
         ("25mm_hoc", "25mm", "label-hoc"), ("25mm_white", "25mm", "label-white"))
RUNSETS = {"runs 1-8": list(range(1, 9)), "runs 1-4": [1, 2, 3, 4], "runs 5-8": [5, 6, 7, 8]}
TASKS = {"8-way": None, "face/house": ["face", "house"]}


def blocks_of(func: Path, acq: str, mask: str | None, out: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Every block of every run as the recipe sees it: volumes ``(N, T, V)``, class ids, run numbers, classes."""
    from signalkit.config import compose
    from signalkit.store import ingest
    from signalkit.training import build_datamodule

    store = str(out / f"{acq}_{mask or 'none'}.zarr")
    ingest(sorted(str(p) for p in func.glob(f"*acq-{acq}_*_bold.nii.gz")), store, "fmri",
           {"preprocess": {"mask": mask}} if mask else {}, progress=False)
    dm = build_datamodule(compose("train", ["experiment=fmri/haxby", f"data.store={store}", "test_run=01"]).data)
    dm.setup()
    xs, ys, runs = [], [], []
    for split, run_of in (("train", lambda rec: rec + 2), ("test", lambda rec: 1)):  # train: runs 02..08
        ds = dm.datasets[split]
        for i in range(len(ds)):
            it = ds[i]
            keep = it["voxel_mask"].numpy().reshape(-1)
            xs.append(it["x"].numpy().reshape(it["x"].shape[0], -1)[:, keep])
            ys.append(int(it["y"]))
            runs.append(run_of(int(it["rec"])))
    return np.stack(xs).astype(np.float32), np.asarray(ys), np.asarray(runs), list(dm.events)


def fit(x: np.ndarray, y: np.ndarray, run: np.ndarray, k: int, samples: str, refit: str):
    from signalkit.heads.ridge import fit_ridge_classifier

    n, t, v = x.shape
    if samples == "block":
        return fit_ridge_classifier(x.mean(1), y, k, groups=run, refit=refit)
    return fit_ridge_classifier(x.reshape(n * t, v), np.repeat(y, t), k, groups=np.repeat(run, t),
                                blocks=np.repeat(np.arange(n), t), refit=refit)


def scores(x: np.ndarray, y: np.ndarray, run: np.ndarray, runs: list[int]) -> dict[str, float]:
    """Mean balanced accuracy over leave-one-run-out folds within ``runs``, per variant and the SVM."""
    from sklearn.metrics import balanced_accuracy_score

    from signalkit.baselines.linear_svm import linear_svm_baseline

    sel = np.isin(run, runs)
    x, run = x[sel], run[sel]
    classes, y = np.unique(y[sel], return_inverse=True)
    out: dict[str, list[float]] = {name: [] for name in [*VARIANTS, "svm"]}
    for test in runs:
        tr, te = run != test, run == test
        for name, (samples, refit) in VARIANTS.items():
            f = fit(x[tr], y[tr], run[tr], len(classes), samples, refit)
            pred = (x[te].mean(1) @ f.weight.T + f.bias).argmax(1)
            out[name].append(balanced_accuracy_score(y[te], pred))
        out["svm"].append(linear_svm_baseline(x[tr].mean(1), y[tr], x[te].mean(1), y[te])["balanced_accuracy"])
    return {name: float(np.mean(v)) for name, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SIGNALKIT_SAMPLE_DATA", "../shared/data"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="haxby_checks_"))
    out.mkdir(parents=True, exist_ok=True)
    func = Path(args.data) / "fmri" / "haxby" / "sub-1" / "func"
    print("| data | runs | task | " + " | ".join([*VARIANTS, "linear SVM"]) + " |")
    print("|---|---|---|" + "---|" * (len(VARIANTS) + 1))
    for name, acq, mask in GRIDS:
        x, y, run, events = blocks_of(func, acq, mask, out)
        for rs, runs in RUNSETS.items():
            if name not in ("1slice", "25mm") and rs != "runs 1-8":
                continue
            for task, keep in TASKS.items():
                sel = np.ones(len(y), bool) if keep is None else np.isin(np.asarray(events)[y], keep)
                r = scores(x[sel], y[sel], run[sel], runs)
                print(f"| {name} | {rs} | {task} | " + " | ".join(f"{v:.3f}" for v in r.values()) + " |", flush=True)


if __name__ == "__main__":
    main()
