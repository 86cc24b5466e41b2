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


def training_stats(fields: list[np.ndarray], valid: np.ndarray, step: int) -> Normalizer:
    """Statistics of training fields (each ``(T, V, H, W)`` physical) at ``valid (H, W)`` points."""
    v = fields[0].shape[1]
    total = np.zeros(v)
    sq = np.zeros(v)
    count = 0
    for f in fields:
        x = f[..., valid].astype(np.float64)  # (T, V, P)
        total += x.sum(axis=(0, 2))
        sq += (x**2).sum(axis=(0, 2))
        count += x.shape[0] * x.shape[2]
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(sq / max(count, 1) - mean**2, 0.0))
    std = np.where(std > 0, std, 1.0)
    dsq = np.zeros(v)
    dcount = 0
    for f in fields:
        if f.shape[0] > step:
            d = (f[step:][..., valid] - f[:-step][..., valid]).astype(np.float64) / std[None, :, None]
            dsq += (d**2).sum(axis=(0, 2))
            dcount += d.shape[0] * d.shape[2]
    diff_std = np.sqrt(dsq / dcount) if dcount else np.ones(v)
    return Normalizer(mean, std, np.where(diff_std > 0, diff_std, 1.0))


class ForecastDataset(Dataset):
    """Samples ``x (history, V, H, W)``, ``y (K, V, H, W)`` normalised, masked points 0, and
    ``time`` (hours since 1970 of the init time), ``rec`` (recording number), ``init`` (index).

    ``sources`` holds per recording either a preloaded ``(T, V, H, W)`` float32 array already
    normalised and filled, or a lazy ``xarray.Dataset`` (read per item).
    """

    def __init__(self, sources: list, times: list[np.ndarray], index: np.ndarray, history: int,
                 step: int, k: int, norm: Normalizer, mask: np.ndarray, lat: np.ndarray, lon: np.ndarray):
        self.sources, self.times, self.index = sources, times, index  # index: (N, 2) rec, init
        self.history, self.step, self.k = history, step, k
        self.norm, self.mask, self.lat, self.lon = norm, mask, lat, lon
        self.climatology: dict | None = None
        self.climatology_by = "hour"

    def __len__(self) -> int:
        return len(self.index)

    def _read(self, rec: int, idx: np.ndarray) -> np.ndarray:
        src = self.sources[rec]
        if isinstance(src, np.ndarray):
            return src[idx]
        x = np.asarray(src[SIGNAL].isel(time=idx).values, np.float32)
        x = (x - self.norm.mean[:, None, None]) / self.norm.std[:, None, None]
        return np.nan_to_num(x, nan=0.0) * ~self.mask

    def __getitem__(self, i: int) -> dict:
        rec, t0 = (int(v) for v in self.index[i])
        idx = t0 + self.step * np.arange(-(self.history - 1), self.k + 1)
        fields = torch.from_numpy(np.ascontiguousarray(self._read(rec, idx), dtype=np.float32))
        hours = self.times[rec][t0].astype("datetime64[ns]").astype(np.int64) / NS_PER_HOUR
        return {"x": fields[: self.history], "y": fields[self.history:],
                "time": torch.tensor(hours, dtype=torch.float64), "rec": rec, "init": t0}


class CollateFields:
    """Stack samples and add the grid: ``lat (H,)``, ``lon (W,)``, ``mask (H, W)`` (True = no data)."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, mask: np.ndarray):
        self.lat = torch.tensor(np.array(lat), dtype=torch.float32)
        self.lon = torch.tensor(np.array(lon), dtype=torch.float32)
        self.mask = torch.tensor(np.array(mask), dtype=torch.bool)

    def __call__(self, samples: Sequence[dict]) -> dict:
        return {
            "x": torch.stack([s["x"] for s in samples]),
            "y": torch.stack([s["y"] for s in samples]),
            "time": torch.stack([s["time"] for s in samples]),
            "rec": torch.tensor([s["rec"] for s in samples]),
            "init": torch.tensor([s["init"] for s in samples]),
            "lat": self.lat, "lon": self.lon, "mask": self.mask,
        }
