"""RMSE versus lead time of a weather run against its baselines (persistence, climatology).

Reads the keys ``test/<var>/rmse@<lead>h``, ``test/<var>/rmse_persistence@<lead>h`` and
``test/<var>/rmse_climatology@<lead>h`` of the ``metrics.json`` that ``signalkit train`` writes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

_KEY = re.compile(r"^test/(?P<var>[^/]+)/rmse(?:_(?P<base>[a-z_]+))?@(?P<lead>\d+)h$")


def _load(metrics: Mapping[str, float] | str | os.PathLike) -> Mapping[str, float]:
    if isinstance(metrics, Mapping):
        return metrics
    path = Path(metrics)
    if path.is_dir():
        path = path / "metrics.json"
    return json.loads(path.read_text())


def rmse_by_lead(metrics: Mapping[str, float] | str | os.PathLike) -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    """``{variable: {"model" | "persistence" | "climatology": (leads in h, rmse)}}``, leads sorted."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for key, value in _load(metrics).items():
        m = _KEY.match(key)
        if m is None or not isinstance(value, (int, float)):
            continue
        out.setdefault(m["var"], {}).setdefault(m["base"] or "model", {})[int(m["lead"])] = float(value)
    return {v: {name: (sorted(d), [d[k] for k in sorted(d)]) for name, d in curves.items()} for v, curves in out.items()}


def plot_rmse_vs_lead(metrics: Mapping[str, float] | str | os.PathLike, variables: Sequence[str] | None = None,
                      units: str = "", title: str = "") -> Figure:
    """One panel per variable: RMSE of the model and of each baseline against lead time (hours).

    Args:
        metrics: the metrics dict returned by ``signalkit.training.train``, a ``metrics.json`` or
            its run folder.
    """
    curves = rmse_by_lead(metrics)
    if not curves:
        raise ValueError("no test/<var>/rmse@<lead>h keys in the metrics (not a weather run?)")
    names = list(variables) if variables is not None else sorted(curves)
    fig = Figure(figsize=(4.2 * len(names), 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    style = {"model": dict(marker="o", lw=2), "persistence": dict(marker="s", ls="--"),
             "climatology": dict(marker="^", ls=":")}
    for ax, var in zip(axes, names):
        for name in sorted(curves[var], key=lambda n: (n != "model", n)):
            leads, vals = curves[var][name]
            ax.plot(leads, vals, label=name, **style.get(name, {}))
        ax.set_xlabel("lead time (h)")
        ax.set_ylabel(f"RMSE {units}".strip())
        ax.set_title(var)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
