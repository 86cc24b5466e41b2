"""Decoding quality on real EEG: signalkit's default decoder vs braindecode and the Riemannian pipelines.

    .venv-bench/bin/python -m benchmarks.decoding_quality --quick      # 1 seed, fewer epochs, 2 tasks
    .venv-bench/bin/python -m benchmarks.decoding_quality              # every task, 5 seeds

Real recordings only (``$SIGNALKIT_SAMPLE_DATA`` or ``../shared/data``), with the splits of the
data README; synthetic data stays in the unit tests (a known answer), it does not decide defaults:

* EEGMMIDB S001: executed left/right fist (leave one run out over R03, R07, R11), imagined
  left/right (R04, R08, R12), executed and imagined fists/feet (R05/R09/R13, R06/R10/R14);
  windows 0-4 s after each T1/T2 onset (15 per run).
* UCI SMNI (the ``-epo.fif`` files): 3 conditions, and S1 vs S2, cross-subject: 7 folds, each
  holding out one alcoholic and one control subject.
* EEGLAB sample: ``square`` vs ``rt``, 0-0.5 s after each event, split in time (first 60 % of
  the recording to train, events whose window ends after the cut are left out of training).

Every method sees identical windows, read with MNE here (the store path is exercised by the
unit tests and by ``configs/experiment/eeg/``). Deep models get the broadband windows, per-channel
z-scored with training-fold statistics: signalkit's default, the model and task settings of each
task's recipe (``configs/experiment/eeg/<recipe>.yaml``: ``eeg_bandpower`` with 5 members, an ensemble
over seeds, for EEGMMIDB left/right, its band-power part alone for fists/feet, ``eeg_erp`` for SMNI and
EEGLAB; ``$SIGNALKIT_BENCH_MODEL`` names another model; an ensemble's CPU time counts every member) through
``signalkit.tasks.DecodingTask`` and Lightning, braindecode EEGNet and ShallowFBCSPNet through ``EEGClassifier``
(AdamW + cosine; EEGNet lr 1e-3, ShallowFBCSPNet lr 0.0625 * 0.01, the documented recipes),
all with the same batch size and epochs (so the same optimiser steps). Classical peers get the
band-pass a practitioner would use: CSP (Ledoit-Wolf) + LDA and OAS covariances + tangent space +
logistic regression on 8-30 Hz (oscillatory tasks); xDAWN covariances + tangent space + LR and
shrinkage LDA on decimated epochs on 0.5-20 Hz (evoked tasks). Balanced accuracy per run
(seed x fold); paired differences of signalkit minus each peer with a 95 % t interval; CPU time
per training epoch (same callback for every deep model) and in total per run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.report import have, md_table, mean_std

warnings.filterwarnings("ignore")
DATA = Path(os.environ.get("SIGNALKIT_SAMPLE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
if not DATA.exists():
    DATA = Path("/work/shared/data")
OURS = "signalkit default"  # the model of each task's recipe (configs/experiment/eeg/)


@dataclass
class Task:
    """Windows of one real task: ``x`` (broadband, for deep models), ``xf`` (the classical band),
    labels, fold ids, sensor positions / types, family (``oscillatory`` | ``evoked``)."""

    label: str
    x: np.ndarray
    xf: np.ndarray
    y: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    pos: np.ndarray
    ch_type: np.ndarray
    family: str
    sfreq: float
    recipe: str = ""  # configs/experiment/eeg/<recipe>.yaml: the model and task settings signalkit runs with


def _positions(names: list[str]) -> np.ndarray:
    from signalkit.io.montage import canonical_names, montage_positions

    mapping = canonical_names(names, "standard_1005")
    pos = montage_positions([mapping.get(n, n) for n in names], "standard_1005")
    return np.nan_to_num(pos).astype(np.float32)  # unknown positions as zeros (the Batch contract)


def leave_one_group_out(groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """One fold per group (e.g. run): train on every other group, test on it."""
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in sorted(set(groups.tolist()))]


def paired_subject_folds(subject: np.ndarray, group: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Subject folds that each hold out one subject of every group (sorted ids, paired in order);
    a subject's windows are never split across train and test."""
    per = [sorted({s for s, g in zip(subject, group) if g == k}) for k in sorted(set(group.tolist()))]
    folds = []
    for held in zip(*per):
        te = np.isin(subject, held)
        folds.append((np.flatnonzero(~te), np.flatnonzero(te)))
    return folds


def eegmmidb(runs: tuple[int, ...], label: str, recipe: str) -> Task:
    """Leave one run out over ``runs`` of EEGMMIDB S001; 0-4 s after T1/T2."""
    import mne

    xs, xf, ys, groups = [], [], [], []
    for r in runs:
        raw = mne.io.read_raw_edf(DATA / "eeg" / "eegmmidb" / f"S001R{r:02d}.edf", preload=True)
        events, ids = mne.events_from_annotations(raw, event_id={"T1": 0 + 1, "T2": 2})
        tmax = 4.0 - 1.0 / raw.info["sfreq"]
        for data, store in ((raw, xs), (raw.copy().filter(8.0, 30.0), xf)):
            ep = mne.Epochs(data, events, ids, tmin=0.0, tmax=tmax, baseline=None, preload=True)
            store.append(ep.get_data().astype(np.float32))
        ys.append(ep.events[:, 2] - 1)
        groups.append(np.full(len(ep), r))
    folds = leave_one_group_out(np.concatenate(groups))
    return Task(label, np.concatenate(xs), np.concatenate(xf), np.concatenate(ys), folds,
                _positions(raw.ch_names), np.zeros(len(raw.ch_names), np.int64), "oscillatory", raw.info["sfreq"], recipe)


def smni(two_class: bool) -> Task:
    """UCI SMNI epochs (EEG channels), 7 folds of one alcoholic + one control subject."""
    import mne

    xs, ys, subj = [], [], []
    for f in sorted((DATA / "eeg" / "smni").glob("sub-*-epo.fif")):
        ep = mne.read_epochs(f, preload=True).pick("eeg")
        xs.append(ep.get_data().astype(np.float32))
        ys.append(ep.events[:, 2] - 1)
        subj += [f.name[4:-8]] * len(ep)
    x, y, subj = np.concatenate(xs), np.concatenate(ys), np.asarray(subj)
    if two_class:
        y = (y > 0).astype(np.int64)
    folds = paired_subject_folds(subj, np.asarray([s[3] for s in subj]))  # co2a... / co2c...
    xf = mne.filter.filter_data(x.astype(np.float64), ep.info["sfreq"], 0.5, 20.0, method="iir").astype(np.float32)
    label = "UCI SMNI S1 vs S2, cross-subject (7 folds)" if two_class else "UCI SMNI 3 conditions, cross-subject (7 folds)"
    return Task(label, x, xf, y, folds, _positions(ep.ch_names), np.zeros(len(ep.ch_names), np.int64),
                "evoked", ep.info["sfreq"], RECIPES["smni_3class"])


def eeglab() -> Task:
    """EEGLAB sample: ``square`` vs ``rt``, 0-0.5 s windows, first 60 % of the recording to train."""
    import mne

    raw = mne.io.read_raw_eeglab(DATA / "eeg" / "test_raw.set", preload=True)
    events, ids = mne.events_from_annotations(raw, event_id={"square": 1, "rt": 2})
    tmax = 0.5 - 1.0 / raw.info["sfreq"]
    out = []
    for data in (raw, raw.copy().filter(0.5, 20.0)):
        out.append(mne.Epochs(data, events, ids, tmin=0.0, tmax=tmax, baseline=None, preload=True))
    ep = out[0]
    onset = ep.events[:, 0] / raw.info["sfreq"]
    cut = 0.6 * raw.times[-1]
    folds = [(np.flatnonzero(onset + 0.5 <= cut), np.flatnonzero(onset >= cut))]
    return Task("EEGLAB sample square vs rt, split in time (60 / 40 %)", ep.get_data().astype(np.float32),
                out[1].get_data().astype(np.float32), ep.events[:, 2] - 1, folds, _positions(raw.ch_names),
                np.zeros(len(raw.ch_names), np.int64), "evoked", raw.info["sfreq"], RECIPES["eeglab"])


def load_tasks(names: list[str]) -> list[Task]:
    makers: dict[str, Callable[[], Task]] = {
        "mm_executed": lambda: eegmmidb((3, 7, 11), "EEGMMIDB S001 executed left/right, leave one run out (R03/R07/R11)", RECIPES["mm_executed"]),
        "mm_imagined": lambda: eegmmidb((4, 8, 12), "EEGMMIDB S001 imagined left/right, leave one run out (R04/R08/R12)", RECIPES["mm_imagined"]),
        "mm_fists_feet": lambda: eegmmidb((5, 9, 13), "EEGMMIDB S001 executed fists/feet, leave one run out (R05/R09/R13)", RECIPES["mm_fists_feet"]),
        "mm_fists_feet_imagined": lambda: eegmmidb((6, 10, 14), "EEGMMIDB S001 imagined fists/feet, leave one run out (R06/R10/R14)", RECIPES["mm_fists_feet_imagined"]),
        "smni_3class": lambda: smni(False),
        "smni_s1s2": lambda: smni(True),
        "eeglab": eeglab,
    }
    return [makers[n]() for n in names]


# ----------------------------------------------------------------------------- helpers
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


class EpochClock:
    """Process CPU seconds of each training epoch, from its first to its last batch (every deep model alike)."""

    def __init__(self):
        self.epochs: list[float] = []
        self._t = 0.0

    def begin(self) -> None:
        self._t = time.process_time()

    def end(self) -> None:
        self.epochs.append(time.process_time() - self._t)

    def per_epoch(self) -> float:
        return float(np.median(self.epochs))


# ----------------------------------------------------------------------------- methods
def fit_signalkit(t: Task, tr, te, seed, epochs, batch):
    import lightning as L
    from torch.utils.data import DataLoader

    from signalkit.config import compose, to_plain
    from signalkit.datamodules.collate import collate_sensor
    from signalkit.models import model_config
    from signalkit.tasks import DecodingTask

    L.seed_everything(seed, verbose=False)
    xtr, xte = _zscore(t.x[tr], t.x[te])
    pos, ch_type = torch.from_numpy(t.pos), torch.from_numpy(t.ch_type)

    def items(x, y):
        return [{"x": torch.from_numpy(x[i]), "pos": pos, "ch_type": ch_type, "y": int(y[i])} for i in range(len(x))]

    clock = EpochClock()

    class Clock(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            clock.begin()

        def on_train_epoch_end(self, trainer, module):
            clock.end()

    k = int(t.y.max() + 1)
    # what `signalkit train experiment=eeg/<recipe>` runs: the recipe's model and task settings
    cfg = compose("train", [f"experiment=eeg/{t.recipe}"] if t.recipe else ["task=decoding"])
    recipe = to_plain(cfg.task)
    recipe.pop("name", None)
    name = os.environ.get("SIGNALKIT_BENCH_MODEL")
    model = model_config(name, num_classes=k) if name else to_plain(cfg.model)
    model["head"]["num_classes"] = k
    task = DecodingTask(model=model, data_contract={"sfreq": t.sfreq}, **recipe)
    train = DataLoader(items(xtr, t.y[tr]), batch_size=batch, shuffle=True, collate_fn=collate_sensor)
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, callbacks=[Clock()],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, train)
    task.eval()
    with torch.no_grad():
        pred = task.model(collate_sensor(items(xte, t.y[te]))).argmax(-1).numpy()
    return bal_acc(t.y[te], pred), clock


def _fit_braindecode(name: str, lr: float):
    def fit(t: Task, tr, te, seed, epochs, batch):
        import braindecode.models as bm
        from braindecode import EEGClassifier
        from braindecode.util import set_random_seeds
        from skorch.callbacks import Callback, LRScheduler

        set_random_seeds(seed, cuda=False)
        xtr, xte = _zscore(t.x[tr], t.x[te])
        k = int(t.y.max() + 1)
        kw = dict(n_chans=xtr.shape[1], n_outputs=k, n_times=xtr.shape[2])
        if name == "ShallowFBCSPNet":
            kw["final_conv_length"] = "auto"
        if name == "EEGConformer":
            kw["sfreq"] = t.sfreq
        model = getattr(bm, name)(**kw)
        clock = EpochClock()

        class Clock(Callback):
            def on_epoch_begin(self, net, **kwargs):
                clock.begin()

            def on_epoch_end(self, net, **kwargs):
                clock.end()

        # drop_last=False: with fewer training windows than a batch braindecode's default trains
        # on nothing; signalkit's loader keeps the last partial batch, so both take the same steps
        clf = EEGClassifier(model, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.AdamW,
                            optimizer__lr=lr, optimizer__weight_decay=0.0, batch_size=batch,
                            iterator_train__drop_last=False, iterator_train__shuffle=True,
                            train_split=None, max_epochs=epochs, classes=list(range(k)), device="cpu", verbose=0,
                            callbacks=[("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=max(1, epochs - 1))),
                                       ("clock", Clock())])
        clf.fit(xtr, y=t.y[tr].astype(np.int64))
        return bal_acc(t.y[te], clf.predict(xte)), clock
    return fit


def fit_csp_lda(t: Task, tr, te, seed, epochs, batch):
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(CSP(n_components=4, reg="ledoit_wolf", log=True), LinearDiscriminantAnalysis())
    clf.fit(t.xf[tr].astype(np.float64), t.y[tr])
    return bal_acc(t.y[te], clf.predict(t.xf[te].astype(np.float64))), None


def fit_ts_lr(t: Task, tr, te, seed, epochs, batch):
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression(max_iter=1000))
    clf.fit(t.xf[tr].astype(np.float64), t.y[tr])
    return bal_acc(t.y[te], clf.predict(t.xf[te].astype(np.float64))), None


def fit_xdawn_ts(t: Task, tr, te, seed, epochs, batch):
    from pyriemann.estimation import XdawnCovariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(XdawnCovariances(nfilter=4, estimator="oas"), TangentSpace(), LogisticRegression(max_iter=1000))
    clf.fit(t.xf[tr].astype(np.float64), t.y[tr])
    return bal_acc(t.y[te], clf.predict(t.xf[te].astype(np.float64))), None


def fit_slda(t: Task, tr, te, seed, epochs, batch):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    step = max(1, int(round(t.sfreq / 25)))  # ~25 Hz after the 20 Hz low-pass

    def feats(x):
        return x[:, :, ::step].reshape(len(x), -1)

    clf = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    clf.fit(feats(t.xf[tr]), t.y[tr])
    return bal_acc(t.y[te], clf.predict(feats(t.xf[te]))), None


DEEP_PEERS = {"braindecode EEGNet": ("EEGNet", 1e-3), "braindecode ShallowFBCSPNet": ("ShallowFBCSPNet", 0.0625 * 0.01),
              "braindecode EEGConformer": ("EEGConformer", 2e-4)}


def methods(family: str, conformer: bool) -> dict[str, Callable]:
    out: dict[str, Callable] = {OURS: fit_signalkit}
    if have("braindecode"):
        for label, (name, lr) in DEEP_PEERS.items():
            if name != "EEGConformer" or conformer:
                out[label] = _fit_braindecode(name, lr)
    if family == "oscillatory":
        out["CSP + LDA, 8-30 Hz"] = fit_csp_lda
        if have("pyriemann"):
            out["tangent space + LR, 8-30 Hz"] = fit_ts_lr
    else:
        if have("pyriemann"):
            out["xDAWN cov + TS + LR, 0.5-20 Hz"] = fit_xdawn_ts
        out["shrinkage LDA, decimated, 0.5-20 Hz"] = fit_slda
    return out


# ----------------------------------------------------------------------------- run
def run_task(t: Task, args, emit) -> tuple[list, list[str]]:
    fits = methods(t.family, args.conformer)
    if args.only:
        fits = {n: f for n, f in fits.items() if any(o.lower() in n.lower() for o in args.only)}
    if args.max_folds:
        t.folds = t.folds[:args.max_folds]
    if t.x.shape[-1] < 100:  # ShallowFBCSPNet's 25-sample kernel + 75-sample pooling need >= 99 samples
        fits.pop("braindecode ShallowFBCSPNet", None)
    runs = {n: {"acc": [], "epoch": [], "total": []} for n in fits}
    for seed in range(args.seeds):
        for tr, te in t.folds:
            for name, fit in fits.items():
                if seed > 0 and name not in (OURS, *DEEP_PEERS):
                    continue  # deterministic classical pipelines: one run per fold
                c0 = time.process_time()
                acc, clock = fit(t, tr, te, seed, args.epochs, args.batch)
                runs[name]["acc"].append(acc)
                print(f"# run {t.label[:24]} | {name} | seed {seed} | acc {acc:.3f} | "
                      f"epoch {clock.per_epoch() if clock else float('nan'):.3g} s", file=sys.stderr, flush=True)
                if clock is not None:
                    runs[name]["epoch"].append(clock.per_epoch())
                    runs[name]["total"].append(time.process_time() - c0)
    ours = runs[OURS]["acc"]
    rows, notes = [], []
    eegnet_epoch = np.mean(runs["braindecode EEGNet"]["epoch"]) if runs.get("braindecode EEGNet", {}).get("epoch") else None
    for name, r in runs.items():
        if not r["acc"]:
            continue
        diff = "-"
        if name != OURS:
            # classical pipelines are deterministic: pair each of our runs with its fold's result
            other = r["acc"] if len(r["acc"]) == len(ours) else (r["acc"] * args.seeds)[:len(ours)]
            m, lo, hi = paired_difference(ours, other)
            diff = f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]" if len(ours) > 1 else f"{m:+.3f}"
        epoch = np.mean(r["epoch"]) if r["epoch"] else None
        rows.append([t.label, name, len(r["acc"]), len(t.folds[0][0]), mean_std(r["acc"]), diff,
                     f"{epoch:.3g}" if epoch else "-",
                     f"{epoch / eegnet_epoch:.2f}x" if epoch and eegnet_epoch else "-",
                     f"{np.mean(r['total']):.3g}" if r["total"] else "-"])
        emit(md_table(HEADER, rows[-1:]).splitlines()[-1])
    peers = {n: np.mean(r["acc"]) for n, r in runs.items() if n != OURS and r["acc"]}
    if peers:
        best = max(peers, key=peers.get)
        o = float(np.mean(ours))
        other = runs[best]["acc"] if len(runs[best]["acc"]) == len(ours) else (runs[best]["acc"] * args.seeds)[:len(ours)]
        m, lo, hi = paired_difference(ours, other)
        level = o >= peers[best] and (len(ours) < 2 or lo > -0.02)
        verdict = "level or better" if level else f"loses by {peers[best] - o:.3f}" if o < peers[best] else "mean higher, interval reaches below -0.02"
        notes.append(f"{t.label}: signalkit {o:.3f} vs best peer {best} {peers[best]:.3f} "
                     f"(paired {m:+.3f}, 95 % CI {lo:+.3f} to {hi:+.3f}): {verdict}")
    return rows, notes


HEADER = ["task (real data)", "method", "runs", "train windows", "balanced accuracy",
          "signalkit minus this [95 % CI]", "CPU s / epoch", "vs EEGNet", "CPU s / run"]
# the recipe (configs/experiment/eeg/<name>.yaml) a user runs for each task: signalkit's model and settings
RECIPES = {"mm_executed": "eegmmidb_executed", "mm_imagined": "eegmmidb_imagined", "mm_fists_feet": "eegmmidb_fists_feet",
           "mm_fists_feet_imagined": "eegmmidb_fists_feet", "smni_3class": "smni_erp", "smni_s1s2": "smni_erp",
           "eeglab": "eeglab_erp"}
# every deep model's epochs and batch size (the recipes say the same, so `signalkit train` runs what was measured)
EPOCHS, BATCH = 40, 16
ALL_TASKS = ["mm_executed", "mm_imagined", "mm_fists_feet", "mm_fists_feet_imagined", "smni_3class", "smni_s1s2", "eeglab"]


def run(args: argparse.Namespace, emit=lambda line: None) -> str:
    import mne

    mne.set_log_level("ERROR")
    torch.set_num_threads(1)
    if not (DATA / "eeg").exists():
        return f"Not run: no real EEG data at {DATA} (set SIGNALKIT_SAMPLE_DATA)."
    emit(md_table(HEADER, []))
    rows, notes = [], []
    for t in load_tasks(args.tasks):
        r, n = run_task(t, args, emit)
        rows += r
        notes += n
    note = (f"Balanced accuracy, mean ± std over runs (deep models: {args.seeds} seed(s) x folds; the classical "
            f"pipelines are deterministic, one run per fold, paired with each seed's run of the fold). Deep "
            f"models: {args.epochs} epochs, batch {args.batch}, the same optimiser steps, one thread. CPU s / "
            "epoch: median over epochs of the process CPU time of one training epoch, measured by the same "
            "callback for every deep model; CPU s / run: set-up, training and prediction of one fold. "
            "signalkit minus this: paired difference of balanced accuracy (same seed and fold) with its 95 % t "
            "interval. Verdicts (level = mean >= the best peer's and paired interval above -0.02): "
            + "; ".join(notes) + ".")
    emit("\n" + note)
    return md_table(HEADER, rows) + "\n\n" + note


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="*", default=ALL_TASKS, choices=ALL_TASKS)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--batch", type=int, default=BATCH, help="batch size of every deep model")
    p.add_argument("--conformer", action="store_true", help="add braindecode EEGConformer (slow on CPU)")
    p.add_argument("--only", nargs="*", default=None, help="methods (substrings) to run")
    p.add_argument("--max-folds", type=int, default=0, help="explore on the first folds only (0: all)")
    p.add_argument("--quick", action="store_true", help="1 seed, 20 epochs, EEGMMIDB executed and EEGLAB only")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.tasks = 1, 20, ["mm_executed", "eeglab"]
    run(args, emit=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
