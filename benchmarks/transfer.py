"""Transfer benchmark: masked pretraining on one montage, fine-tuning on another.

1. Pretraining corpus: synthetic motor-imagery EEG, montage A (64 channels), ``--pretrain-subjects``
   subjects, used **without labels** (fixed 4 s windows, ``experiment=eeg/pretrain``: masked blocks
   of tokens predict their standardised log 8-30 Hz band power, see ``configs/experiment/eeg/pretrain.yaml``),
   exported to a pretrained folder; once per seed (``--pretrain-once``: once).
2. Fine-tuning: montage B (19 channels), new subjects; ``--train-trials`` labelled trials per class
   (spread over ``--train-subjects`` subjects), one validation subject, ``--test-subjects`` test
   subjects; ``experiment=eeg/motor_imagery`` from scratch vs with ``model.pretrained=<folder>``:
   same architecture, data, seed, epochs, learning rate and schedule, and for both arms the test
   runs on the checkpoint of lowest validation loss.

Prints a markdown table of test balanced accuracy per seed, mean ± std over seeds, and the
difference (pretrained - scratch)::

    python benchmarks/transfer.py --seeds 0 1 2 --out /tmp/transfer   # the reported numbers
    python benchmarks/transfer.py --quick --out /tmp/transfer_q        # a one-minute smoke run

Every run goes through ``signalkit.training.train`` (the ``signalkit train`` code path).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

# a small model that trains in minutes on a CPU; used for both arms. One token row per real
# channel (virtual_channels=0, each with its sensor-position embedding), as in the recorded run:
# virtual channels did not learn then (their filters were near-uniform averages, since fixed).
SMALL_MODEL = ["model.dim=32", "model.tokenizer.patch_size=32", "model.tokenizer.virtual_channels=0",
               "model.backbone.depth=2", "model.backbone.kernel_size=15", "model.backbone.small_kernel=3",
               "model.backbone.mlp_ratio=2.0"]


# the fine-tuning recipe of the recorded runs (RECORDED.md), pinned: the default decoding task now
# trains the compact eeg_decoder at lr 1e-2 with augmentations, tuned for training from scratch
FINETUNE_RECIPE = ["task.lr=2e-3", "task.augment=null"]


def _ingest(paths: list[Path], store: Path) -> str:
    from signalkit.store import ingest

    if not store.exists():
        ingest([str(p) for p in paths], str(store), "eeg", {}, progress=False)
    return str(store)


def make_pretrain_store(root: Path, n_subjects: int, n_trials: int, seed: int) -> str:
    """Montage A (64 channels), subjects 1..n; labels exist in the files but are never used."""
    from signalkit.synthetic.eeg import make_motor_imagery

    paths = make_motor_imagery(root / "pretrain_edf", n_subjects, n_trials, montage="64", seed=seed)
    return _ingest(paths, root / "pretrain.zarr")


def make_finetune_store(root: Path, seed: int, train_trials: int, train_subjects: int,
                        test_subjects: int, test_trials: int) -> tuple[str, dict]:
    """Montage B (19 channels), subjects from 101: train, one val, test; returns (store, assign)."""
    from signalkit.synthetic.eeg import make_motor_imagery

    folder = root / f"finetune_edf_seed{seed}"
    per_subject = max(1, train_trials // train_subjects)
    first = 101 + 100 * seed
    train = make_motor_imagery(folder, train_subjects, per_subject, montage="19", seed=seed, first_subject=first)
    val = make_motor_imagery(folder, 1, test_trials, montage="19", seed=seed, first_subject=first + train_subjects)
    test = make_motor_imagery(folder, test_subjects, test_trials, montage="19", seed=seed,
                              first_subject=first + train_subjects + 1)
    ids = lambda ps: [p.parent.name.removeprefix("sub-") for p in ps]  # noqa: E731
    assign = {"train": ids(train), "val": ids(val), "test": ids(test)}
    return _ingest([*train, *val, *test], root / f"finetune_seed{seed}.zarr"), assign


def pretrain(root: Path, store: str, epochs: int, seed: int, extra: list[str]) -> str:
    """Masked pretraining (recipe: ``experiment=eeg/pretrain``); returns (exported folder, test NMSE)."""
    from signalkit.pretrained import export_checkpoint
    from signalkit.training import train

    out = root / f"pretrain_run_seed{seed}"
    metrics = train(["experiment=eeg/pretrain", f"data.store={store}", f"output_dir={out}", f"seed={seed}",
                     f"trainer.max_epochs={epochs}", "trainer.enable_progress_bar=false",
                     "model.head.decoder_depth=1", *SMALL_MODEL, *extra])
    print(f"pretraining: val/nmse {metrics.get('val/nmse', float('nan')):.3f} "
          f"test/nmse {metrics.get('test/nmse', float('nan')):.3f} in {metrics['train/seconds']:.0f} s", flush=True)
    return export_checkpoint(metrics["best_checkpoint"], root / f"pretrained_model_seed{seed}"), metrics.get("test/nmse")


def finetune(root: Path, store: str, assign: dict, seed: int, epochs: int, pretrained: str | None,
             extra: list[str]) -> dict:
    """One fine-tuning (or from-scratch) run; returns its metrics."""
    from signalkit.training import train

    tag = "pretrained" if pretrained else "scratch"
    assign_txt = "{" + ",".join(f"{k}:[{','.join(repr(s) for s in v)}]" for k, v in assign.items()) + "}"
    overrides = ["experiment=eeg/motor_imagery", f"data.store={store}", f"data.split.assign={assign_txt}",
                 f"output_dir={root / f'{tag}_seed{seed}'}", f"seed={seed}", f"trainer.max_epochs={epochs}",
                 "trainer.enable_progress_bar=false", "data.batch_size=8", *SMALL_MODEL, *FINETUNE_RECIPE, *extra]
    if pretrained:
        overrides.append(f"model.pretrained={pretrained}")
    return train(overrides)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/signalkit_transfer")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--pretrain-subjects", type=int, default=12)
    p.add_argument("--pretrain-trials", type=int, default=20, help="trials per class and subject (unlabelled)")
    p.add_argument("--pretrain-epochs", type=int, default=10)
    p.add_argument("--train-trials", type=int, default=20, help="labelled fine-tuning trials per class")
    p.add_argument("--train-subjects", type=int, default=2)
    p.add_argument("--test-subjects", type=int, default=3)
    p.add_argument("--test-trials", type=int, default=20)
    p.add_argument("--finetune-epochs", type=int, default=30)
    p.add_argument("--pretrain-once", action="store_true",
                   help="pretrain once (seed of the first run) instead of once per seed")
    p.add_argument("--pretrained", default=None, help="reuse this pretrained folder instead of pretraining")
    p.add_argument("--finetune-args", nargs="*", default=[], help="extra overrides for both fine-tuning arms")
    p.add_argument("--pretrain-args", nargs="*", default=[],
                   help="extra overrides for pretraining, e.g. task.target=signal task.sparse=true (the old recipe)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the pipeline, not the numbers")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the CI machine has 2 shared cores)")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    if a.quick:
        a.pretrain_subjects, a.pretrain_trials, a.pretrain_epochs = 3, 3, 1
        a.train_trials, a.test_subjects, a.test_trials, a.finetune_epochs = 4, 1, 3, 1
        a.seeds = a.seeds[:1]
    root = Path(a.out)
    root.mkdir(parents=True, exist_ok=True)
    start = time.time()
    folder = a.pretrained
    if folder is None:
        pre_store = make_pretrain_store(root, a.pretrain_subjects, a.pretrain_trials, seed=1000)
    rows, pre_nmse = [], {}
    for seed in a.seeds:
        if a.pretrained is None and (folder is None or not a.pretrain_once):
            folder, nmse = pretrain(root, pre_store, a.pretrain_epochs, seed, a.pretrain_args)
            pre_nmse[folder] = nmse
        store, assign = make_finetune_store(root, seed, a.train_trials, a.train_subjects, a.test_subjects,
                                            a.test_trials)
        scratch = finetune(root, store, assign, seed, a.finetune_epochs, None, a.finetune_args)
        pre = finetune(root, store, assign, seed, a.finetune_epochs, folder, a.finetune_args)
        rows.append({"seed": seed, "scratch": scratch["test/balanced_accuracy"],
                     "pretrained": pre["test/balanced_accuracy"], "pretrain_nmse": pre_nmse.get(folder)})
        print(f"seed {seed}: scratch {rows[-1]['scratch']:.3f} pretrained {rows[-1]['pretrained']:.3f}", flush=True)
    sc = np.array([r["scratch"] for r in rows])
    pr = np.array([r["pretrained"] for r in rows])
    diff = pr - sc
    std = (lambda v: float(v.std(ddof=1)) if len(v) > 1 else 0.0)  # noqa: E731
    mean_s, mean_p = float(sc.mean()), float(pr.mean())
    lines = ["| seed | from scratch | pretrained (64 ch) -> fine-tuned (19 ch) | difference | pretraining test NMSE |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['scratch']:.3f} | {r['pretrained']:.3f} | {r['pretrained'] - r['scratch']:+.3f} | "
              + (f"{r['pretrain_nmse']:.3f} |" if r["pretrain_nmse"] is not None else "- |") for r in rows]
    lines.append(f"| mean ± std | {mean_s:.3f} ± {std(sc):.3f} | {mean_p:.3f} ± {std(pr):.3f} | "
                 f"{diff.mean():+.3f} ± {std(diff):.3f} | |")
    print("\ntest balanced accuracy, " + f"{a.train_trials} labelled trials per class, "
          f"{a.test_subjects} unseen test subjects, {len(rows)} seeds, std over seeds ({time.time() - start:.0f} s)")
    print("\n".join(lines))
    result = {"rows": rows, "mean_scratch": mean_s, "mean_pretrained": mean_p, "gain": float(diff.mean()),
              "std_scratch": std(sc), "std_pretrained": std(pr), "std_gain": std(diff),
              "seconds": time.time() - start,
              "args": vars(a)}
    (root / "transfer.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
