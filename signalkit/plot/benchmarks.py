"""Speed versus sequence length of the backbone families (``benchmarks/scaling.py`` output).

``benchmarks/scaling.py`` prints one line per family,
``# hyena: 1024: 0.012s/3MiB, 2048: 0.025s/6MiB, ...``, then a markdown table;
:func:`parse_scaling_output` reads those lines. :func:`plot_speed_curves` also takes
``{family: (lengths, seconds)}`` measured any other way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

_LINE = re.compile(r"^# (?P<name>[\w\-]+): (?P<points>.*?)(?: \(a point took.*)?$")
_POINT = re.compile(r"(?P<L>\d+): (?P<t>[0-9.eE+-]+)s/(?P<m>[0-9.eE+-]+)MiB")


def parse_scaling_output(text: str) -> dict[str, tuple[list[int], list[float]]]:
    """``{family: (lengths, seconds)}`` from the text ``benchmarks/scaling.py`` prints."""
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m is None:
            continue
        pts = [(int(p["L"]), float(p["t"])) for p in _POINT.finditer(m["points"])]
        out[m["name"]] = ([p[0] for p in pts], [p[1] for p in pts])
    return out


def _slope(ls: Sequence[int], ts: Sequence[float]) -> float:
    pts = [(math.log(l), math.log(t)) for l, t in zip(ls, ts) if t > 0]
    if len(pts) < 2:
        return float("nan")
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def plot_speed_curves(results: Mapping[str, tuple[Sequence[int], Sequence[float]]] | str,
                      title: str = "forward + backward time") -> Figure:
    """Log-log seconds against sequence length, one line per family, fitted exponent in the legend.

    Args:
        results: ``{family: (lengths, seconds)}`` or the printed output of ``benchmarks/scaling.py``.
    """
    data = parse_scaling_output(results) if isinstance(results, str) else dict(results)
    if not data:
        raise ValueError("no timings to plot (empty results)")
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    for name, (ls, ts) in data.items():
        ax.plot(list(ls), list(ts), marker="o", label=f"{name} (~L^{_slope(ls, ts):.2f})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length L (tokens)")
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
