"""Seeded gridded weather fields written as CF NetCDF (what the weather reader reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def advecting_field(n_times: int = 240, n_lat: int = 8, n_lon: int = 12, seed: int = 0) -> np.ndarray:
    """``(T, H, W)`` 2 m temperature in K: waves drifting east by one cell per 3 h + a diurnal cycle."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times)[:, None, None]
    j = np.arange(n_lon)[None, None, :]
    i = np.arange(n_lat)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, 3)
    waves = sum(np.sin(2 * np.pi * (j - t / 3.0) / p + ph + 0.3 * i) for p, ph in zip((12, 8, 6), phase))
    diurnal = 2.0 * np.sin(2 * np.pi * (t % 24) / 24.0)
    return (275.0 + 3.0 * waves + diurnal + 0.05 * rng.standard_normal((n_times, n_lat, n_lon))).astype(np.float32)


def write_netcdf(path: Path, values: np.ndarray, *, name: str = "Tair", lat_name: str = "lat",
                 lon_name: str = "lon", descending: bool = False, lon0: float = -10.0,
                 attrs: dict | None = None, start: str = "2017-01-01") -> Path:
    """Write ``(T, H, W)`` values as a CF NetCDF file (hourly, 1 degree grid)."""
    n_t, n_lat, n_lon = values.shape
    lat = 50.0 + np.arange(n_lat, dtype=float)
    if descending:
        lat, values = lat[::-1], values[:, ::-1]
    da = xr.DataArray(values, dims=("time", lat_name, lon_name), name=name,
                      coords={"time": pd.date_range(start, periods=n_t, freq="h"), lat_name: lat,
                              lon_name: lon0 + np.arange(n_lon, dtype=float)},
                      attrs=attrs if attrs is not None else {"standard_name": "air_temperature", "units": "K"})
    da.to_dataset().to_netcdf(path)
    return path
