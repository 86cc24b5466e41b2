"""Training-step speed and peak memory on CPU: signalkit EEG decoders vs braindecode models.

    .venv-bench/bin/python -m benchmarks.training_speed --quick
    .venv-bench/bin/python -m benchmarks.training_speed --channels 64 --reps 3

Each (model, repetition) runs in a fresh child process on one thread: build the model, one
warm-up step, then ``--steps`` training steps (forward, cross-entropy, backward, AdamW) on a
random batch ``(B, C, T)``. Reported: samples/s from the child's process CPU time (on a shared
machine wall clock mostly measures the neighbours), the fastest repetition; peak resident memory
of the child (``ru_maxrss``) and its growth over the training steps (after model and batch were
built). Children of all models are interleaved round robin so they share the same load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.report import have, md_table, ratio

SIGNALKIT_FAMILIES = ["large_kernel_micro", "afno", "hyena", "ssm"]  # backbone configs; the first is the default
PEERS = ["EEGNet", "ShallowFBCSPNet", "EEGConformer"]

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
torch.manual_seed(0)
spec, B, C, T, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
kind, name = spec.split(":")
x = torch.randn(B, C, T)
y = torch.randint(0, 2, (B,))
if kind == "signalkit":
    from signalkit.config import compose, to_plain
    from signalkit.models import build_model
    # "default": the default eeg_decoder (sensor_filter); a backbone name: the large-kernel-style
    # channel x time decoder (eeg_decoder_lk) with that backbone family
    over = ["model=eeg_decoder"] if name == "default" else ["model=eeg_decoder_lk", f"model/backbone={name}"]
    cfg = to_plain(compose("train", over).model)
    model = build_model(cfg)
    g = torch.Generator().manual_seed(0)
    batch = {"x": x, "pos": torch.randn(C, 3, generator=g).mul(0.08).expand(B, C, 3).contiguous(),
             "ch_type": torch.zeros(B, C, dtype=torch.long), "y": y}
    fwd = lambda: model(batch)
else:
    import braindecode.models as bm
    cls = getattr(bm, name, None) or getattr(bm, name + "v4")
    kw = dict(n_chans=C, n_outputs=2, n_times=T)
    if name == "ShallowFBCSPNet":
        kw["final_conv_length"] = "auto"
    if name == "EEGConformer":
        kw["sfreq"] = 160.0
    model = cls(**kw)
    fwd = lambda: model(x)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(fwd(), y)
    loss.backward()
    opt.step()
model.train()
step()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
c = time.process_time(); w = time.perf_counter()
for _ in range(steps):
    step()
cpu, wall = time.process_time() - c, time.perf_counter() - w
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"cpu": cpu / steps, "wall": wall / steps, "peak_mb": peak / 1024,
                  "growth_mb": (peak - base) / 1024,
                  "params": sum(p.numel() for p in model.parameters())}))
"""


def run_child(spec: str, b: int, c: int, t: int, steps: int, timeout: float) -> dict:
    """One fresh process timing ``steps`` training steps of ``spec`` (``kind:name``)."""
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, spec, str(b), str(c), str(t), str(steps)],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:100]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> str:
    specs = ["signalkit:default"] + [f"signalkit:{f}" for f in args.families if f != "default"]
    if have("braindecode"):
        specs += [f"braindecode:{p}" for p in PEERS]
    best: dict[str, dict] = {}
    for _ in range(args.reps):
        for spec in specs:
            r = run_child(spec, args.batch, args.channels, args.times, args.steps, args.timeout)
            if "error" in r:
                best.setdefault(spec, r)
            elif "cpu" not in best.get(spec, {}) or r["cpu"] < best[spec]["cpu"]:
                best[spec] = r
    ref = best.get("braindecode:EEGNet", {}).get("cpu")
    rows = []
    for spec in specs:
        r = best[spec]
        kind, name = spec.split(":")
        label = ("signalkit eeg_decoder (default)" if name == "default" else f"signalkit eeg_decoder_lk ({name})") \
            if kind == "signalkit" else f"braindecode {name}"
        if "error" in r:
            rows.append([label, "-", "-", "-", "-", "-", "-", r["error"]])
            continue
        sps = args.batch / r["cpu"]
        rows.append([label, f"{r['params'] / 1e3:.0f}k", f"{r['cpu'] * 1000:.0f}", f"{sps:.0f}",
                     f"{args.batch / r['wall']:.0f}", f"{r['peak_mb']:.0f}", f"{r['growth_mb']:.0f}",
                     ratio(ref, r["cpu"]) if ref else "-"])
    header = ["model", "params", "CPU ms/step", "samples/s (CPU time)", "samples/s (wall)",
              "peak RSS MB", "RSS growth MB", "speed vs EEGNet"]
    note = (f"Batch {args.batch} x {args.channels} channels x {args.times} samples, one thread, "
            f"{args.steps} steps after one warm-up step, fastest of {args.reps} fresh processes "
            "(interleaved). Peak RSS includes the interpreter and torch (~300 MB); growth is the "
            "increase during the timed steps (activations beyond the warm-up's).")
    if not have("braindecode"):
        note += " braindecode is not importable in this Python: signalkit rows only."
    return md_table(header, rows) + "\n\n" + note


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--times", type=int, default=640)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--families", nargs="+", default=SIGNALKIT_FAMILIES)
    p.add_argument("--timeout", type=float, default=300.0, help="per child process, seconds")
    p.add_argument("--quick", action="store_true", help="19 channels, 3 steps, 1 repetition")
    args = p.parse_args(argv)
    if args.quick:
        args.channels, args.steps, args.reps = 19, 3, 1
    print(run(args))


if __name__ == "__main__":
    main()
