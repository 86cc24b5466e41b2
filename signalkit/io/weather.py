"""Weather reader: NetCDF 3/4, Zarr (incl. the WeatherBench 2 layout, local or fsspec URL), GRIB.

Every file becomes one Recording::

    signal (time, variable, lat, lon) float32   physical units, NaN where ``mask`` is True
    mask   (lat, lon) bool                      True where the product has no data at any time
                                                (e.g. sea in land-only products like WFDE5)
    coords lat (ascending), lon (ascending, in the file's convention: 0..360 or -180..180 is kept),
           variable (short lexicon, see :mod:`signalkit.io.weather_names`), units (variable),
           time (datetime64[ns])

Normalisation: ``lat``/``latitude`` and ``lon``/``longitude`` are recognised (also by CF
``standard_name``); latitude is flipped to ascending; longitudes are sorted ascending but never
wrapped. Variables are renamed to the short lexicon (by name, CF standard name or long name; a
user ``variables: {Tair: t2m}`` mapping wins and, when given, selects the variables read).
Pressure levels are split into one variable per level (``z`` at 500 hPa -> ``z500``).
Ensemble members (``number``/``member``/``realization``): ONE member is kept per recording,
``member: null`` = the first, else the member whose coordinate value equals it.
Time-invariant fields on the grid (dims ``(lat, lon)``, e.g. the land-sea mask and orography)
become ``static (static_variable, lat, lon)`` float32 (short names ``lsm``, ``orog``, ``zs``, ...;
with ``variables`` given, only the static fields it names).
NaN fixed in time become ``mask``; NaN that varies in time (gaps) is an :class:`InputError`
unless ``fill`` is ``ffill``, ``interpolate`` (linear in time) or ``zero``.
Reads are lazy (dask) when ``chunks`` is given, so ingest streams files larger than memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from signalkit.errors import InputError
from signalkit.io import register_reader
from signalkit.io.weather_names import level_name, lookup
from signalkit.recording import SIGNAL, file_sha256

EXTENSIONS = (".nc", ".nc4", ".netcdf", ".cdf", ".zarr", ".grib", ".grib2", ".grb", ".grb2")
LAT_NAMES = ("lat", "latitude", "nav_lat", "y_lat")
LON_NAMES = ("lon", "longitude", "nav_lon", "x_lon")
TIME_NAMES = ("time", "valid_time", "t")
LEVEL_NAMES = ("level", "isobaricInhPa", "plev", "pressure_level", "lev", "pressure")
MEMBER_NAMES = ("number", "member", "realization", "ensemble", "ens")
FILLS = ("none", "ffill", "interpolate", "zero")
# the store writes ~0.5 MB chunks of whole frames (signalkit.store); lazy reads align to them
_STORE_CHUNK_BYTES = 1 << 19


def open_weather(path: str, chunks: Mapping | str | None = None, engine: str | None = None) -> xr.Dataset:
    """Open a NetCDF/Zarr/GRIB file or URL as an xarray Dataset (lazy when ``chunks`` is set)."""
    text = str(path).rstrip("/")
    lower = text.lower()
    is_url = "://" in text
    if not is_url and not os.path.exists(text):
        raise InputError(f"{path}: no such file")
    try:
        if lower.endswith((".grib", ".grib2", ".grb", ".grb2")) or engine == "cfgrib":
            try:
                import cfgrib  # noqa: F401
            except ModuleNotFoundError:
                raise InputError(f"{path}: reading GRIB needs cfgrib (pip install 'signalkit-ml[grib]')") from None
            with _quiet_cfgrib():
                ds = xr.open_dataset(text, engine="cfgrib", chunks=chunks, backend_kwargs={"indexpath": ""})
            if not ds.data_vars:
                raise InputError(f"{path}: no GRIB message could be decoded (not a GRIB file, or damaged)")
            return ds
        if lower.endswith(".zarr") or engine == "zarr" or (not is_url and os.path.isdir(text)):
            import warnings

            with warnings.catch_warnings():  # non-consolidated stores are fine
                warnings.simplefilter("ignore", RuntimeWarning)
                return xr.open_zarr(text, chunks=chunks, consolidated=None)
        if is_url:
            import fsspec

            return xr.open_dataset(fsspec.open(text).open(), engine=engine or "h5netcdf", chunks=chunks)
        return xr.open_dataset(text, engine=engine, chunks=chunks)
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"{path}: cannot open as NetCDF/Zarr/GRIB ({type(err).__name__}: "
                         f"{str(err).splitlines()[0][:200] if str(err) else ''})") from None


@contextlib.contextmanager
def _quiet_cfgrib():
    """cfgrib logs a traceback for every message it cannot decode; the one line we raise says it."""
    import warnings

    logger = logging.getLogger("cfgrib")  # children (cfgrib.dataset, ...) inherit its level
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _find(ds: xr.Dataset, names: tuple[str, ...], standard: str | None) -> str | None:
    for name in names:
        if name in ds.dims or name in ds.coords:
            return name
    if standard:
        for name, coord in ds.coords.items():
            if coord.attrs.get("standard_name") == standard and coord.ndim == 1:
                return str(name)
    return None


def _normalise_grid(ds: xr.Dataset, path: str) -> xr.Dataset:
    """Rename lat/lon/time/level/member, sort lat and lon ascending, datetime time axis."""
    lat = _find(ds, LAT_NAMES, "latitude")
    lon = _find(ds, LON_NAMES, "longitude")
    if lat is None or lon is None:
        missing = "latitude" if lat is None else "longitude"
        raise InputError(f"{path}: no {missing} coordinate (expected one of "
                         f"{', '.join(LAT_NAMES if lat is None else LON_NAMES)})")
    time = _find(ds, TIME_NAMES, "time")
    if time is None:
        raise InputError(f"{path}: no time coordinate (expected one of {', '.join(TIME_NAMES)})")
    rename = {lat: "lat", lon: "lon", time: "time"}
    level = _find(ds, LEVEL_NAMES, "air_pressure")
    if level is not None:
        rename[level] = "level"
    member = _find(ds, MEMBER_NAMES, "realization")
    if member is not None:
        rename[member] = "member"
    ds = ds.rename({k: v for k, v in rename.items() if k != v})
    for dim in ("lat", "lon", "time"):
        if ds[dim].ndim != 1:
            raise InputError(f"{path}: coordinate {dim!r} must be 1-D (curvilinear grids are not supported)")
    ds = ds.sortby("lat").sortby("lon")
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        try:
            ds = ds.assign_coords(time=ds.indexes["time"].to_datetimeindex(unsafe=True))
        except Exception:
            raise InputError(f"{path}: the time axis is not a datetime (dtype {ds['time'].dtype})") from None
    ds = ds.assign_coords(time=ds["time"].values.astype("datetime64[ns]"))
    if ds.sizes["time"] > 1 and not (np.diff(ds["time"].values) > np.timedelta64(0)).all():
        ds = ds.sortby("time")
        if not (np.diff(ds["time"].values) > np.timedelta64(0)).all():
            raise InputError(f"{path}: duplicate time stamps")
    if "level" in ds.coords:
        units = str(ds["level"].attrs.get("units", "")).lower()
        if units == "pa" or (units == "" and float(ds["level"].max()) > 2000):
            ds = ds.assign_coords(level=ds["level"] / 100.0)
    return ds


def _select_member(ds: xr.Dataset, member: Any, path: str) -> xr.Dataset:
    if "member" not in ds.dims:
        return ds
    if member is None:
        return ds.isel(member=0, drop=True)
    values = ds["member"].values if "member" in ds.coords else np.arange(ds.sizes["member"])
    hits = np.nonzero(values == type(values[0])(member))[0] if len(values) else []
    if len(hits) == 0:
        raise InputError(f"{path}: no ensemble member {member!r} (members: {list(values.tolist())})")
    return ds.isel(member=int(hits[0]), drop=True)


def _fields(ds: xr.Dataset, path: str, variables: Mapping[str, str] | None,
            levels: list[float] | None) -> tuple[list[xr.DataArray], list[str], list[str]]:
    """Split into (time, lat, lon) fields, one per variable and level, with short names."""
    spatial = {"time", "lat", "lon"}
    if variables:
        absent = [v for v in variables if v not in ds.data_vars]
        if absent:
            raise InputError(f"{path}: variable {absent[0]!r} named in `variables` is not in the file "
                             f"(it holds {', '.join(map(str, ds.data_vars))})")
        names = [v for v in variables if not _is_static(ds[v])]
        if not names:
            raise InputError(f"{path}: `variables` names only time-invariant fields; name at least one "
                             "variable with dims (time, lat, lon)")
    else:
        # sorted: a zarr group lists its members in filesystem order, which is not stable
        names = sorted(str(v) for v, da in ds.data_vars.items() if spatial <= set(da.dims))
        if not names:
            raise InputError(f"{path}: no variable with dims (time, lat, lon)")
    fields, short, units = [], [], []
    for name in names:
        da = ds[name]
        if da.dtype.kind not in "biuf":
            raise InputError(f"{path}: variable {name!r} is not numeric (dtype {da.dtype}); a weather field holds "
                             "numbers" + ("" if variables else "; list the numeric ones with variables={name: short}"))
        extra = set(da.dims) - spatial - {"level"}
        if not spatial <= set(da.dims) or extra:
            raise InputError(f"{path}: variable {name!r} has dims {da.dims}; expected (time, [level,] lat, lon)")
        has_level = "level" in da.dims
        base = variables[name] if variables else lookup(name, da.attrs, has_level)
        if base is None:
            hint = da.attrs.get("long_name") or da.attrs.get("standard_name") or ""
            raise InputError(f"{path}: unknown variable {name!r}{f' ({hint})' if hint else ''}; "
                             f"map it to a short name with variables={{{name}: <short name>}}")
        if has_level:
            lev_values = da["level"].values
            keep = lev_values if levels is None else [lv for lv in lev_values if float(lv) in set(map(float, levels))]
            for lv in keep:
                fields.append(da.sel(level=lv, drop=True))
                short.append(level_name(str(base), float(lv)))
                units.append(str(da.attrs.get("units", "")))
        else:
            fields.append(da)
            short.append(str(base))
            units.append(str(da.attrs.get("units", "")))
    dup = {s for s in short if short.count(s) > 1}
    if dup:
        raise InputError(f"{path}: two source variables map to {sorted(dup)[0]!r}; set `variables` explicitly")
    return fields, short, units


def _check_finite(signal: xr.DataArray, path: str) -> np.ndarray:
    """Refuse Inf anywhere and a variable with no data at all; return the (variable, lat, lon)
    points that are NaN at every time (one pass over a lazy signal)."""
    import dask

    fixed, n_inf = dask.compute(signal.isnull().all("time").data, np.isinf(signal).sum(("time", "lat", "lon")).data)
    fixed, n_inf = np.asarray(fixed), np.asarray(n_inf)
    names = [str(v) for v in signal["variable"].values]
    if n_inf.any():
        v = int(np.nonzero(n_inf)[0][0])
        t, i, j = (int(a[0]) for a in np.nonzero(np.isinf(np.asarray(signal.isel(variable=v).values))))
        raise InputError(f"{path}: variable {names[v]} has {int(n_inf[v])} Inf value(s) (first at time "
                         f"{str(signal['time'].values[t])[:19]}, lat={float(signal.lat[i]):g}, lon={float(signal.lon[j]):g})")
    empty = [names[v] for v in range(len(names)) if fixed[v].all()]
    if empty:
        raise InputError(f"{path}: variable(s) {', '.join(empty)} hold no data (NaN everywhere); drop them with "
                         "variables={...}")
    return fixed


STATIC_NAMES = {
    "lsm": "lsm", "land_sea_mask": "lsm", "land_binary_mask": "lsm", "land_area_fraction": "lsm",
    "land-sea mask": "lsm", "orog": "orog", "orography": "orog", "surface_altitude": "orog", "hgt": "orog",
    "z": "zs", "geopotential": "zs", "geopotential_at_surface": "zs", "surface_geopotential": "zs",
    "slt": "slt", "soil_type": "slt", "sdor": "sdor", "slor": "slor",
}


def _is_static(da: xr.DataArray) -> bool:
    """A time-invariant field on the grid: dims ``(lat, lon)`` (a length-1 time axis allowed)."""
    dims = [d for d in da.dims if not (d == "time" and da.sizes[d] == 1)]
    return set(dims) == {"lat", "lon"}


def _static(ds: xr.DataArray, variables: Mapping[str, str] | None) -> tuple[list[str], np.ndarray] | None:
    """Time-invariant fields -> (short names, ``(S, lat, lon)`` float32), or ``None`` when there are none."""
    names = [v for v in (variables or sorted(map(str, ds.data_vars))) if _is_static(ds[v])]
    if not names:
        return None
    short = []
    for name in names:
        da = ds[name]
        base = (variables or {}).get(name) or next(
            (STATIC_NAMES[k.lower()] for k in (name, da.attrs.get("standard_name", ""), da.attrs.get("long_name", ""))
             if k and k.lower() in STATIC_NAMES), name.lower())
        short.append(str(base))
    values = np.stack([np.asarray(ds[n].squeeze(drop=True).transpose("lat", "lon").values, np.float32) for n in names])
    return short, values


def _fill_gaps(signal: xr.DataArray, fixed: np.ndarray, fill: str, path: str) -> xr.DataArray:
    """Handle NaN that varies in time (``fixed``: (variable, lat, lon) points NaN at all times)."""
    isnan = signal.isnull()
    any_nan = isnan.any("time").values
    gaps = any_nan & ~fixed
    if not gaps.any():
        return signal
    if fill == "none":
        v, i, j = (int(a[0]) for a in np.nonzero(gaps))
        name = str(signal["variable"].values[v])
        t_bad = signal.isel(variable=v, lat=i, lon=j).isnull().values
        when = str(signal["time"].values[np.argmax(t_bad)])[:19]
        raise InputError(f"{path}: variable {name} has NaN gaps that vary in time at {int(gaps.sum())} "
                         f"grid point(s) (first at lat={float(signal.lat[i]):g}, lon={float(signal.lon[j]):g}, "
                         f"time {when}); set fill=ffill|interpolate|zero")
    keep = xr.DataArray(fixed, dims=("variable", "lat", "lon"))
    if fill == "zero":
        filled = signal.fillna(0.0)
    else:  # gap filling reads the variable into memory (numpy along time; no bottleneck needed)
        values = np.asarray(signal.values)
        values = _interp_time(values) if fill == "interpolate" else _ffill_time(_ffill_time(values)[::-1])[::-1]
        filled = signal.copy(data=values)
    return filled.where(~keep)


def _ffill_time(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaN along axis 0 (leading NaN stay)."""
    idx = np.where(np.isnan(a), 0, np.arange(a.shape[0]).reshape(-1, *([1] * (a.ndim - 1))))
    idx = np.maximum.accumulate(idx, axis=0)
    out = np.take_along_axis(a, idx, axis=0)
    return out


def _interp_time(a: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN along axis 0 per series; ends take the nearest value."""
    flat = a.reshape(a.shape[0], -1).copy()
    t = np.arange(a.shape[0])
    for k in np.nonzero(np.isnan(flat).any(0) & ~np.isnan(flat).all(0))[0]:
        ok = ~np.isnan(flat[:, k])
        flat[:, k] = np.interp(t, t[ok], flat[ok, k])
    return flat.reshape(a.shape)


def read_weather(
    path: str | os.PathLike,
    variables: Mapping[str, str] | None = None,
    levels: list[float] | None = None,
    member: Any = None,
    fill: str = "none",
    chunks: Mapping[str, int] | None = None,
    engine: str | None = None,
    time_range: list[str] | None = None,
    subject: str = "",
) -> xr.Dataset:
    """Read a gridded weather file into a Recording (see the module docstring).

    Args:
        path: NetCDF (3/4), Zarr folder or URL (``gs://weatherbench2/...zarr``), GRIB (needs cfgrib).
        variables: ``{source name: short name}``; when given, only these variables are read.
        levels: pressure levels (hPa) to keep; ``None`` keeps all.
        member: ensemble member to keep (coordinate value); ``None`` = the first.
        fill: policy for NaN gaps that vary in time: ``none`` (error), ``ffill``, ``interpolate``, ``zero``.
        chunks: dask chunks for lazy reads (e.g. ``{"time": 24}``); ``None`` reads eagerly.
        engine: xarray engine override.
        time_range: ``[start, end]`` dates to keep (inclusive), e.g. for a WB2 subset.
    """
    path = str(path)
    if fill not in FILLS:
        raise InputError(f"{path}: fill={fill!r} is not one of {', '.join(FILLS)}")
    ds = _normalise_grid(open_weather(path, chunks=dict(chunks) if chunks else None, engine=engine), path)
    if time_range:
        start, end = (np.datetime64(str(t), "D") for t in time_range)
        ds = ds.sel(time=slice(start, end + np.timedelta64(1, "D") - np.timedelta64(1, "ns")))
    ds = _select_member(ds, member, path)
    fields, short, units = _fields(ds, path, dict(variables) if variables else None, levels)
    signal = xr.concat([f.drop_vars([c for c in f.coords if c not in ("time", "lat", "lon")])
                        for f in fields], dim="variable", coords="minimal", compat="override")
    signal = signal.assign_coords(variable=np.asarray(short, dtype=str)).transpose("time", "variable", "lat", "lon")
    signal = signal.astype(np.float32)
    if signal.sizes["time"] == 0:
        raise InputError(f"{path}: no time steps (check time_range)")
    fixed = _check_finite(signal, path)  # (variable, lat, lon) points NaN at every time
    signal = _fill_gaps(signal, fixed, fill, path)
    mask = fixed.any(axis=0)
    signal = signal.where(~xr.DataArray(mask, dims=("lat", "lon")))
    sha = file_sha256(path) if os.path.isfile(path) else ""
    out = xr.Dataset(
        {SIGNAL: signal,
         "mask": (("lat", "lon"), mask)},
        coords={"units": ("variable", np.asarray(units, dtype=str))},
    )
    static = _static(ds, dict(variables) if variables else None)
    if static is not None:
        out["static"] = xr.DataArray(static[1], dims=("static_variable", "lat", "lon"),
                                     coords={"static_variable": np.asarray(static[0], dtype=str)})
    out[SIGNAL].attrs = {}
    if out[SIGNAL].chunks is not None:  # lazy: align dask chunks with the store's whole-frame chunks
        frame = int(np.prod(out[SIGNAL].shape[1:])) * 4
        t_store = max(1, min(out.sizes["time"], _STORE_CHUNK_BYTES // max(1, frame)))
        block = t_store * max(1, round(out[SIGNAL].chunks[0][0] / t_store))
        out[SIGNAL] = out[SIGNAL].chunk({"time": block, "variable": -1, "lat": -1, "lon": -1})
    out.attrs = {"subject": str(subject), "session": "", "run": "", "source": path, "sha256": sha,
                 "lon_convention": "0..360" if float(out.lon.max()) > 180 else "-180..180"}
    return out


register_reader("weather", read_weather, EXTENSIONS)

__all__ = ["EXTENSIONS", "open_weather", "read_weather"]
