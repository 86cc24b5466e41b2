"""Weather figures: RMSE versus lead time against the baselines, and truth / forecast / error maps.

:func:`rmse_by_lead`, :func:`plot_rmse_vs_lead`: RMSE versus lead time of a weather run against its
baselines (persistence, climatology).
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


# --- maps (coastlines only when cartopy is installed; masked points (NaN) are left blank) ---
def plot_forecast_maps(truth: np.ndarray, forecast: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                       title: str = "", units: str = "", path: str | os.PathLike | None = None,
                       coastlines: bool = True):
    """Three panels (truth, forecast, forecast - truth) of ``(H, W)`` fields; returns the Figure.

    Writes the figure to ``path`` when given (any matplotlib format). Works without a display.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:
            pass
    import matplotlib.pyplot as plt

    truth, forecast = np.asarray(truth, float), np.asarray(forecast, float)
    if truth.shape != forecast.shape or truth.shape != (len(lat), len(lon)):
        raise ValueError(f"truth {truth.shape} and forecast {forecast.shape} must be (lat, lon) = {(len(lat), len(lon))}")
    kw, proj = {}, None
    if coastlines:
        try:
            import cartopy.crs as ccrs

            proj = ccrs.PlateCarree()
            kw = {"subplot_kw": {"projection": proj}}
        except ModuleNotFoundError:
            proj = None
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), **kw)
    vmin, vmax = np.nanmin([truth, forecast]), np.nanmax([truth, forecast])
    err = forecast - truth
    lim = float(np.nanmax(np.abs(err))) if np.isfinite(err).any() else 1.0
    panels = [("truth", truth, "viridis", vmin, vmax), ("forecast", forecast, "viridis", vmin, vmax),
              ("forecast - truth", err, "RdBu_r", -lim, lim)]
    for ax, (name, field, cmap, lo, hi) in zip(axes, panels):
        extra = {"transform": proj} if proj is not None else {}
        im = ax.pcolormesh(lon, lat, np.ma.masked_invalid(field), cmap=cmap, vmin=lo, vmax=hi,
                           shading="auto", **extra)
        if proj is not None:
            ax.coastlines(linewidth=0.6)
        else:
            ax.set_xlabel("longitude")
            ax.set_ylabel("latitude")
        ax.set_title(name)
        fig.colorbar(im, ax=ax, shrink=0.85, label=units)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def plot_forecast_zarr(forecast_path: str, store: str, init_index: int = 0, lead_index: int = 0,
                       variable: str | None = None, path: str | None = None):
    """Maps for one init time / lead time of a ``signalkit predict`` zarr against the store's truth."""
    import xarray as xr

    from signalkit.store import open_store

    fc = xr.open_zarr(forecast_path, consolidated=False)["forecast"]
    var = variable or str(fc["variable"].values[0])
    one = fc.isel(init_time=init_index, lead_time=lead_index).sel(variable=var)
    valid = one["init_time"].values + one["lead_time"].values
    st = open_store(store)
    truth = None
    for rid in st:
        sig = st[rid]["signal"]
        if valid in sig["time"].values:
            truth = sig.sel(time=valid, variable=var).values
            break
    if truth is None:
        raise ValueError(f"{store}: no field at the valid time {valid}")
    hours = int(one["lead_time"].values / np.timedelta64(1, "h"))
    return plot_forecast_maps(truth, one.values, fc["lat"].values, fc["lon"].values,
                              title=f"{var} +{hours} h, valid {str(valid)[:16]}", path=path)
