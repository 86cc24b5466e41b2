"""Training-step time of the default EEG, weather and video models (and braindecode's EEGNet on the
same EEG batch, when importable) on one device.

    python -m benchmarks.gpu_steps                 # CUDA: float32 and bf16 autocast, realistic sizes
    python -m benchmarks.gpu_steps --dry-run       # CPU, tiny sizes, 1 step: checks the code path only

The signalkit models are built with ``build_model`` from ``benchmarks/gpu_models.json``: their plain
configs as ``model_config`` composes them (the GPU image has no Hydra; a test checks the file equals
``model_config``, and ``--write-configs`` rewrites it). EEGNet is braindecode's where braindecode is
installed, else the self-contained copy in ``benchmarks/eegnet.py`` (the row says which).

A step is forward, loss, backward and AdamW on a fixed random batch of the model's data contract:
EEG ``(B, C, T)`` with sensor positions, weather ``(B, history, V, H, W)`` (a WeatherBench 2
64 x 32 grid), video ``(B, 10, 1, 64, 64)`` (Moving MNIST). On CUDA the time is the median of
``--steps`` steps measured with CUDA events after ``--warmup`` steps; peak memory is
``torch.cuda.max_memory_allocated``. Prints a markdown table (and ``--json`` writes the rows).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.report import have, md_table

CONFIGS = Path(__file__).with_name("gpu_models.json")
# the named models timed, with the overrides they are built with (model_config(name, **overrides))
MODEL_OVERRIDES = {"eeg_decoder": {"num_classes": 4}, "weather_afno": {}, "video_simvp": {}}


def model_configs() -> dict[str, dict]:
    """The plain configs of the timed models, read from ``benchmarks/gpu_models.json``."""
    return json.loads(CONFIGS.read_text())


def write_configs() -> None:
    """Rewrite ``benchmarks/gpu_models.json`` from ``model_config`` (needs Hydra: run it here, not there)."""
    from signalkit.models import model_config

    cfgs = {name: model_config(name, **kw) for name, kw in MODEL_OVERRIDES.items()}
    CONFIGS.write_text(json.dumps(cfgs, indent=1, sort_keys=True) + "\n")


def _build(name: str) -> torch.nn.Module:
    from signalkit.models import build_model

    return build_model(model_configs()[name])

SIZES = {  # (full, dry run)
    "eeg": ({"B": 64, "C": 64, "T": 640}, {"B": 2, "C": 8, "T": 160}),
    "weather": ({"B": 16, "V": 5, "H": 32, "W": 64}, {"B": 1, "V": 2, "H": 8, "W": 16}),
    "video": ({"B": 16, "T": 10, "H": 64, "W": 64}, {"B": 1, "T": 10, "H": 16, "W": 16}),
}


def _eeg(dev: torch.device, s: dict) -> tuple[torch.nn.Module, dict, Callable]:
    model = _build("eeg_decoder")
    g = torch.Generator().manual_seed(0)
    batch = {"x": torch.randn(s["B"], s["C"], s["T"], generator=g),
             "pos": (0.08 * torch.randn(s["C"], 3, generator=g)).expand(s["B"], s["C"], 3).contiguous(),
             "ch_type": torch.zeros(s["B"], s["C"], dtype=torch.long),
             "y": torch.randint(0, 4, (s["B"],), generator=g)}
    return model, batch, lambda out, b: F.cross_entropy(out.float(), b["y"])


def eegnet_source() -> str:
    """Where the timed EEGNet comes from: ``braindecode`` when importable, else ``benchmarks/eegnet.py``."""
    return "braindecode" if have("braindecode") else "benchmarks/eegnet.py"


def _eegnet(dev: torch.device, s: dict) -> tuple[torch.nn.Module, dict, Callable]:
    if eegnet_source() == "braindecode":
        from braindecode.models import EEGNet
    else:
        from benchmarks.eegnet import EEGNet

    model = EEGNet(n_chans=s["C"], n_outputs=4, n_times=s["T"])
    g = torch.Generator().manual_seed(0)
    batch = {"x": torch.randn(s["B"], s["C"], s["T"], generator=g), "y": torch.randint(0, 4, (s["B"],), generator=g)}
    return _Unbatch(model), batch, lambda out, b: F.cross_entropy(out.float(), b["y"])


class _Unbatch(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict) -> torch.Tensor:
        return self.model(batch["x"])


def _weather(dev: torch.device, s: dict) -> tuple[torch.nn.Module, dict, Callable]:
    from signalkit.models import build_model

    cfg = model_configs()["weather_afno"]
    cfg["tokenizer"].update(n_vars=s["V"], history=2)
    model = build_model(cfg)
    g = torch.Generator().manual_seed(0)
    batch = {"x": torch.randn(s["B"], 2, s["V"], s["H"], s["W"], generator=g),
             "lat": torch.linspace(-87.2, 87.2, s["H"]), "lon": torch.linspace(0, 354.4, s["W"]),
             "mask": torch.zeros(s["H"], s["W"], dtype=torch.bool),
             "time": 6.0 * torch.arange(s["B"], dtype=torch.float64),  # init time of each sample, hours
             "y": torch.randn(s["B"], s["V"], s["H"], s["W"], generator=g)}
    return model, batch, lambda out, b: F.mse_loss(out.float(), b["y"])


def _video(dev: torch.device, s: dict) -> tuple[torch.nn.Module, dict, Callable]:
    model = _build("video_simvp")
    g = torch.Generator().manual_seed(0)
    batch = {"x": torch.rand(s["B"], s["T"], 1, s["H"], s["W"], generator=g),
             "y": torch.rand(s["B"], s["T"], 1, s["H"], s["W"], generator=g)}
    return model, batch, lambda out, b: F.mse_loss(out.float(), b["y"])


MODELS = {"signalkit eeg_decoder": ("eeg", _eeg), "EEGNet": ("eeg", _eegnet),
          "signalkit weather_afno": ("weather", _weather), "signalkit video_simvp": ("video", _video)}


def _to(batch: dict, dev: torch.device) -> dict:
    return {k: v.to(dev) if torch.is_tensor(v) and v.dtype != torch.float64 else v for k, v in batch.items()}


def time_steps(model: torch.nn.Module, batch: dict, loss_fn: Callable, dev: torch.device, precision: str,
               warmup: int, steps: int) -> dict:
    """Median seconds per training step, and peak device memory (MiB; CUDA only)."""
    model = model.to(dev).train()
    batch = _to(batch, dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cuda = dev.type == "cuda"
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if precision == "bf16" and cuda else contextlib.nullcontext()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with amp:
            out = model(batch)
        loss_fn(out, batch).backward()
        opt.step()

    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return {"s_per_step": statistics.median(times), "peak_mib": peak,
            "params": sum(p.numel() for p in model.parameters())}


def run(dry_run: bool, warmup: int, steps: int, precisions: list[str]) -> list[dict]:
    dev = torch.device("cuda" if torch.cuda.is_available() and not dry_run else "cpu")
    rows = []
    for label, (kind, make) in MODELS.items():
        if label == "EEGNet":
            label = "braindecode EEGNet" if eegnet_source() == "braindecode" else \
                "EEGNet (benchmarks/eegnet.py; braindecode not installed)"
        sizes = SIZES[kind][1 if dry_run else 0]
        for precision in precisions:
            torch.manual_seed(0)
            try:
                model, batch, loss_fn = make(dev, sizes)
                r = time_steps(model, batch, loss_fn, dev, precision, warmup, steps)
            except Exception as err:  # noqa: BLE001 - one model's failure is a row, not the end of the check
                rows.append({"model": label, "precision": precision, "error": f"{type(err).__name__}: {err}"[:160]})
                continue
            finally:
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
            batch_n = sizes["B"]
            rows.append({"model": label, "precision": precision, "device": str(dev), "batch": batch_n,
                         "shape": " x ".join(f"{k}={v}" for k, v in sizes.items()),
                         "ms_per_step": 1e3 * r["s_per_step"], "samples_per_s": batch_n / r["s_per_step"],
                         "peak_mib": r["peak_mib"], "params": r["params"]})
    return rows


def markdown(rows: list[dict], header: str) -> str:
    eegnet = {r["precision"]: r["ms_per_step"] for r in rows if "EEGNet" in r["model"] and "error" not in r}
    table = []
    for r in rows:
        if "error" in r:
            table.append([r["model"], r.get("precision", "-"), "-", "-", "-", "-", "-", r["error"]])
            continue
        ref = eegnet.get(r["precision"])
        vs = f"{ref / r['ms_per_step']:.2f}x" if ref and r["model"].startswith("signalkit eeg") else ""
        table.append([r["model"], r["precision"], r["shape"], f"{r['params'] / 1e3:.0f}k", f"{r['ms_per_step']:.2f}",
                      f"{r['samples_per_s']:.0f}", "-" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}", vs])
    cols = ["model", "precision", "batch shape", "params", "ms/step", "samples/s", "peak MiB", "speed vs EEGNet"]
    return header + "\n\n" + md_table(cols, table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes, one warm-up and one timed step")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--json", default=None, help="also write the rows to this file")
    p.add_argument("--write-configs", action="store_true", help="rewrite benchmarks/gpu_models.json and exit")
    args = p.parse_args(argv)
    if args.write_configs:
        write_configs()
        return 0
    if not args.dry_run and not torch.cuda.is_available():
        print("benchmarks/gpu_steps.py needs a CUDA GPU (or --dry-run); nothing was measured.", file=sys.stderr)
        return 1
    warmup, steps = (1, 1) if args.dry_run else (args.warmup, args.steps)
    precisions = ["fp32"] if args.dry_run else ["fp32", "bf16"]
    rows = run(args.dry_run, warmup, steps, precisions)
    dev = "CPU dry run (tiny sizes; not a measurement)" if args.dry_run else torch.cuda.get_device_name()
    header = (f"{dev}, torch {torch.__version__}; median of {steps} training steps (forward, loss, backward, "
              f"AdamW) after {warmup} warm-up; bf16 = autocast bfloat16")
    print(markdown(rows, header))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if rows and all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
