"""Short variable lexicon for gridded weather fields (``t2m``, ``z500``, ``t850``, ``u10m``, ...).

A source variable is looked up, in this order, by its name, its CF ``standard_name`` and its
``long_name`` (case-insensitive). Each entry gives the short name of a single-level field and/or
the base of a pressure-level field; pressure levels are split into one variable per level named
``<base><level in hPa>`` (``z`` at 500 hPa -> ``z500``, ``t`` at 850 hPa -> ``t850``).
"""

from __future__ import annotations

from collections.abc import Mapping

# base names of pressure-level fields (ERA5 / WeatherBench 2 / CF)
LEVEL_NAMES: dict[str, str] = {
    "z": "z", "geopotential": "z", "geopotential_height": "z",
    "t": "t", "temperature": "t", "air_temperature": "t", "ta": "t",
    "u": "u", "u_component_of_wind": "u", "eastward_wind": "u", "ua": "u",
    "v": "v", "v_component_of_wind": "v", "northward_wind": "v", "va": "v",
    "q": "q", "specific_humidity": "q", "hus": "q",
    "r": "r", "relative_humidity": "r", "hur": "r",
    "w": "w", "vertical_velocity": "w", "lagrangian_tendency_of_air_pressure": "w",
    "vo": "vo", "vorticity": "vo", "atmosphere_relative_vorticity": "vo",
    "d": "d", "divergence": "d",
    # NCEP/NCAR Reanalysis (PSL) names
    "air": "t", "hgt": "z", "uwnd": "u", "vwnd": "v", "omega": "w", "shum": "q", "rhum": "r",
}

# single-level (surface) fields
SURFACE_NAMES: dict[str, str] = {
    # 2 m temperature
    "t2m": "t2m", "2t": "t2m", "2m_temperature": "t2m", "tair": "t2m", "tas": "t2m",
    "air_temperature": "t2m", "near-surface air temperature": "t2m", "2 metre temperature": "t2m",
    # 2 m dewpoint
    "d2m": "d2m", "2d": "d2m", "2m_dewpoint_temperature": "d2m", "dew_point_temperature": "d2m",
    "2 metre dewpoint temperature": "d2m",
    # 10 m wind
    "u10": "u10m", "u10m": "u10m", "10u": "u10m", "10m_u_component_of_wind": "u10m",
    "10 metre u wind component": "u10m", "uas": "u10m",
    "v10": "v10m", "v10m": "v10m", "10v": "v10m", "10m_v_component_of_wind": "v10m",
    "10 metre v wind component": "v10m", "vas": "v10m",
    "wind": "ws10m", "wind_speed": "ws10m", "10m_wind_speed": "ws10m", "si10": "ws10m",
    "near-surface wind speed": "ws10m",
    # pressure
    "msl": "msl", "mean_sea_level_pressure": "msl", "air_pressure_at_mean_sea_level": "msl",
    "psl": "msl", "mean sea level pressure": "msl",
    "sp": "sp", "psurf": "sp", "surface_pressure": "sp", "surface_air_pressure": "sp", "ps": "sp",
    # humidity, precipitation, radiation (WFDE5 / ERA5 / CMIP names)
    "qair": "q2m", "huss": "q2m", "specific_humidity": "q2m", "near-surface specific humidity": "q2m",
    "tp": "tp", "total_precipitation": "tp", "total_precipitation_6hr": "tp6h",
    "total_precipitation_24hr": "tp24h", "precipitation_flux": "pr", "pr": "pr",
    "rainf": "rainf", "rainfall_flux": "rainf", "snowf": "snowf", "snowfall_flux": "snowf",
    "swdown": "ssrd", "ssrd": "ssrd", "surface_downwelling_shortwave_flux_in_air": "ssrd",
    "lwdown": "strd", "strd": "strd", "surface_downwelling_longwave_flux_in_air": "strd",
    "skt": "skt", "skin_temperature": "skt", "sst": "sst", "sea_surface_temperature": "sst",
    "tcwv": "tcwv", "total_column_water_vapour": "tcwv",
    # NCEP/NCAR Reanalysis (PSL) single-level names: `air` at sigma 0.995 / 2 m is near-surface temperature
    "air": "t2m", "slp": "msl", "pres": "sp", "uwnd": "u10m", "vwnd": "v10m", "shum": "q2m",
}


def lookup(name: str, attrs: Mapping, has_level: bool) -> str | None:
    """Short name (or level base when ``has_level``) of a variable, or ``None`` if unknown.

    Tries the variable's name, then ``standard_name``, then ``long_name`` (case-insensitive).
    """
    table = LEVEL_NAMES if has_level else SURFACE_NAMES
    for key in (name, attrs.get("standard_name"), attrs.get("long_name")):
        if key and str(key).strip().lower() in table:
            return table[str(key).strip().lower()]
    return None


def level_name(base: str, level_hpa: float) -> str:
    """``("z", 500.0) -> "z500"`` (fractional levels keep one decimal: ``"t0.5"``)."""
    return f"{base}{int(level_hpa)}" if float(level_hpa).is_integer() else f"{base}{level_hpa:.1f}"
