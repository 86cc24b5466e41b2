"""Truth / forecast / error maps of one weather field (matplotlib, Agg-safe).

Coastlines are drawn only when cartopy is installed; masked points (NaN) are left blank.
"""

from __future__ import annotations

import os

import numpy as np


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
