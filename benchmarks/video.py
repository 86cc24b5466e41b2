"""Moving MNIST under a training-time budget: the default SimVP-style model vs the in-repo ConvLSTM
(same parameter budget) vs copy-last-frame, all through ``signalkit train`` and the same metrics.

    python benchmarks/video.py --digits ../shared/data/video/mnist_test_images_10k.npz \
        --minutes 8 --out /tmp/video_bench

Each model trains for ``--minutes`` of CPU time of its process (``callbacks.cpu_time_budget_s``;
``--budget wall`` uses Lightning's wall-clock ``max_time`` instead) on fresh
sequences, then the best checkpoint (by validation MSE) is tested on the fixed test set of
``--n-test`` sequences (seed ``--seed``). Prints a markdown table and writes ``results.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXPERIMENTS = {"simvp (large_kernel)": "video/moving_mnist", "convlstm": "video/moving_mnist_convlstm"}


def run(digits: str, minutes: float, out: Path, n_test: int, seed: int, threads: int | None,
        models: list[str], budget_kind: str = "cpu") -> dict[str, dict]:
    import torch

    from signalkit.models import create_model
    from signalkit.training import train

    if threads:
        torch.set_num_threads(threads)
    results = {}
    for label in models:
        exp = EXPERIMENTS[label]
        sec = int(round(minutes * 60))
        budget = f"00:{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"  # DD:HH:MM:SS
        over = [f"experiment={exp}", f"data.digits={digits}", f"data.n_test={n_test}", f"seed={seed}",
                "data.n_train=800", "data.n_val=96", "data.batch_size=8", "trainer.max_epochs=1000",
                f"trainer.max_time={budget}" if budget_kind == "wall" else f"callbacks.cpu_time_budget_s={sec}",
                "trainer.enable_progress_bar=false", f"output_dir={out / exp.replace('/', '_')}"]
        metrics = train(over)
        name = "video_simvp" if "convlstm" not in exp else "video_convlstm"
        metrics["params"] = create_model(name).num_parameters()
        results[label] = metrics
        print(f"{label}: test/mse {metrics['test/mse']:.4f} copy-last {metrics['test/mse_copy_last']:.4f}", flush=True)
    return results


def run_parallel(args: argparse.Namespace, out: Path) -> dict[str, dict]:
    """One subprocess per model (same arguments), then merge their ``results.json``."""
    import subprocess
    import sys

    procs = []
    for i, label in enumerate(args.models):
        sub = out / f"model{i}"
        cmd = [sys.executable, __file__, "--digits", args.digits, "--minutes", str(args.minutes), "--out", str(sub),
               "--n-test", str(args.n_test), "--seed", str(args.seed), "--models", label, "--budget", args.budget]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        log = open(out / f"model{i}.log", "w")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
    for proc, log in procs:
        proc.wait()
        log.close()
    results = {}
    for i, label in enumerate(args.models):
        results.update(json.loads((out / f"model{i}" / "results.json").read_text()))
    return results


def table(results: dict[str, dict]) -> str:
    first = next(iter(results.values()))
    k_max = max(int(k.split("@")[1]) for k in first if k.startswith("test/mse@"))
    head = ("| model | params | epochs | train s | train CPU s | MSE/pixel | MSE/frame OpenSTL (unclamped) | MAE/frame OpenSTL (unclamped) | SSIM (torchmetrics, not OpenSTL's) | PSNR | "
            + " | ".join(f"MSE@{k}" for k in range(1, k_max + 1)) + " |")
    rows = [head, "|" + "---|" * (11 + k_max - 1)]
    for label, m in results.items():
        rows.append(f"| {label} | {int(m['params'])} | {int(m['train/epochs'])} | {m['train/seconds']:.0f} | {m.get('train/cpu_seconds', float('nan')):.0f} | "
                    f"{m['test/mse']:.4f} | {m['test/mse_per_frame_openstl']:.1f} | {m['test/mae_per_frame_openstl']:.1f} | "
                    f"{m['test/ssim']:.3f} | {m['test/psnr']:.2f} | "
                    + " | ".join(f"{m[f'test/mse@{k}']:.4f}" for k in range(1, k_max + 1)) + " |")
    m = first
    rows.append(f"| copy last frame | 0 | - | - | - | {m['test/mse_copy_last']:.4f} | {m['test/mse_per_frame_openstl_copy_last']:.1f} | "
                f"{m['test/mae_per_frame_openstl_copy_last']:.1f} | {m['test/ssim_copy_last']:.3f} | {m['test/psnr_copy_last']:.2f} | "
                + " | ".join(f"{m[f'test/copy_last/mse@{k}']:.4f}" for k in range(1, k_max + 1)) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", required=True, help="MNIST digits .npz (key data) or .npy")
    ap.add_argument("--minutes", type=float, default=8.0, help="training budget per model (see --budget)")
    ap.add_argument("--budget", choices=["cpu", "wall"], default="cpu",
                    help="cpu: CPU time of the training process (fair on a shared machine); wall: wall clock")
    ap.add_argument("--out", default="/tmp/video_bench")
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--models", nargs="+", default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
    ap.add_argument("--parallel", action="store_true",
                    help="train the models at the same time, one process each (use with --threads 1)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.parallel and len(args.models) > 1:
        results = run_parallel(args, out)
    else:
        results = run(args.digits, args.minutes, out, args.n_test, args.seed, args.threads, args.models, args.budget)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    md = table(results)
    (out / "results.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
