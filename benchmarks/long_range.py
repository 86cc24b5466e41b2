"""Synthetic long-range task with a known answer: XOR of the signs at two far-apart positions.

Input: a 1-D sequence (length L) or a 2-D field (H x W) of zeros with two tokens ``s1, s2 = +-1``
at ``p1`` (random, first half of each axis) and ``p2 = p1 + L/2`` (half the grid further along
every axis); label ``s1 != s2``. Model: pointwise stem (1 -> D) -> backbone -> global
mean pool -> linear. With mean pooling, a stack of 3-wide convolutions sees each token alone, its
pooled features are ``h(s1) + h(s2) + const`` and XOR is not linearly separable from that: it
stays at chance. A backbone whose receptive field joins the two tokens can solve it.

    python benchmarks/long_range.py            # full size: L=4096 and 128 x 128
    python benchmarks/long_range.py --small    # L=512 and 32 x 32 (what the tests run)
    python benchmarks/long_range.py --shape 4096 --only ssm gfnet --baseline-steps 0 --cpu-time

Prints a markdown table: family, backbone, grid, accuracy, conv3 baseline, train seconds.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.backbones import create_backbone


def make_batch(
    n: int, shape: tuple[int, ...], gen: torch.Generator, width: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x (n, 1, *shape)`` with two +-1 tokens far apart and labels ``y (n,)`` = XOR of their signs.

    The first sign sits at a random place in the first half of every axis, the second exactly half
    the grid further along every axis (delayed XOR: the separation is fixed, the place is not).
    Each sign is written on a run of ``width`` consecutive cells per axis (default 1/8 of the
    axis in 1-D, 1/4 per axis in 2-D) so that mean-pooled features carry a usable gradient; the
    runs never overlap and stay half the grid apart.
    """
    ws = [width or max(1, size // (8 if len(shape) == 1 else 4)) for size in shape]
    x = torch.zeros(n, 1, *shape)
    s = (torch.randint(0, 2, (n, 2), generator=gen) * 2 - 1).float()
    starts = [torch.randint(0, size // 2 - w + 1, (n,), generator=gen) for size, w in zip(shape, ws)]
    for i in range(n):
        sl1 = [slice(int(a[i]), int(a[i]) + w) for a, w in zip(starts, ws)]
        sl2 = [slice(int(a[i]) + size // 2, int(a[i]) + size // 2 + w) for a, size, w in zip(starts, shape, ws)]
        x[(i, 0, *sl1)] = s[i, 0]
        x[(i, 0, *sl2)] = s[i, 1]
    return x, (s[:, 0] != s[:, 1]).long()


class Classifier(nn.Module):
    """Pointwise stem -> backbone -> mean pool -> linear (2 classes)."""

    def __init__(self, backbone: nn.Module, dim: int) -> None:
        super().__init__()
        self.stem = nn.Linear(1, dim)
        self.backbone = backbone
        self.head = nn.Linear(dim, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.movedim(1, -1)).movedim(-1, 1)
        h = self.backbone(h)
        return self.head(h.flatten(2).mean(-1))


@dataclass
class Spec:
    """One backbone configuration of the benchmark."""

    family: str
    name: str
    kwargs: dict = field(default_factory=dict)
    depth: int = 2
    lr: float = 5e-3


ROW_MAJOR_BOTH_WAYS = [[[0, 1], []], [[0, 1], [0, 1]]]
"""SSM scan orders for the 2-D task: row-major forward and backward. With the default four orders
(column-major too, averaged or summed) the SSM stays at a constant prediction on the 32 x 32 task
for 400 steps; with these two it reaches 0.96 (the same model as a 1-D SSM on the flattened field)."""


def specs_for(shape: tuple[int, ...]) -> list[Spec]:
    """The backbone per family, with kernel sizes / dilations sized so the receptive field spans the grid."""
    n = max(shape)
    # LKA: local (2d-1) + dilated (k=31 in 1-D, 9 in 2-D) reaches ~n/2 per layer along each axis
    k = 31 if len(shape) == 1 else 9
    d = max(1, n // (k - 1))
    lka = {"local_kernel": min(2 * d - 1, 255), "kernel_size": k, "dilation": d}
    dt_max = min(0.1, 5.0 / math.prod(shape))
    specs = [
        Spec("large-kernel", "lka", lka),
        Spec("frequency", "afno", {"num_blocks": 4}),
        Spec("frequency", "gfnet", {"filter_size": n}),  # full-resolution filter for this grid
        # initial steps dt in [dt_max / 10, dt_max] with dt_max = 5 / (grid cells): the slowest channels
        # (|A| = 1) remember ~L / 5 to ~2 L steps, enough to carry the first sign to the second one
        Spec("state-space", "ssm", {"d_state": 8, "expand": 1, "dt_min": dt_max / 10, "dt_max": dt_max,
                                    **({"orders": ROW_MAJOR_BOTH_WAYS} if len(shape) == 2 else {})}),
    ]
    if len(shape) == 1:  # hyena mixes along grid axis 0 only: a 1-D model
        specs.insert(3, Spec("frequency", "hyena", {}))
    return specs


def train_eval(
    backbone_name: str, kwargs: dict, shape: tuple[int, ...], *, dim: int = 16, depth: int = 2, steps: int = 400,
    batch: int = 32, lr: float = 5e-3, seed: int = 0, n_test: int = 512, time_limit: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float, int]:
    """Train on fresh batches, return ``(test accuracy, train seconds, steps done)``.

    Stops early once 10 consecutive training batches are all correct, or at ``time_limit`` seconds.
    Seconds are read from ``clock`` (wall clock; ``time.process_time`` gives CPU seconds, the
    measure that does not depend on the other jobs of a shared machine).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    bb = create_backbone(backbone_name, dim=dim, depth=depth, ndim=len(shape), causal=False, **kwargs)
    model = Classifier(bb, dim)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    t0, streak, done = clock(), 0, 0
    model.train()
    for step in range(steps):
        x, y = make_batch(batch, shape, gen)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        done = step + 1
        streak = streak + 1 if bool((logits.argmax(-1) == y).all()) else 0
        if streak >= 10 or (time_limit is not None and clock() - t0 > time_limit):
            break
    train_s = clock() - t0
    model.eval()
    test_gen = torch.Generator().manual_seed(10_000 + seed)
    correct = 0
    with torch.no_grad():
        for i in range(0, n_test, 64):
            x, y = make_batch(min(64, n_test - i), shape, test_gen)
            correct += int((model(x).argmax(-1) == y).sum())
    return correct / n_test, train_s, done


def conv3_baseline(shape: tuple[int, ...], depth: int, **kw) -> tuple[float, float, int]:
    """Same architecture and size as ``large_kernel`` but with 3-wide kernels (local receptive field)."""
    return train_eval("large_kernel", {"kernel_size": 3, "small_kernel": 3}, shape, depth=depth, **kw)


def parse_shape(text: str) -> tuple[int, ...]:
    """``"4096"`` -> ``(4096,)``, ``"128x128"`` -> ``(128, 128)``."""
    return tuple(int(v) for v in text.lower().split("x"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="L=512 and 32x32 instead of 4096 and 128x128")
    ap.add_argument("--shape", type=parse_shape, nargs="*", default=None,
                    help="grids to run, e.g. 4096 128x128 (overrides --small and --ndim)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--only", nargs="*", default=None, help="backbone names to run")
    ap.add_argument("--ndim", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--baseline-steps", type=int, default=100, help="conv3 baseline steps (0: skip it)")
    ap.add_argument("--time-limit", type=float, default=None, help="stop a training run after this many seconds")
    ap.add_argument("--cpu-time", action="store_true", help="seconds (and --time-limit) in process CPU time")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = {1: (512,) if args.small else (4096,), 2: (32, 32) if args.small else (128, 128)}
    shapes = args.shape or [sizes[nd] for nd in args.ndim]
    steps = args.steps or (400 if args.small else 600)
    clock = time.process_time if args.cpu_time else time.perf_counter
    limit = "" if args.time_limit is None else f", stop after {args.time_limit:.0f} s"
    print(f"delayed XOR, dim 16, batch 32, AdamW lr 5e-3 one-cycle, <= {steps} steps (early stop{limit}), "
          f"{torch.get_num_threads()} thread(s), {'CPU' if args.cpu_time else 'wall'} seconds; "
          f"accuracy on 512 fresh samples\n")
    print("| family | backbone | grid | accuracy | conv3 baseline | train s | steps |")
    print("|---|---|---|---|---|---|---|")
    for shape in shapes:
        base = "-"
        if args.baseline_steps > 0:
            base = f"{conv3_baseline(shape, 2, steps=min(steps, args.baseline_steps))[0]:.3f}"
        for spec in specs_for(shape):
            if args.only and spec.name not in args.only:
                continue
            acc, secs, done = train_eval(spec.name, spec.kwargs, shape, depth=spec.depth, steps=steps, lr=spec.lr,
                                         time_limit=args.time_limit, clock=clock)
            grid = "x".join(map(str, shape))
            print(f"| {spec.family} | {spec.name} | {grid} | {acc:.3f} | {base} | {secs:.1f} | {done} |", flush=True)


if __name__ == "__main__":
    main()
