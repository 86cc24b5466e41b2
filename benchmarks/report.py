"""Small helpers shared by the peer benchmarks: markdown tables, machine description, timing."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
SCRATCH = Path(os.environ.get("SIGNALKIT_BENCH_TMP", "/tmp/signalkit_bench"))


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; floats get 3 significant digits, ``None`` prints as ``-``.

    >>> print(md_table(["a", "b"], [[1, 0.12345], ["x", None]]))
    | a | b |
    |---|---|
    | 1 | 0.123 |
    | x | - |
    """
    def cell(v: object) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` formatted as ``1.23x`` (``-`` when either is missing or ``b`` is 0)."""
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    return f"{r:.2f}x" if r < 100 else f"{r:.0f}x"


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std`` (population std over seeds; ``± 0`` for a single value)."""
    if not values:
        return "-"
    m = statistics.fmean(values)
    s = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{m:.3f} ± {s:.3f}"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gb() -> float:
    """Physical memory in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def machine_line() -> str:
    """One line describing the machine this runs on."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu_model()}, {os.cpu_count()} cores, {mem_total_gb():.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"load average {load:.1f} at start")


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Run ``fn``; return (wall seconds, process CPU seconds, result)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def import_seconds(module: str, python: str | None = None) -> float:
    """Seconds to ``import module`` in a fresh interpreter (wall clock inside the child)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([python or sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return float(out.stdout.strip().splitlines()[-1])


def have(module: str) -> bool:
    """Whether ``module`` is importable here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None
