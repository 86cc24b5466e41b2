"""CPU paths of the kernel ops against PyTorch's own op, side by side in one process.

dwconv: the banded-matrix path (``kernels/dwconv/banded.py``) against PyTorch's depthwise
``conv1d`` (``kernels/dwconv/reference.py``: what the torch backend ran before) on the token grids
signalkit's models produce, forward + backward, one thread; plus one long 1-D sequence, which the
router keeps on ``conv1d``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.report import md_table

# (name, x shape, kernel, convolved axis)
CASES = [
    ("EEG tokens 19 ch x 20 patches, batch 32, dim 64", (32, 64, 20, 19), 31, 2),
    ("same, channel axis", (32, 64, 20, 19), 31, 3),
    ("EEG tokens 64 ch x 10 patches, batch 32, dim 32", (32, 32, 10, 64), 31, 3),
    ("weather field 32 x 64, batch 4, dim 64", (4, 64, 32, 64), 31, 3),
    ("video 16 x 16 x 16, batch 2, dim 32", (2, 32, 16, 16, 16), 7, 4),
    ("2-D field 128 x 128, batch 8, dim 64", (8, 64, 128, 128), 31, 3),
    ("1-D sequence 4096, batch 4, dim 32 (stays on conv1d)", (4, 32, 4096), 31, 2),
]


def _time(fn, x, w, b, axis, reps: int) -> float:
    def once():
        xg, wg, bg = (t.detach().requires_grad_(True) for t in (x, w, b))
        fn(xg, wg, bg, axis=axis).square().sum().backward()
    once()
    times = []
    for _ in range(reps):
        t = time.process_time()
        once()
        times.append(time.process_time() - t)
    return statistics.median(times)


def run(reps: int) -> str:
    from signalkit.kernels.dwconv import dwconv_reference
    from signalkit.kernels.dwconv.banded import dwconv_banded, use_banded

    torch.set_num_threads(1)
    rows = []
    for name, shape, k, axis in CASES:
        g = torch.Generator().manual_seed(0)
        x, w, b = torch.randn(shape, generator=g), torch.randn(shape[1], k, generator=g), torch.randn(shape[1], generator=g)
        ref = _time(dwconv_reference, x, w, b, axis, reps)
        band = _time(dwconv_banded, x, w, b, axis, reps)
        rows.append([name, k, "banded" if use_banded(x, k, 1, axis) else "conv1d", f"{ref * 1e3:.2f}",
                     f"{band * 1e3:.2f}", f"{ref / band:.2f}x"])
    return (md_table(["case", "kernel", "routed to", "conv1d ms", "banded ms", "banded speed-up"], rows)
            + f"\n\nforward + backward, CPU time, median of {reps}, one thread. *routed to*: the path "
            "`dwconv(backend='torch')` takes for that shape.")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="3 repetitions")
    args = p.parse_args(argv)
    print(run(3 if args.quick else args.reps))


if __name__ == "__main__":
    main()
