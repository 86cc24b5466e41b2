"""Speed of the signalkit kernels on a CUDA GPU: Triton vs the PyTorch path vs the memory floor.

Usage::

    python benchmarks/kernels.py                 # all ops, bfloat16, forward and forward+backward
    python benchmarks/kernels.py --quick --dtype float32 --ops dwconv,fftconv

For each op and size typical of the backbones (EEG: C = 64..256 channels, L = 1k..64k samples;
fields: 128x128..512x512) it times, with ``triton.testing.do_bench`` (median ms):

* the PyTorch path (``backend="torch"``: cuDNN depthwise ``conv1d``, ``torch.fft``, the sequential
  reference scan, the einsum AFNO MLP),
* the Triton path (``backend="triton"``),
* the memory floor: the bytes the op must move at least (inputs read once, outputs written once)
  divided by the measured device-to-device copy bandwidth,

and prints a markdown table with the ratios. Needs CUDA; without it, it says so and exits with 1.
``--dry-run`` runs every case once on the CPU at tiny sizes (Triton under ``TRITON_INTERPRET=1``,
set before torch is imported), timing with ``perf_counter``: it checks the code path, not speed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SCAN_TORCH_MAX_L = 4096  # the sequential reference scan is a Python loop: skip it beyond this
DEVICE = "cuda"  # "cpu" in --dry-run
TINY = False  # --dry-run: one tiny shape per case family


@dataclass
class Case:
    op: str
    shape: str
    make: Callable[[str], Callable[[], torch.Tensor]]  # backend -> closure running the op
    params: list[torch.Tensor]  # tensors that get gradients
    bytes_fwd: int
    bytes_bwd: int
    torch_ok: bool = True


def copy_bandwidth(nbytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth in bytes/s (read + write counted)."""
    from triton.testing import do_bench

    src = torch.empty(nbytes, dtype=torch.uint8, device=DEVICE)
    dst = torch.empty_like(src)
    ms = do_bench(lambda: dst.copy_(src))
    return 2 * nbytes / (ms * 1e-3)


def _cpu_copy_bandwidth(nbytes: int = 1 << 24) -> float:
    import time

    src = torch.empty(nbytes, dtype=torch.uint8)
    dst = torch.empty_like(src)
    t = time.perf_counter()
    dst.copy_(src)
    return 2 * nbytes / max(time.perf_counter() - t, 1e-9)


def _req(t: torch.Tensor) -> torch.Tensor:
    return t.requires_grad_(True)


def dwconv_cases(dtype: torch.dtype, quick: bool) -> list[Case]:
    from signalkit.kernels import dwconv

    es = torch.tensor([], dtype=dtype).element_size()
    cases = []
    eeg = [(8, 64, 1024), (8, 256, 16384)] if quick else [(8, 64, 1024), (8, 64, 16384), (8, 256, 16384), (8, 256, 65536)]
    shapes = [((b, c, l), -1, 63) for b, c, l in eeg]
    fields = [(4, 64, 128, 128)] if quick else [(4, 64, 128, 128), (4, 64, 512, 512)]
    shapes += [(f, ax, 31) for f in fields for ax in (2, 3)]
    if TINY:
        shapes = [((2, 4, 96), -1, 15), ((1, 4, 8, 12), 2, 5)]
    for shape, axis, K in shapes:
        x = _req(torch.randn(shape, device=DEVICE, dtype=dtype))
        w = _req(torch.randn(shape[1], K, device=DEVICE, dtype=dtype) / K)
        b = _req(torch.randn(shape[1], device=DEVICE, dtype=dtype))
        n = x.numel() * es

        def make(backend, x=x, w=w, b=b, axis=axis):
            return lambda: dwconv(x, w, b, axis=axis, activation="gelu", backend=backend)

        cases.append(Case("dwconv gelu", f"{tuple(shape)} axis={axis} K={K}", make, [x, w, b], 2 * n, 3 * n))
    return cases


def fftconv_cases(dtype: torch.dtype, quick: bool) -> list[Case]:
    from signalkit.kernels import fftconv

    es = torch.tensor([], dtype=dtype).element_size()
    cases = []
    sizes = [(8, 64, 1024), (8, 256, 16384)] if quick else [(8, 64, 1024), (8, 64, 16384), (8, 256, 16384), (8, 256, 65536)]
    for B, C, L in ([(2, 4, 64)] if TINY else sizes):
        u = _req(torch.randn(B, C, L, device=DEVICE, dtype=dtype))
        k = _req(torch.randn(C, L, device=DEVICE) / L**0.5)
        D = _req(torch.randn(C, device=DEVICE))
        gate = _req(torch.randn(B, C, L, device=DEVICE, dtype=dtype))
        n = u.numel() * es

        def make(backend, u=u, k=k, D=D, gate=gate):
            return lambda: fftconv(u, k, D, gate=gate, backend=backend)

        # fwd: read u, gate, write y; bwd: read gy, u, gate, write du, dgate
        cases.append(Case("fftconv gated", f"({B}, {C}, {L}) Lk={L}", make, [u, k, D, gate], 3 * n, 5 * n))
    return cases


def scan_cases(dtype: torch.dtype, quick: bool) -> list[Case]:
    from signalkit.kernels import selective_scan

    es = torch.tensor([], dtype=dtype).element_size()
    cases = []
    sizes = [(8, 256, 16, 1024), (8, 256, 16, 16384)] if quick else [
        (8, 64, 16, 1024), (8, 256, 16, 1024), (8, 256, 16, 16384), (8, 256, 16, 65536),
    ]
    for Bt, Dm, N, L in ([(1, 4, 4, 32)] if TINY else sizes):
        u = _req(torch.randn(Bt, Dm, L, device=DEVICE, dtype=dtype))
        delta = _req(torch.randn(Bt, Dm, L, device=DEVICE, dtype=dtype))
        A = _req(-torch.rand(Dm, N, device=DEVICE) - 0.5)
        Bm = _req(torch.randn(Bt, N, L, device=DEVICE, dtype=dtype))
        Cm = _req(torch.randn(Bt, N, L, device=DEVICE, dtype=dtype))
        D = _req(torch.randn(Dm, device=DEVICE))
        z = _req(torch.randn(Bt, Dm, L, device=DEVICE, dtype=dtype))
        dbias = _req(torch.randn(Dm, device=DEVICE))
        n, nbc = u.numel() * es, Bm.numel() * es

        def make(backend, a=(u, delta, A, Bm, Cm, D, z, dbias)):
            return lambda: selective_scan(*a, delta_softplus=True, backend=backend)

        # fwd: read u, delta, z, B, C; write y. bwd: + read gy, write du, ddelta, dz, dB, dC
        cases.append(Case(
            "selective_scan", f"({Bt}, {Dm}, {L}) N={N}", make, [u, delta, A, Bm, Cm, D, z, dbias],
            4 * n + 2 * nbc, 7 * n + 4 * nbc, torch_ok=L <= SCAN_TORCH_MAX_L,
        ))
    return cases


def afno_cases(dtype: torch.dtype, quick: bool) -> list[Case]:
    from signalkit.kernels import afno_mlp

    cdtype = torch.complex64 if dtype != torch.float16 else torch.complex32
    es = 2 * torch.tensor([], dtype=dtype if dtype != torch.bfloat16 else torch.float32).element_size()
    cases = []
    sizes = [(4, 128, 128)] if quick else [(4, 128, 128), (4, 256, 256), (4, 512, 512)]
    C, nb = 256, 8
    if TINY:
        sizes, C, nb = [(1, 8, 8)], 16, 2
    bs = C // nb
    for B, H, W in sizes:
        xf = _req(torch.randn(B, H, W // 2 + 1, C, device=DEVICE, dtype=torch.complex64).to(cdtype))
        ws = [
            _req(0.1 * torch.randn(s, device=DEVICE))
            for s in ((2, nb, bs, bs), (2, nb, bs), (2, nb, bs, bs), (2, nb, bs))
        ]
        n = xf.numel() * es

        def make(backend, xf=xf, ws=ws):
            return lambda: afno_mlp(xf, *ws, backend=backend)

        cases.append(Case("afno_mlp", f"({B}, {H}, {W // 2 + 1}, {C}) nb={nb}", make, [xf, *ws], 2 * n, 3 * n))
    return cases


def _fwd_bwd(fn: Callable[[], torch.Tensor], params: list[torch.Tensor]) -> Callable[[], None]:
    def run() -> None:
        for p in params:
            p.grad = None
        y = fn()
        gy = torch.ones_like(y)
        y.backward(gy)

    return run


def _once(fn: Callable[[], object]) -> float:
    """Milliseconds of one call (the dry run's stand-in for do_bench)."""
    import time

    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def bench(cases: list[Case], bw: float, passes: tuple[str, ...]) -> list[list[str]]:
    if DEVICE == "cuda":
        from triton.testing import do_bench
    else:
        do_bench = _once

    rows = []
    for case in cases:
        for p in passes:
            fns = {be: case.make(be) for be in ("torch", "triton")}
            if p == "fwd+bwd":
                fns = {be: _fwd_bwd(f, case.params) for be, f in fns.items()}
                floor = (case.bytes_fwd + case.bytes_bwd) / bw * 1e3
            else:
                floor = case.bytes_fwd / bw * 1e3
            times = {}
            for be, f in fns.items():
                if be == "torch" and not case.torch_ok:
                    times[be] = float("nan")
                    continue
                with torch.no_grad() if p == "fwd" else torch.enable_grad():
                    try:
                        times[be] = do_bench(f)
                    except torch.cuda.OutOfMemoryError:
                        times[be] = float("nan")
                        torch.cuda.empty_cache()
                    except Exception as err:  # noqa: BLE001 - one backend failing is a row, not the end
                        print(f"{case.op} {case.shape} {p} {be}: {type(err).__name__}: {err}", file=sys.stderr)
                        times[be] = float("nan")
            t, tr = times["torch"], times["triton"]
            rows.append([
                case.op, case.shape, p, f"{t:.3f}", f"{tr:.3f}", f"{t / tr:.2f}x",
                f"{floor:.3f}", f"{tr / floor:.1f}x",
            ])
            print("| " + " | ".join(rows[-1]) + " |", flush=True)  # row by row: a run cut short keeps its rows
    return rows


COLS = ["op", "shape", "pass", "torch ms", "triton ms", "speed-up", "floor ms", "triton / floor"]


def markdown_header(header: str) -> str:
    """The table's title line and column header; :func:`bench` prints the rows under it."""
    return "\n".join([header, "", "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bfloat16")
    parser.add_argument("--ops", default="dwconv,fftconv,selective_scan,afno_mlp")
    parser.add_argument("--quick", action="store_true", help="fewer, smaller sizes")
    parser.add_argument("--fwd-only", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes, one call each (checks the path)")
    args = parser.parse_args(argv)
    global DEVICE, TINY
    if args.dry_run:
        DEVICE, TINY = "cpu", True
        if args.dtype != "float32":
            args.dtype = "float32"  # the Triton interpreter runs float32 only
    elif not torch.cuda.is_available():
        print(
            "benchmarks/kernels.py needs a CUDA GPU (torch.cuda.is_available() is False); "
            "nothing was measured.",
            file=sys.stderr,
        )
        return 1
    dtype = DTYPES[args.dtype]
    builders = {"dwconv": dwconv_cases, "fftconv": fftconv_cases, "selective_scan": scan_cases, "afno_mlp": afno_cases}
    unknown = set(args.ops.split(",")) - set(builders)
    if unknown:
        parser.error(f"unknown ops {sorted(unknown)}; choose from {sorted(builders)}")
    bw = copy_bandwidth() if DEVICE == "cuda" else _cpu_copy_bandwidth()
    passes = ("fwd",) if args.fwd_only else ("fwd", "fwd+bwd")
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU dry run (tiny sizes, one call; not a measurement)"
    print(markdown_header(f"{name}, {args.dtype}, torch {torch.__version__}, "
                          f"copy bandwidth {bw / 1e9:.0f} GB/s; median ms of triton.testing.do_bench"), flush=True)
    for op in args.ops.split(","):
        bench(builders[op](dtype, args.quick), bw, passes)
        if DEVICE == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
