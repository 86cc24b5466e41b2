"""Transfer benchmark: masked-reconstruction pretraining on one montage, fine-tuning on another.

1. Pretraining corpus: synthetic motor-imagery EEG, montage A (64 channels), many subjects, used
   **without labels** (fixed windows, ``experiment=eeg/pretrain``), exported to a pretrained folder.
2. Fine-tuning: montage B (19 channels), new subjects; ``--train-trials`` labelled trials per class
   (spread over ``--train-subjects`` subjects), one validation subject, ``--test-subjects`` test
   subjects; ``experiment=eeg/motor_imagery`` from scratch vs with ``model.pretrained=<folder>``,
   same architecture, same data, same seeds.

Prints a markdown table of test balanced accuracy per seed and the mean difference::

    python benchmarks/transfer.py --out /tmp/transfer            # the reported numbers
    python benchmarks/transfer.py --quick --out /tmp/transfer_q  # seconds-scale smoke run

Every run goes through ``signalkit.training.train`` (the ``signalkit train`` code path).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

# a small model that trains in minutes on a CPU; used for both arms
SMALL_MODEL = ["model.dim=32", "model.tokenizer.patch_size=32", "model.tokenizer.virtual_channels=8",
               "model.backbone.depth=2", "model.backbone.kernel_size=15", "model.backbone.small_kernel=3",
               "model.backbone.mlp_ratio=2.0"]


def _ingest(paths: list[Path], store: Path) -> str:
    from signalkit.store import ingest

    if not store.exists():
        ingest([str(p) for p in paths], str(store), "eeg", {}, progress=False)
    return str(store)


def make_pretrain_store(root: Path, n_subjects: int, n_trials: int, seed: int) -> str:
    """Montage A (64 channels), subjects 1..n; labels exist in the files but are never used."""
    from signalkit.demo import make_motor_imagery

    paths = make_motor_imagery(root / "pretrain_edf", n_subjects, n_trials, montage="64", seed=seed)
    return _ingest(paths, root / "pretrain.zarr")


def make_finetune_store(root: Path, seed: int, train_trials: int, train_subjects: int,
                        test_subjects: int, test_trials: int) -> tuple[str, dict]:
    """Montage B (19 channels), subjects from 101: train, one val, test; returns (store, assign)."""
    from signalkit.demo import make_motor_imagery

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
    """Masked-reconstruction pretraining; returns the exported pretrained folder."""
    from signalkit.pretrained import export_checkpoint
    from signalkit.training import train

    out = root / f"pretrain_run_seed{seed}"
    metrics = train(["experiment=eeg/pretrain", f"data.store={store}", f"output_dir={out}", f"seed={seed}",
                     f"trainer.max_epochs={epochs}", "trainer.enable_progress_bar=false",
                     "model.head.decoder_depth=1", *SMALL_MODEL, *extra])
    print(f"pretraining: val/nmse {metrics.get('val/nmse', float('nan')):.3f} "
          f"test/nmse {metrics.get('test/nmse', float('nan')):.3f} in {metrics['train/seconds']:.0f} s", flush=True)
    return export_checkpoint(metrics["best_checkpoint"], root / f"pretrained_seed{seed}")


def finetune(root: Path, store: str, assign: dict, seed: int, epochs: int, pretrained: str | None,
             extra: list[str]) -> dict:
    """One fine-tuning (or from-scratch) run; returns its metrics."""
    from signalkit.training import train

    tag = "pretrained" if pretrained else "scratch"
    assign_txt = "{" + ",".join(f"{k}:[{','.join(repr(s) for s in v)}]" for k, v in assign.items()) + "}"
    overrides = ["experiment=eeg/motor_imagery", f"data.store={store}", f"data.split.assign={assign_txt}",
                 f"output_dir={root / f'{tag}_seed{seed}'}", f"seed={seed}", f"trainer.max_epochs={epochs}",
                 "trainer.enable_progress_bar=false", "data.batch_size=8", *SMALL_MODEL, *extra]
    if pretrained:
        overrides.append(f"model.pretrained={pretrained}")
    return train(overrides)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/signalkit_transfer")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--pretrain-subjects", type=int, default=12)
    p.add_argument("--pretrain-trials", type=int, default=20, help="trials per class and subject (unlabelled)")
    p.add_argument("--pretrain-epochs", type=int, default=15)
    p.add_argument("--train-trials", type=int, default=20, help="labelled fine-tuning trials per class")
    p.add_argument("--train-subjects", type=int, default=2)
    p.add_argument("--test-subjects", type=int, default=3)
    p.add_argument("--test-trials", type=int, default=20)
    p.add_argument("--finetune-epochs", type=int, default=30)
    p.add_argument("--pretrain-per-seed", action="store_true", help="pretrain once per seed (default: once)")
    p.add_argument("--pretrained", default=None, help="reuse this pretrained folder instead of pretraining")
    p.add_argument("--finetune-args", nargs="*", default=[], help="extra overrides for both fine-tuning arms")
    p.add_argument("--pretrain-args", nargs="*", default=[], help="extra overrides for pretraining")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the pipeline, not the numbers")
    a = p.parse_args(argv)
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
    rows = []
    for seed in a.seeds:
        if a.pretrained is None and (folder is None or a.pretrain_per_seed):
            folder = pretrain(root, pre_store, a.pretrain_epochs, seed, a.pretrain_args)
        store, assign = make_finetune_store(root, seed, a.train_trials, a.train_subjects, a.test_subjects,
                                            a.test_trials)
        scratch = finetune(root, store, assign, seed, a.finetune_epochs, None, a.finetune_args)
        pre = finetune(root, store, assign, seed, a.finetune_epochs, folder, a.finetune_args)
        rows.append({"seed": seed, "scratch": scratch["test/balanced_accuracy"],
                     "pretrained": pre["test/balanced_accuracy"]})
        print(f"seed {seed}: scratch {rows[-1]['scratch']:.3f} pretrained {rows[-1]['pretrained']:.3f}", flush=True)
    mean_s = float(np.mean([r["scratch"] for r in rows]))
    mean_p = float(np.mean([r["pretrained"] for r in rows]))
    lines = ["| seed | from scratch | pretrained (64 ch) -> fine-tuned (19 ch) | difference |",
             "|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['scratch']:.3f} | {r['pretrained']:.3f} | {r['pretrained'] - r['scratch']:+.3f} |"
              for r in rows]
    lines.append(f"| mean | {mean_s:.3f} | {mean_p:.3f} | {mean_p - mean_s:+.3f} |")
    print("\ntest balanced accuracy, " + f"{a.train_trials} labelled trials per class, "
          f"{a.test_subjects} unseen test subjects, {len(rows)} seeds ({time.time() - start:.0f} s)")
    print("\n".join(lines))
    result = {"rows": rows, "mean_scratch": mean_s, "mean_pretrained": mean_p, "gain": mean_p - mean_s,
              "args": vars(a)}
    (root / "transfer.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
