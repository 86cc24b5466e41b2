"""Decoding quality: signalkit's EEG decoder vs braindecode ShallowFBCSPNet / EEGNet, CSP+LDA, TS+LR.

    .venv-bench/bin/python -m benchmarks.decoding_quality --quick
    .venv-bench/bin/python -m benchmarks.decoding_quality            # 5 seeds, more data, epochs

All methods see the same windows (4 s from each event onset, read through a signalkit store) and
the same splits:

* synthetic motor imagery (``signalkit.synthetic.eeg``), cross-subject (last subject held out) and
  within-subject (each subject's trials split in half, stratified; one model trained on all
  subjects' first halves, tested on the second halves),
* real EEGMMIDB S001R03, ``T1`` vs ``T2``, within-run stratified k-fold.

Deep models get per-channel z-scored input (training-fold statistics). signalkit: the default
``eeg_decoder`` through ``signalkit.tasks.DecodingTask`` and a Lightning Trainer with the
``signalkit train`` recipe read from ``configs/task/decoding.yaml`` (AdamW, warm-up + cosine, the
band-power-preserving augmentations listed there). braindecode: ``EEGClassifier``
with AdamW and cosine annealing, ShallowFBCSPNet lr 0.0625 * 0.01, weight decay 0 (the documented
recipe), EEGNet lr 1e-3, weight decay 0. Every deep model: the same batch size (32; 16 in
``--quick``) and epochs, the last partial batch kept (braindecode's default drops it, which
with fewer training windows than a batch means no training at all), so all take the same
optimiser steps; training CPU time per epoch measured by the same callback for all.
CSP (4 components, Ledoit-Wolf) + LDA, and pyriemann OAS covariances + tangent space + logistic
regression. Mean ± std of balanced accuracy over seeds (and folds), training seconds per epoch.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.data_path import REAL_EDF, REAL_EVENTS, SYNTH_EVENTS, WINDOW_S, synthetic_edfs
from benchmarks.report import SCRATCH, have, md_table, mean_std

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)


def load_windows(files: list[Path], store: str, events: dict) -> dict:
    """Ingest ``files`` and read every event window: ``x (N, C, T)``, ``y``, ``subject``, meta."""
    from signalkit.datamodules.windows import WindowDataset, build_sensor_index
    from signalkit.store import ingest, open_store

    ingest([str(f) for f in files], store, "eeg", {}, jobs=1, progress=False)
    st = open_store(store)
    index = build_sensor_index(st, WINDOW_S, events=events)
    ds = WindowDataset(st, index, preload=True)
    items = [ds[i] for i in range(len(ds))]
    return {"x": np.stack([it["x"].numpy() for it in items]), "y": index["target"].to_numpy(),
            "subject": index["recording"].to_numpy(), "pos": items[0]["pos"], "ch_type": items[0]["ch_type"]}


def _zscore(xtr: np.ndarray, xte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = xtr.mean(axis=(0, 2), keepdims=True)
    s = xtr.std(axis=(0, 2), keepdims=True) + 1e-12
    return ((xtr - m) / s).astype(np.float32), ((xte - m) / s).astype(np.float32)


def bal_acc(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, pred))


def paired_difference(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired runs (same seed and fold) and its 95 % t interval ``(mean, lo, hi)``."""
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    m = float(d.mean())
    if len(d) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return m, m - half, m + half


def fit_csp_lda(data, tr, te, seed, epochs, batch):
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(CSP(n_components=4, reg="ledoit_wolf", log=True), LinearDiscriminantAnalysis())
    clf.fit(data["x"][tr].astype(np.float64), data["y"][tr])
    return bal_acc(data["y"][te], clf.predict(data["x"][te].astype(np.float64))), None


def fit_ts_lr(data, tr, te, seed, epochs, batch):
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression(max_iter=1000))
    clf.fit(data["x"][tr].astype(np.float64), data["y"][tr])
    return bal_acc(data["y"][te], clf.predict(data["x"][te].astype(np.float64))), None


class EpochClock:
    """Process CPU seconds of each training epoch, from its first to its last batch.

    Used for every deep model alike (a Lightning callback for signalkit, a skorch callback for
    braindecode), so set-up, evaluation and prediction are left out of the per-epoch time.
    """

    def __init__(self):
        self.epochs: list[float] = []
        self.steps: list[int] = []
        self._t, self._n = 0.0, 0

    def begin(self) -> None:
        self._t, self._n = time.process_time(), 0

    def step(self) -> None:
        self._n += 1

    def end(self) -> None:
        self.epochs.append(time.process_time() - self._t)
        self.steps.append(self._n)

    def summary(self) -> tuple[float, float]:
        """(median CPU s per epoch, mean optimiser steps per epoch)."""
        if not self.epochs or not any(self.steps):
            raise RuntimeError("the model never took an optimiser step (empty epochs)")
        return float(np.median(self.epochs)), float(np.mean(self.steps))


def task_recipe() -> dict:
    """``DecodingTask`` keyword arguments of the ``signalkit train`` default (``configs/task/decoding.yaml``)."""
    from signalkit.config import compose, to_plain

    cfg = to_plain(compose("train", ["task=decoding"]).task)
    cfg.pop("_target_", None)
    return cfg


def fit_signalkit(data, tr, te, seed, epochs, batch):
    import lightning as L
    from torch.utils.data import DataLoader

    from signalkit.datamodules.loading.collate import collate_sensor
    from signalkit.models import model_config
    from signalkit.tasks import DecodingTask

    L.seed_everything(seed, verbose=False)
    xtr, xte = _zscore(data["x"][tr], data["x"][te])

    def items(x, y):
        return [{"x": torch.from_numpy(x[i]), "pos": data["pos"], "ch_type": data["ch_type"], "y": int(y[i])}
                for i in range(len(x))]

    clock = EpochClock()

    class Clock(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            clock.begin()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            clock.step()

        def on_train_epoch_end(self, trainer, module):
            clock.end()

    task = DecodingTask(model=model_config("eeg_decoder"), **task_recipe())
    train = DataLoader(items(xtr, data["y"][tr]), batch_size=batch, shuffle=True, collate_fn=collate_sensor)
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, callbacks=[Clock()],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, train)
    task.eval()
    batch = collate_sensor(items(xte, data["y"][te]))
    with torch.no_grad():
        pred = task.model(batch).argmax(-1).numpy()
    return bal_acc(data["y"][te], pred), clock.summary()


def _fit_braindecode(name: str, lr: float, wd: float):
    def fit(data, tr, te, seed, epochs, batch):
        import braindecode.models as bm
        from braindecode import EEGClassifier
        from braindecode.util import set_random_seeds
        from skorch.callbacks import Callback, LRScheduler

        set_random_seeds(seed, cuda=False)
        xtr, xte = _zscore(data["x"][tr], data["x"][te])
        kw = dict(n_chans=xtr.shape[1], n_outputs=2, n_times=xtr.shape[2])
        if name == "ShallowFBCSPNet":
            kw["final_conv_length"] = "auto"
        model = getattr(bm, name)(**kw)
        clock = EpochClock()

        class Clock(Callback):
            def on_epoch_begin(self, net, **kwargs):
                clock.begin()

            def on_batch_end(self, net, batch=None, training=None, **kwargs):
                if training:
                    clock.step()

            def on_epoch_end(self, net, **kwargs):
                clock.end()

        # iterator_train__drop_last=False: braindecode's default (True) drops the last partial
        # batch, i.e. every batch when a split has fewer than 32 training windows (no training at
        # all); signalkit's loader keeps it, so both take the same steps per epoch.
        clf = EEGClassifier(model, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.AdamW,
                            optimizer__lr=lr, optimizer__weight_decay=wd, batch_size=batch,
                            iterator_train__drop_last=False,
                            train_split=None, max_epochs=epochs, classes=[0, 1], device="cpu", verbose=0,
                            callbacks=[("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=max(1, epochs - 1))),
                                       ("clock", Clock())])
        clf.fit(xtr, y=data["y"][tr].astype(np.int64))
        return bal_acc(data["y"][te], clf.predict(xte)), clock.summary()
    return fit


DEEP = ("signalkit eeg_decoder (large_kernel)", "braindecode ShallowFBCSPNet", "braindecode EEGNet")


def methods() -> dict[str, Callable]:
    out = {"signalkit eeg_decoder (large_kernel)": fit_signalkit}
    if have("braindecode"):
        out["braindecode ShallowFBCSPNet"] = _fit_braindecode("ShallowFBCSPNet", 0.0625 * 0.01, 0.0)
        out["braindecode EEGNet"] = _fit_braindecode("EEGNet", 1e-3, 0.0)
    out["CSP + LDA (MNE, sklearn)"] = fit_csp_lda
    if have("pyriemann"):
        out["tangent space + LR (pyriemann)"] = fit_ts_lr
    return out


def splits(data: dict, kind: str, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Index pairs: ``cross`` (last subject held out), ``within`` (every subject's trials halved:
    train on all first halves, test on the second halves), ``kfold`` (stratified k-fold)."""
    from sklearn.model_selection import StratifiedKFold

    subj = data["subject"]
    if kind == "cross":
        test = subj == sorted(set(subj))[-1]
        return [(np.flatnonzero(~test), np.flatnonzero(test))]
    if kind == "within":  # every subject's trials halved (stratified); one model on all first halves
        tr, te = [], []
        for s in sorted(set(subj)):
            idx = np.flatnonzero(subj == s)
            skf = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
            a, b = next(iter(skf.split(idx, data["y"][idx])))
            tr.append(idx[a])
            te.append(idx[b])
        return [(np.concatenate(tr), np.concatenate(te))]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in skf.split(data["x"], data["y"])]


def run(args: argparse.Namespace, emit=lambda line: None) -> str:
    """The results table and its note as markdown; ``emit`` gets the table line by line as each
    split finishes (a run stopped at a time limit still leaves a valid, partial table)."""
    import mne

    mne.set_log_level("ERROR")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    synth = load_windows(synthetic_edfs(out, args.subjects, args.trials, "19"), str(out / "synth.zarr"), SYNTH_EVENTS)
    cases = [("synthetic, cross-subject", synth, "cross"), ("synthetic, within-subject", synth, "within")]
    if REAL_EDF.exists():  # last: 15 windows, the least informative case is the first the budget skips
        real = load_windows([REAL_EDF], str(out / "real.zarr"), REAL_EVENTS)
        cases.append((f"EEGMMIDB S001R03 T1/T2, {args.folds}-fold", real, "kfold"))
    rows, skipped, paired = [], [], []
    fits = methods()
    header = ["data / split", "method", "n", "train windows", "balanced accuracy", "steps / epoch", "CPU s / epoch"]
    emit(md_table(header, []))
    for label, data, kind in cases:
        runs = {name: {"acc": [], "secs": [], "steps": []} for name in fits}
        for seed in range(args.seeds):
            for tr, te in splits(data, kind, args.folds, seed):
                # all deep models of a fold run, or none: over the budget, the fold's deep runs are skipped
                late = time.monotonic() > deadline
                for name, fit in fits.items():
                    if late and name in DEEP:
                        continue
                    acc, clock = fit(data, tr, te, seed, args.epochs, args.batch)
                    runs[name]["acc"].append(acc)
                    if clock is not None:
                        runs[name]["secs"].append(clock[0])
                        runs[name]["steps"].append(clock[1])
        peers = [n for n in DEEP[1:] if runs.get(n, {}).get("acc")]
        ours = runs[DEEP[0]]["acc"]
        if ours and peers:
            best = max(peers, key=lambda n: np.mean(runs[n]["acc"]))
            if len(runs[best]["acc"]) == len(ours):
                m, lo, hi = paired_difference(ours, runs[best]["acc"])
                ratio = np.mean(runs[DEEP[0]]["secs"]) / np.mean(runs[best]["secs"])
                spread = f"95 % CI {lo:+.3f} to {hi:+.3f}, {len(ours)} runs" if len(ours) > 1 else "one run"
                paired.append(f"{label}: {m:+.3f} vs {best.split()[-1]} ({spread}), in {ratio:.2f}x its CPU "
                              "time per epoch")
        n_train = len(splits(data, kind, args.folds, 0)[0][0])
        for name, r in runs.items():
            if not r["acc"]:
                skipped.append(f"{label} / {name}")
            rows.append([label, name, len(r["acc"]), n_train,
                         mean_std(r["acc"]) if r["acc"] else "skipped (time budget)",
                         f"{np.mean(r['steps']):.3g}" if r["steps"] else "-",
                         f"{np.mean(r['secs']):.3g}" if r["secs"] else "-"])
            emit(md_table(header, rows[-1:]).splitlines()[-1])
    note = (f"Balanced accuracy, mean ± std over {args.seeds} seed(s) x folds (n = runs); chance 0.5. "
            f"Synthetic: {args.subjects} subjects x {args.trials} trials per class, 19 channels, 160 Hz, "
            f"{len(synth['y'])} windows. Deep models: {args.epochs} epochs, batch {args.batch} (the last partial "
            "batch kept for all: same optimiser steps per epoch), one thread. CPU s / epoch: median over "
            "epochs of the process CPU time from an epoch's first to its last training batch, measured by "
            "the same callback for every deep model (set-up and prediction left out); mean over runs.")
    if REAL_EDF.exists():
        note += (f" EEGMMIDB S001R03 has {len(real['y'])} T1/T2 windows in all: a smoke test for deep models "
                 "(a few training windows per fold), not a comparison.")
    if paired:
        note += (" Balanced accuracy of signalkit minus the best braindecode model, paired by seed and fold: "
                 + "; ".join(paired) + ".")
    partial = [f"{r[0]} / {r[1]}" for r in rows if r[1] in DEEP and 0 < r[2] < max(x[2] for x in rows if x[0] == r[0])]
    if skipped or partial:
        note += " Deep-model runs skipped (over the time budget): " + "; ".join(skipped + [f"{p} (some folds)" for p in partial]) + "."
    emit("\n" + note)
    return md_table(header, rows) + "\n\n" + note


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(SCRATCH / "decoding"))
    p.add_argument("--subjects", type=int, default=6)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=32, help="batch size of every deep model")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--budget", type=float, default=3600.0, help="seconds; later runs are skipped")
    p.add_argument("--quick", action="store_true",
                   help="3 subjects x 30 trials, 1 seed, 15 epochs of batch 16, 3 folds")
    args = p.parse_args(argv)
    if args.quick:
        args.subjects, args.trials, args.seeds, args.epochs, args.batch, args.folds = 3, 30, 1, 15, 16, 3
        args.budget = min(args.budget, 240.0)
    run(args, emit=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
