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


def land_sea_mask(n_lat: int, n_lon: int) -> np.ndarray:
    """``(H, W)`` bool, True = land: an island east of the domain's centre (sea to its west, the
    direction the weather comes from), rows north first (latitude descending, as ERA5)."""
    i = np.linspace(-1, 1, n_lat)[:, None]
    j = np.linspace(-1, 1, n_lon)[None, :]
    return ((i / 0.75) ** 2 + ((j - 0.2) / 0.45) ** 2) < 1.0


def regional_land_sea(n_days: int = 31, n_lat: int = 12, n_lon: int = 16, seed: int = 0,
                      start: str = "2019-03-01", sea: str = "values", time_name: str = "valid_time",
                      dt_hours: int = 1) -> xr.Dataset:
    """An ERA5-like regional hourly 2 m temperature file with sea points, as an ``xarray.Dataset``:
    ``t2m (valid_time, latitude, longitude)`` in K, latitude descending, 0.25 degree grid.

    Anomalies are synoptic waves drifting east (one cell per 2 h, wavelengths 40, 24 and 16 cells) whose amplitudes follow slow AR(1)
    processes, seen damped (0.6) over the sea and in full over land, where a fast AR(1) local noise
    and a diurnal cycle of 4 K (modulated day to day, "cloudiness") are added; the sea has a 0.4 K
    diurnal cycle. ``sea``: ``values`` (the sea has data), ``nan`` (NaN over the sea, fixed in time,
    as a land-only product); ``dt_hours`` thins the time axis (6: 6-hourly).
    """
    if sea not in ("values", "nan"):
        raise ValueError(f"sea: expected 'values' or 'nan', got {sea!r}")
    rng = np.random.default_rng(seed)
    n_t = 24 * n_days
    t = np.arange(n_t)
    land = land_sea_mask(n_lat, n_lon)
    i = np.arange(n_lat)[None, :, None]
    j = np.arange(n_lon)[None, None, :]
    amps = np.zeros((n_t, 3))
    for k in range(1, n_t):  # slow amplitudes: e-folding about 4 days
        amps[k] = 0.99 * amps[k - 1] + 0.25 * rng.standard_normal(3)
    phase = rng.uniform(0, 2 * np.pi, 3)
    tt = t[:, None, None]
    synoptic = sum(amps[:, k, None, None] * np.sin(2 * np.pi * (j - tt / 2.0) / p + phase[k] + 0.4 * i)
                   for k, p in enumerate((40.0, 24.0, 16.0)))
    local = np.zeros((n_t, n_lat, n_lon))
    for k in range(1, n_t):  # fast local land noise: e-folding about 10 h
        local[k] = 0.9 * local[k - 1] + 0.2 * rng.standard_normal((n_lat, n_lon))
    cloud = np.repeat(rng.uniform(0.7, 1.3, n_days), 24)[:, None, None]
    hour = (t % 24)[:, None, None]
    diurnal_land = 4.0 * cloud * np.cos(2 * np.pi * (hour - 14) / 24)
    diurnal_sea = 0.4 * np.cos(2 * np.pi * (hour - 15) / 24)
    base = 281.0 - 0.4 * (n_lat / 2 - np.arange(n_lat)[None, :, None])  # row 0 is the north: colder
    field = np.where(land[None], base - 1.0 + synoptic + local + diurnal_land,
                     base + 0.6 * synoptic + diurnal_sea)
    field = field + 0.05 * rng.standard_normal(field.shape)
    if sea == "nan":
        field = np.where(land[None], field, np.nan)
    lat = 58.0 - 0.25 * np.arange(n_lat)  # descending
    lon = -8.0 + 0.25 * np.arange(n_lon)
    times = pd.date_range(start, periods=n_t, freq="h")
    da = xr.DataArray(field.astype(np.float32), dims=(time_name, "latitude", "longitude"), name="t2m",
                      coords={time_name: times, "latitude": lat, "longitude": lon},
                      attrs={"standard_name": "air_temperature", "units": "K", "long_name": "2 metre temperature"})
    return da.isel({time_name: slice(None, None, int(dt_hours))}).to_dataset()
