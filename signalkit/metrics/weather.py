"""WeatherBench 2 deterministic metrics, baselines and latitude weights (numpy).

Conventions (Rasp et al. 2024, WeatherBench 2, section 4; ``weatherbench2.metrics``):

* latitude weights are proportional to the cell area, ``sin(upper edge) - sin(lower edge)`` of
  each latitude row, normalised to mean 1 over the rows. Edges are midpoints between rows; the
  outer edges are half a spacing beyond the first/last row, clipped to +-90 degrees. On global
  grids this equals WB2's ``get_lat_weights`` (outer edges at the poles, pole rows get the small
  polar-cap weight); on regional grids the outer rows keep their own cell area.
* masked points (``mask`` True: no data, e.g. sea in WFDE5) are excluded: the spatial mean is
  ``sum(w m e) / sum(w m)`` over valid points ``m``.
* ``RMSE = sqrt(mean_t spatial_mean(err^2))``: the spatial mean square error is averaged over
  init times BEFORE the square root.
* ``ACC = mean_t [ sum(w f' o') / sqrt(sum(w f'^2) sum(w o'^2)) ]`` with anomalies
  ``f' = f - c``, ``o' = o - c`` from the climatology ``c`` at the valid time (uncentred).
* ``bias = mean_t spatial_mean(f - o)``.

Shapes: fields are ``(..., lat, lon)``; the leading axis of per-time results is the init time.
"""

from __future__ import annotations

import numpy as np


def lat_weights(lat: np.ndarray) -> np.ndarray:
    """Cell-area latitude weights ``(H,)`` (mean 1), in the order of ``lat`` (any direction)."""
    lat = np.asarray(lat, dtype=np.float64)
    if lat.size == 1:
        return np.ones(1)
    order = np.argsort(lat)
    s = lat[order]
    mid = (s[:-1] + s[1:]) / 2
    edges = np.concatenate([[s[0] - (s[1] - s[0]) / 2], mid, [s[-1] + (s[-1] - s[-2]) / 2]])
    edges = np.deg2rad(np.clip(edges, -90.0, 90.0))
    w_sorted = np.sin(edges[1:]) - np.sin(edges[:-1])
    w = np.empty_like(w_sorted)
    w[order] = w_sorted
    return w / w.mean()


def area_weights(lat: np.ndarray, n_lon: int, mask: np.ndarray | None = None) -> np.ndarray:
    """``(H, W)`` weights ``w(lat) * valid`` (``mask`` True = no data gets weight 0)."""
    w = np.repeat(lat_weights(lat)[:, None], n_lon, axis=1)
    if mask is not None:
        w = w * ~np.asarray(mask, dtype=bool)
    return w


def spatial_mean(field: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the last two axes ``(..., H, W) -> (...)``; NaN at weight-0 points ignored."""
    field = np.where(weights > 0, field, 0.0)
    return (field * weights).sum(axis=(-2, -1)) / weights.sum()


def mse_per_time(forecast: np.ndarray, truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Latitude-weighted spatial mean squared error per time ``(T, ..., H, W) -> (T, ...)``."""
    return spatial_mean((np.asarray(forecast, np.float64) - truth) ** 2, weights)


def rmse(forecast: np.ndarray, truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """WB2 RMSE over axis 0 (time): ``sqrt(mean_t spatial_mean(err^2))`` -> ``(...)``."""
    return np.sqrt(mse_per_time(forecast, truth, weights).mean(axis=0))


def bias(forecast: np.ndarray, truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean error ``mean_t spatial_mean(f - o)``."""
    return spatial_mean(np.asarray(forecast, np.float64) - truth, weights).mean(axis=0)


def acc_per_time(forecast: np.ndarray, truth: np.ndarray, climatology: np.ndarray,
                 weights: np.ndarray) -> np.ndarray:
    """Uncentred anomaly correlation per time ``(T, ..., H, W) -> (T, ...)``."""
    fa = np.asarray(forecast, np.float64) - climatology
    oa = np.asarray(truth, np.float64) - climatology
    num = spatial_mean(fa * oa, weights)
    den = np.sqrt(spatial_mean(fa**2, weights) * spatial_mean(oa**2, weights))
    return num / np.where(den > 0, den, np.nan)


def acc(forecast: np.ndarray, truth: np.ndarray, climatology: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """WB2 ACC: the time mean of the per-time uncentred anomaly correlation."""
    return np.nanmean(acc_per_time(forecast, truth, climatology, weights), axis=0)


# ------------------------------------------------------------------ baselines
def hour_of_day(times: np.ndarray) -> np.ndarray:
    """Hour of day (0..23) of datetime64 values."""
    t = np.asarray(times).astype("datetime64[h]")
    return (t - t.astype("datetime64[D]")).astype(int)


def day_of_year(times: np.ndarray) -> np.ndarray:
    """Day of year (1..366) of datetime64 values."""
    t = np.asarray(times).astype("datetime64[D]")
    return (t - t.astype("datetime64[Y]")).astype(int) + 1


def climatology(fields: np.ndarray, times: np.ndarray, by: str = "hour") -> dict[tuple[int, int], np.ndarray]:
    """Mean field per (day-of-year, hour) key of the training fields ``(T, ..., H, W)``.

    ``by="hour"``: key ``(0, hour)``: hour-of-day climatology (what a few weeks of data support);
    ``by="dayofyear_hour"``: key ``(doy, hour)`` as WB2's ERA5 climatology (needs years of data).
    """
    hours = hour_of_day(times)
    days = day_of_year(times) if by == "dayofyear_hour" else np.zeros_like(hours)
    if by not in ("hour", "dayofyear_hour"):
        raise ValueError(f"climatology: by must be hour or dayofyear_hour, got {by!r}")
    out = {}
    for key in sorted(set(zip(days.tolist(), hours.tolist()))):
        sel = (days == key[0]) & (hours == key[1])
        out[key] = np.asarray(fields[sel], np.float64).mean(axis=0)
    return out


def climatology_at(clim: dict[tuple[int, int], np.ndarray], times: np.ndarray, by: str = "hour") -> np.ndarray:
    """Climatology fields at ``times`` -> ``(T, ..., H, W)`` (KeyError names a missing key)."""
    hours = hour_of_day(times)
    days = day_of_year(times) if by == "dayofyear_hour" else np.zeros_like(hours)
    return np.stack([clim[(int(d), int(h))] for d, h in zip(days, hours)])


def baseline_init_indices(n_times: int, in_range: np.ndarray, lead_steps: int) -> np.ndarray:
    """Init indices ``i`` in the range whose valid index ``i + lead_steps`` is in the range too."""
    in_range = np.asarray(in_range, dtype=bool)
    idx = np.nonzero(in_range)[0]
    idx = idx[idx + lead_steps < n_times]
    return idx[in_range[idx + lead_steps]]


def persistence_rmse(fields: np.ndarray, inits: np.ndarray, lead_steps: int, weights: np.ndarray) -> np.ndarray:
    """RMSE of persistence (forecast = the field at the init time) at ``lead_steps``."""
    return rmse(fields[inits], fields[inits + lead_steps], weights)


def climatology_rmse(fields: np.ndarray, times: np.ndarray, inits: np.ndarray, lead_steps: int,
                     clim: dict, weights: np.ndarray, by: str = "hour") -> np.ndarray:
    """RMSE of the climatology forecast at the valid times ``inits + lead_steps``."""
    valid = inits + lead_steps
    return rmse(climatology_at(clim, times[valid], by), fields[valid], weights)
