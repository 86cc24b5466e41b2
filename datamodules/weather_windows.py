"""Forecast samples over a weather store: date-range splits, init-time index, statistics.

A sample at init index ``i`` of a recording holds the inputs at ``i - (history-1)*s, ..., i`` and
the targets at ``i + s, ..., i + K*s`` (``s`` = model step in data steps, ``K`` = rollout steps).
An init time belongs to a split only if ALL its input and target times lie in the split's date
range (inclusive days), so no field is both a training target and a test input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from signalkit.baselines.weather import Climatology
from signalkit.errors import ConfigError
from signalkit.recording import SIGNAL

NS_PER_HOUR = 3_600_000_000_000


def parse_range(value, key: str) -> tuple[np.datetime64, np.datetime64]:
    """``[start, end]`` inclusive days -> ``[start 00:00, end + 1 day)`` as datetime64[ns]."""
    if value is None or len(value) != 2:
        raise ConfigError(f"{key}: expected [start, end] dates, got {value!r}")
    try:
        start, end = (np.datetime64(str(v), "D") for v in value)
    except ValueError:
        raise ConfigError(f"{key}: not dates: {value!r}") from None
    if end < start:
        raise ConfigError(f"{key}: end {end} is before start {start}")
    return start.astype("datetime64[ns]"), (end + np.timedelta64(1, "D")).astype("datetime64[ns]")


def time_step_hours(times: np.ndarray, where: str) -> float:
    """The data's (uniform) time step in hours; :class:`ConfigError` if irregular."""
    if len(times) < 2:
        raise ConfigError(f"data.store: recording {where} has fewer than 2 time steps")
    diffs = np.diff(times.astype("datetime64[ns]").astype(np.int64))
    step = float(np.median(diffs)) / NS_PER_HOUR
    return step


def init_indices(times: np.ndarray, rng: tuple, history: int, step: int, k: int, dt_ns: int) -> np.ndarray:
    """Init indices whose inputs ``i-(history-1)*step..i`` and targets ``..i+k*step`` are all in
    ``rng`` and evenly spaced (no missing time steps)."""
    n = len(times)
    t = times.astype("datetime64[ns]")
    first, last = (history - 1) * step, k * step
    idx = np.arange(first, n - last)
    if len(idx) == 0:
        return idx
    lo, hi = t[idx - first], t[idx + last]
    ok = (lo >= rng[0]) & (hi < rng[1])
    span = (hi - lo).astype(np.int64)
    ok &= span == (first + last) * dt_ns
    return idx[ok]


class Normalizer:
    """Per-variable ``mean``/``std`` (physical units) and ``diff_std`` (std of one model step's
    change in normalised units) over the training period, masked points excluded."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], diff_std: Sequence[float]):
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.diff_std = np.asarray(diff_std, np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "diff_std": self.diff_std.tolist()}


class TrainingStats:
    """Streaming statistics of the training fields, read block by block (larger than memory).

    Accumulates per-variable sums at ``valid (H, W)`` points for ``mean``/``std``, the one-step
    change (``step`` data steps apart, within a block plus ``step`` frames of overlap) for
    ``diff_std``, and the climatology (:class:`signalkit.baselines.weather.Climatology`, physical
    units). With ``offset`` (a finished climatology) the statistics are those of the anomalies
    ``fields - offset.at(times)`` and no climatology is accumulated.
    """

    def __init__(self, n_vars: int, valid: np.ndarray, step: int, by: str = "hour", harmonics: int = 3,
                 offset: Climatology | None = None):
        self.valid, self.step, self.offset = valid, step, offset
        self.total, self.sq, self.count = np.zeros(n_vars), np.zeros(n_vars), 0
        self.dsq, self.dsum, self.dcount = np.zeros(n_vars), np.zeros(n_vars), 0
        self.clim = None if offset is not None else Climatology(by, harmonics)

    def add(self, fields: np.ndarray, times: np.ndarray, n_own: int) -> None:
        """``fields (T, V, H, W)``: the first ``n_own`` frames are this block's; the rest is overlap."""
        if self.offset is not None:
            fields = fields - self.offset.at(times)
        own = fields[:n_own]
        x = np.nan_to_num(own[..., self.valid].astype(np.float64))  # (T, V, P)
        self.total += x.sum(axis=(0, 2))
        self.sq += (x**2).sum(axis=(0, 2))
        self.count += x.shape[0] * x.shape[2]
        s = self.step
        n_pairs = min(n_own, fields.shape[0] - s)
        if n_pairs > 0:
            d = np.nan_to_num((fields[s:s + n_pairs] - fields[:n_pairs])[..., self.valid].astype(np.float64))
            self.dsq += (d**2).sum(axis=(0, 2))
            self.dcount += d.shape[0] * d.shape[2]
        if self.clim is not None:
            self.clim.add(own, times[:n_own])

    def normalizer(self) -> Normalizer:
        mean = self.total / max(self.count, 1)
        std = np.sqrt(np.maximum(self.sq / max(self.count, 1) - mean**2, 0.0))
        std = np.where(std > 0, std, 1.0)
        diff_std = np.sqrt(self.dsq / self.dcount) / std if self.dcount else np.ones_like(std)
        return Normalizer(mean, std, np.where(diff_std > 0, diff_std, 1.0))

    def climatology(self) -> Climatology:
        """The finished climatology of the training fields (physical units)."""
        if self.clim is None:
            return self.offset
        return self.clim.finish()


class ForecastDataset(Dataset):
    """Samples ``x (history, V, H, W)``, ``y (K, V, H, W)`` normalised, masked points 0, and
    ``time`` (hours since 1970 of the init time), ``rec`` (recording number), ``init`` (index),
    ``clim_x (history, V, H, W)`` / ``clim_y (K, V, H, W)``: the climatology at the input and target
    times (physical units, 0 at masked points).

    Normalised values are ``(field - clim(t) - mean) / std`` with ``anomalies`` (the model sees
    anomalies), else ``(field - mean) / std``; physical = ``x * std + mean (+ clim)``.
    ``sources`` holds per recording either a preloaded ``(T, V, H, W)`` float32 array already
    normalised and filled, or a lazy ``xarray.Dataset`` (read per item).
    """

    def __init__(self, sources: list, times: list[np.ndarray], index: np.ndarray, history: int,
                 step: int, k: int, norm: Normalizer, mask: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                 climatology: Climatology, anomalies: bool = False):
        self.sources, self.times, self.index = sources, times, index  # index: (N, 2) rec, init
        self.history, self.step, self.k = history, step, k
        self.norm, self.mask, self.lat, self.lon = norm, mask, lat, lon
        self.climatology, self.anomalies = climatology, bool(anomalies)
        self.baselines = None  # set by the data module: {"linear": LinearAnomaly, "lead_steps": [...]}

    def __len__(self) -> int:
        return len(self.index)

    def clim_at(self, times: np.ndarray) -> np.ndarray:
        """Climatology ``(T, V, H, W)`` float32 at ``times``, 0 at masked points."""
        return (np.nan_to_num(self.climatology.at(times)) * ~self.mask).astype(np.float32)

    def _read(self, rec: int, idx: np.ndarray, clim: np.ndarray) -> np.ndarray:
        src = self.sources[rec]
        if isinstance(src, np.ndarray):
            return src[idx]
        x = np.asarray(src[SIGNAL].isel(time=idx).values, np.float32)
        if self.anomalies:
            x = x - clim
        x = (x - self.norm.mean[:, None, None]) / self.norm.std[:, None, None]
        return np.nan_to_num(x, nan=0.0) * ~self.mask

    def __getitem__(self, i: int) -> dict:
        rec, t0 = (int(v) for v in self.index[i])
        idx = t0 + self.step * np.arange(-(self.history - 1), self.k + 1)
        clim = self.clim_at(self.times[rec][idx])
        fields = torch.from_numpy(np.ascontiguousarray(self._read(rec, idx, clim), dtype=np.float32))
        clim = torch.from_numpy(clim)
        hours = self.times[rec][t0].astype("datetime64[ns]").astype(np.int64) / NS_PER_HOUR
        h = self.history
        return {"x": fields[:h], "y": fields[h:], "clim_x": clim[:h], "clim_y": clim[h:],
                "time": torch.tensor(hours, dtype=torch.float64), "rec": rec, "init": t0}


class CollateFields:
    """Stack samples and add the grid: ``lat (H,)``, ``lon (W,)``, ``mask (H, W)`` (True = no data)
    and, when the store has them, the static fields ``static (S, H, W)`` (standardised)."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, mask: np.ndarray, static: np.ndarray | None = None):
        self.lat = torch.tensor(np.array(lat), dtype=torch.float32)
        self.lon = torch.tensor(np.array(lon), dtype=torch.float32)
        self.mask = torch.tensor(np.array(mask), dtype=torch.bool)
        self.static = None if static is None else torch.tensor(np.array(static), dtype=torch.float32)

    def __call__(self, samples: Sequence[dict]) -> dict:
        out = {key: torch.stack([s[key] for s in samples]) for key in ("x", "y", "clim_x", "clim_y", "time")}
        out = {**out, "rec": torch.tensor([s["rec"] for s in samples]),
               "init": torch.tensor([s["init"] for s in samples]),
               "lat": self.lat, "lon": self.lon, "mask": self.mask}
        if self.static is not None:
            out["static"] = self.static
        return out
