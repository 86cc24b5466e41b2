"""Time and memory of forward + backward versus sequence length (1-D), per backbone family.

Compares the backbones (same width and depth) with a softmax-attention transformer (torch SDPA)
and fits the log-log exponent ``t ~ L^a`` (and the same for memory). On CPU the time is the
process CPU time on one thread by default (``--wall`` for wall clock): on a machine shared with
other jobs, wall-clock times are mostly a measure of the neighbours. Memory is the CUDA peak
allocation on a GPU; on CPU (no allocator statistics) it is the size of the tensors autograd
saves for the backward pass (unique storages), which is what grows with L in training.

    python benchmarks/scaling.py --quick     # 1k..16k, fastest of 2 reps
    python benchmarks/scaling.py             # 1k..64k, fastest of 3 reps

A family stops growing L once one point takes more than ``--cap`` seconds (shown as "-").
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.backbones import create_backbone
from signalkit.backbones.common import ChannelLayerNorm, Mlp

FAMILIES = ["large_kernel", "lka", "afno", "gfnet", "hyena", "ssm", "attention"]


class AttentionBlock(nn.Module):
    """Pre-norm transformer block on ``(B, D, L)`` tokens: SDPA self-attention + MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = ChannelLayerNorm(dim), ChannelLayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, D, L = x.shape
        h = self.norm1(x).transpose(1, 2)  # (B, L, D)
        q, k, v = self.qkv(h).view(B, L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v)  # (B, H, L, Dh)
        x = x + self.proj(a.transpose(1, 2).reshape(B, L, D)).transpose(1, 2)
        return x + self.mlp(self.norm2(x))


class AttentionBackbone(nn.Module):
    """Softmax-attention transformer with the backbone contract (1-D, non-causal)."""

    def __init__(self, dim: int, depth: int, heads: int = 2) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(AttentionBlock(dim, heads) for _ in range(depth)))
        self.norm = ChannelLayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(x))


def build(name: str, dim: int, depth: int) -> nn.Module:
    if name == "attention":
        return AttentionBackbone(dim, depth, heads=max(1, dim // 16))
    return create_backbone(name, dim=dim, depth=depth, ndim=1, causal=False)


class SavedBytes:
    """Context manager summing the unique storages autograd saves for backward."""

    def __enter__(self) -> "SavedBytes":
        self.seen: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            try:
                st = t.untyped_storage()
                self.seen[st.data_ptr()] = st.nbytes()
            except (RuntimeError, NotImplementedError):  # sparse/meta tensors
                pass
            return t

        self._ctx = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)

    @property
    def total(self) -> int:
        return sum(self.seen.values())


def measure(
    model: nn.Module, L: int, dim: int, reps: int, device: torch.device, forward_only: bool = False,
    clock: "Callable[[], float]" = time.perf_counter,
) -> tuple[float, float]:
    """Fastest of ``reps`` forward+backward passes at length L (seconds; the minimum is robust to
    other processes on a shared machine), and peak memory in MiB."""
    x = torch.randn(1, dim, L, device=device)
    times, mem = [], 0.0
    for _ in range(reps):
        model.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = clock()
        with SavedBytes() as sb, torch.set_grad_enabled(not forward_only):
            y = model(x)
        if not forward_only:
            y.square().mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
            mem = torch.cuda.max_memory_allocated() / 2**20
        else:
            mem = sb.total / 2**20
        times.append(clock() - t0)
    return min(times), mem


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the main thread after ``seconds`` of process CPU time (SIGPROF)."""

    def handler(signum: int, frame: object) -> None:
        raise TimeoutError

    old = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def fit_exponent(ls: list[int], ys: list[float]) -> float:
    """Least-squares slope of log y vs log L (points with L >= 2048 when there are >= 2 of them)."""
    pts = [(l, y) for l, y in zip(ls, ys) if y > 0]
    big = [p for p in pts if p[0] >= 2048]
    pts = big if len(big) >= 2 else pts
    if len(pts) < 2:
        return float("nan")
    xs = [math.log(l) for l, _ in pts]
    zs = [math.log(y) for _, y in pts]
    mx, mz = sum(xs) / len(xs), sum(zs) / len(zs)
    return sum((a - mx) * (b - mz) for a, b in zip(xs, zs)) / sum((a - mx) ** 2 for a in xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1k..16k, fastest of 2 reps")
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--families", nargs="*", default=FAMILIES)
    ap.add_argument("--cap", type=float, default=None, help="stop a family after a point slower than this (s)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time (always on CUDA)")
    ap.add_argument("--lengths", type=int, nargs="*", default=None, help="override the lengths")
    ap.add_argument("--timeout", type=float, default=None, help="abandon a point after this many (CPU) seconds")
    ap.add_argument("--forward-only", action="store_true", help="time the forward pass only (no grad)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    lengths = args.lengths or [1024 * 2**i for i in range(5 if args.quick else 7)]
    reps = 2 if args.quick else 3
    cap = args.cap if args.cap is not None else (8.0 if args.quick else 60.0)
    clock = time.perf_counter if (args.wall or device.type == "cuda") else time.process_time
    timeout = args.timeout if args.timeout is not None else (20.0 if args.quick else 300.0)
    torch.manual_seed(0)
    rows = []
    t_all = time.perf_counter()
    for name in args.families:
        model = build(name, args.dim, args.depth).to(device)
        ts: list[float] = []
        ms: list[float] = []
        note = ""
        try:
            with deadline(timeout):
                measure(model, 256, args.dim, 1, device, args.forward_only, clock)  # warm-up
            for L in lengths:
                with deadline(timeout):
                    t, m = measure(model, L, args.dim, reps, device, args.forward_only, clock)
                ts.append(t)
                ms.append(m)
                if t > cap:
                    break
        except TimeoutError:
            note = f" (a point took > {timeout:.0f} s: abandoned)"
        rows.append((name, ts, ms, note))
        print(f"# {name}: " + ", ".join(f"{L}: {t:.3f}s/{m:.0f}MiB" for L, t, m in zip(lengths, ts, ms)) + note,
              flush=True)
    mem_kind = "peak CUDA MiB" if device.type == "cuda" else "saved-for-backward MiB"
    heads = " | ".join(f"{L // 1024}k s" if L >= 1024 else f"{L} s" for L in lengths)
    what = "forward only" if args.forward_only else "forward+backward"
    kind = "wall s" if clock is time.perf_counter else "CPU s"
    print(f"\n{what}, {kind} (fastest of {reps}), batch 1, dim {args.dim}, depth {args.depth}, {device.type}, "
          f"{torch.get_num_threads()} threads; memory = {mem_kind}\n")
    print(f"| family | {heads} | time exponent | memory exponent | memory at largest L |")
    print("|---|" + "---|" * len(lengths) + "---|---|---|")
    for name, ts, ms, note in rows:
        if not ts:
            print(f"| {name}{note} |" + " - |" * len(lengths) + " - | - | - |")
            continue
        cells = " | ".join(f"{t:.3f}" if i < len(ts) else "-" for i, t in enumerate([*ts, *[0] * (len(lengths) - len(ts))]))
        te, me = fit_exponent(lengths[: len(ts)], ts), fit_exponent(lengths[: len(ms)], ms)
        print(f"| {name}{note} | {cells} | {te:.2f} | {me:.2f} | {ms[-1]:.0f} MiB @ L={lengths[len(ms) - 1]} |")
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s wall, {time.process_time():.0f} s CPU")


if __name__ == "__main__":
    main()
