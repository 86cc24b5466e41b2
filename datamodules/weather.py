"""``WeatherDataModule``: forecast samples from a weather store, split by date range.

Splits are inclusive day ranges (``split: {train: [2017-01-01, 2017-01-20], val: [...],
test: [...]}``); an init time belongs to a split only if all its inputs and targets lie in the
range. The model steps ``step_hours`` at a time (a multiple of the data's time step); lead times
are in hours and must be multiples of ``step_hours``. Training samples carry ``rollout_steps``
targets (for multi-step rollout fine-tuning), test samples ``max(lead_times) / step_hours``.
Normalisation statistics, the climatology (smoothed, :mod:`signalkit.baselines.weather`; for the
model's anomalies, ACC and the baselines) and the linear baseline come from the training period
only, masked points excluded. With ``anomalies`` (default) the model's inputs and targets are
anomalies against that climatology; every batch carries the climatology at its input and target
times (``clim_x``, ``clim_y``) to return to physical units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from signalkit.batch import WeatherContract
from signalkit.datamodules.loading.loaders import stage_loader
from signalkit.datamodules.weather_windows import (
    NS_PER_HOUR,
    CollateFields,
    ForecastDataset,
    Normalizer,
    TrainingStats,
    init_indices,
    parse_range,
    time_step_hours,
)
from signalkit.baselines.weather import resolve_kind
from signalkit.errors import ConfigError
from signalkit.recording import SIGNAL, str_values
from signalkit.store import open_store
from signalkit.datamodules.registry import DATA_MODULES

STAGES = ("train", "val", "test")


@DATA_MODULES.register("weather")
class WeatherDataModule(L.LightningDataModule):
    """Forecasting samples of a weather store (``signalkit ingest weather``).

    Args:
        store: path or fsspec URL of the store.
        split: ``{stage: [first day, last day]}`` for train, val and test (inclusive).
        history: input time steps (spaced ``step_hours`` apart, the last one is the init time).
        step_hours: model time step in hours (``null``: the data's time step).
        lead_times: evaluation lead times in hours (multiples of ``step_hours``).
        rollout_steps: targets per training/validation sample (autoregressive fine-tuning).
        climatology: ``auto`` (``harmonic`` for a training period of a year or more, else ``hour``),
            ``hour`` (hour-of-day mean), ``harmonic`` (per hour of day, ``harmonics`` annual
            harmonics fitted per grid point) or ``dayofyear_hour`` (raw, for decades of data).
        harmonics: annual harmonics of the ``harmonic`` climatology.
        anomalies: the model sees and predicts anomalies against the climatology.
        linear_baseline: fit the per-grid-point linear anomaly regression and the damped anomaly
            persistence (scored at test; the model's validation gate chooses among them).
        preload: hold the normalised store in memory (``auto``: when under 2 GB).
    """

    def __init__(
        self,
        store: str,
        split: Mapping[str, Sequence[str]] | None = None,
        history: int = 2,
        step_hours: float | None = None,
        lead_times: Sequence[float] = (6, 12, 24),
        rollout_steps: int = 1,
        climatology: str = "auto",
        harmonics: int = 3,
        anomalies: bool = True,
        linear_baseline: bool = True,
        batch_size: int = 16,
        num_workers: int = 0,
        preload: bool | str = "auto",
        modality: str | None = "weather",
    ):
        super().__init__()
        if store in (None, "", "???"):
            raise ConfigError("data.store: no store given (set data.store=<path of an ingested weather store>)")
        self.store_path = str(store)
        self.split_cfg = dict(split or {})
        unknown = set(self.split_cfg) - set(STAGES)
        if unknown:
            raise ConfigError(f"data.split: unknown key(s) {sorted(unknown)} (expected train, val, test)")
        self.ranges = {s: parse_range(self.split_cfg.get(s), f"data.split.{s}") for s in STAGES}
        if int(history) < 1:
            raise ConfigError(f"data.history: must be >= 1, got {history}")
        if int(rollout_steps) < 1:
            raise ConfigError(f"data.rollout_steps: must be >= 1, got {rollout_steps}")
        resolve_kind(climatology, 0.0)  # validates the name
        if int(harmonics) < 0:
            raise ConfigError(f"data.harmonics: must be >= 0, got {harmonics}")
        self.history, self.step_hours_cfg = int(history), step_hours
        self.lead_times = [float(h) for h in lead_times]
        self.rollout_steps, self.climatology_cfg = int(rollout_steps), climatology
        self.harmonics, self.anomalies, self.linear_baseline = int(harmonics), bool(anomalies), bool(linear_baseline)
        self.batch_size, self.num_workers, self.preload = int(batch_size), int(num_workers), preload
        self.modality = modality
        self.datasets: dict[str, ForecastDataset] = {}
        self.norm: Normalizer | None = None

    # ----------------------------------------------------------------- setup
    def _open(self) -> None:
        store = open_store(self.store_path)
        if self.modality and store.modality != self.modality:
            raise ConfigError(f"data.store: {self.store_path} holds {store.modality!r} recordings, not weather")
        self.store = store
        self.rids = list(store)
        first = store[self.rids[0]]
        self.variables = [str(v) for v in str_values(first["variable"].values)]
        self.lat = np.asarray(first["lat"].values, np.float64)
        self.lon = np.asarray(first["lon"].values, np.float64)
        mask = np.zeros((len(self.lat), len(self.lon)), bool)
        for rid in self.rids:
            ds = store[rid]
            if [str(v) for v in str_values(ds["variable"].values)] != self.variables or \
                    ds.sizes["lat"] != len(self.lat) or ds.sizes["lon"] != len(self.lon):
                raise ConfigError(f"data.store: recording {rid} has another grid or variable set than {self.rids[0]}")
            mask |= np.asarray(ds["mask"].values, bool) if "mask" in ds else False
        self.mask = mask
        self.static_names, self.static = self._static_fields(first)
        self.times = [np.asarray(store[r]["time"].values).astype("datetime64[ns]") for r in self.rids]
        self.dt_hours = time_step_hours(self.times[0], self.rids[0])
        step_h = float(self.step_hours_cfg) if self.step_hours_cfg else self.dt_hours
        ratio = step_h / self.dt_hours
        if ratio < 1 or abs(ratio - round(ratio)) > 1e-6:
            raise ConfigError(f"data.step_hours: {step_h:g} h is not a multiple of the data's time step "
                              f"{self.dt_hours:g} h")
        self.step_hours, self.step = step_h, int(round(ratio))
        for lead in self.lead_times:
            if lead <= 0 or abs(lead / step_h - round(lead / step_h)) > 1e-6:
                raise ConfigError(f"data.lead_times: {lead:g} h is not a positive multiple of the model step "
                                  f"{step_h:g} h (data time step {self.dt_hours:g} h)")

    def _static_fields(self, ds) -> tuple[list[str], np.ndarray | None]:
        """Time-invariant input fields of the store (land-sea mask, orography, ...), each scaled to
        mean 0 and std 1 over the grid, NaN -> 0: ``(S, H, W)`` float32, or ``None``."""
        if "static" not in ds:
            return [], None
        names = [str(v) for v in str_values(ds["static_variable"].values)]
        x = np.asarray(ds["static"].values, np.float64)
        mean = np.nanmean(x, axis=(1, 2), keepdims=True)
        std = np.nanstd(x, axis=(1, 2), keepdims=True)
        x = (x - mean) / np.where(std > 0, std, 1.0)
        return names, np.nan_to_num(x).astype(np.float32)

    def _index(self, stage: str, k: int) -> np.ndarray:
        dt_ns = int(round(self.dt_hours * NS_PER_HOUR))
        rows = [np.stack([np.full(len(ix), r), ix], 1)
                for r, t in enumerate(self.times)
                for ix in [init_indices(t, self.ranges[stage], self.history, self.step, k, dt_ns)]]
        return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        self._open()
        max_lead = int(round(max(self.lead_times) / self.step_hours))
        ks = {"train": self.rollout_steps, "val": self.rollout_steps, "test": max_lead}
        index = {s: self._index(s, ks[s]) for s in STAGES}
        for s in ("train", "val"):
            if len(index[s]) == 0:
                raise ConfigError(f"data.split.{s}: no init time of {self.store_path} has its {self.history} input "
                                  f"step(s) and {ks[s]} target step(s) inside {self.split_cfg.get(s)}")
        if len(index["test"]) == 0:
            raise ConfigError(f"data.lead_times: the longest lead time {max(self.lead_times):g} h (plus "
                              f"{(self.history - 1) * self.step_hours:g} h of input history) does not fit in the "
                              f"test period {self.split_cfg.get('test')} of {self.store_path}")
        self.climatology_by = resolve_kind(self.climatology_cfg, self._train_span_days())
        stats = TrainingStats(len(self.variables), ~self.mask, self.step, self.climatology_by, self.harmonics)
        for r in range(len(self.rids)):
            self._accumulate(stats, r, self.ranges["train"])
        self.climatology = stats.climatology()
        if self.anomalies:  # second pass: statistics of the anomalies
            stats = TrainingStats(len(self.variables), ~self.mask, self.step, offset=self.climatology)
            for r in range(len(self.rids)):
                self._accumulate(stats, r, self.ranges["train"])
        self.norm = stats.normalizer()
        sources = self._sources()
        for s in STAGES:
            self.datasets[s] = ForecastDataset(sources, self.times, index[s], self.history, self.step, ks[s],
                                               self.norm, self.mask, self.lat, self.lon, self.climatology,
                                               self.anomalies)
        self.baselines = {"lead_steps": [int(round(h / self.step_hours)) for h in self.lead_times]}
        if self.linear_baseline:
            self.baselines["linear"] = self._fit_linear(self.baselines["lead_steps"])
            self.baselines["damped"] = self._fit_linear(self.baselines["lead_steps"], damped=True)
            if 1 not in self.baselines["lead_steps"]:  # the one-step fit the model's local term starts at
                self.baselines["linear_one_step"] = self._fit_linear([1])
        for ds in self.datasets.values():
            ds.baselines = self.baselines

    def _train_span_days(self) -> float:
        """Days of data inside the training range (first to last time plus one time step)."""
        spans = [0.0]
        for t in self.times:
            sel = t[(t >= self.ranges["train"][0]) & (t < self.ranges["train"][1])]
            if len(sel):
                spans.append(float((sel[-1] - sel[0]).astype(np.int64)) / NS_PER_HOUR / 24 + self.dt_hours / 24)
        return max(spans)

    def _fit_linear(self, lead_steps: Sequence[int], batch: int = 256, damped: bool = False):
        """Per-grid-point least squares of the anomalies ``lead_steps`` model steps ahead on the last
        ``history`` anomalies (normalised units), over the training init times that have every lead
        inside the split; ``None`` when the longest lead does not fit in the training period.
        ``damped``: on the last anomaly only, through the origin (damped anomaly persistence)."""
        from signalkit.baselines.weather import LinearAnomaly, damped_anomaly

        max_lead = int(max(lead_steps))
        index = self._index("train", max_lead)
        if len(index) == 0:  # the longest lead does not fit in the training period
            return None
        ds = ForecastDataset(self._sources_cache, self.times, index, self.history, self.step, max_lead, self.norm,
                             self.mask, self.lat, self.lon, self.climatology, self.anomalies)
        steps = np.asarray(lead_steps, np.int64) - 1
        lin = damped_anomaly(len(steps)) if damped else LinearAnomaly(self.history, len(steps))
        for b in range(0, len(ds), batch):
            items = [ds[i] for i in range(b, min(b + batch, len(ds)))]
            x = np.stack([it["x"].numpy() for it in items])
            y = np.stack([it["y"].numpy()[steps] for it in items])
            if not self.anomalies:  # regress anomalies: subtract the (normalised) climatology
                cx = np.stack([it["clim_x"].numpy() for it in items]) / self.norm.std[:, None, None]
                cy = np.stack([it["clim_y"].numpy()[steps] for it in items]) / self.norm.std[:, None, None]
                x, y = x - cx, y - cy
            lin.add(x, y)
        return lin.finish()

    def _accumulate(self, stats: TrainingStats, r: int, rng: tuple, block: int = 512) -> None:
        """Feed the recording's fields inside ``rng`` to ``stats`` in blocks of ``block`` steps."""
        t = self.times[r]
        sel = np.nonzero((t >= rng[0]) & (t < rng[1]))[0]
        if len(sel) == 0:
            return
        sig = self.store[self.rids[r]][SIGNAL]
        first, last = int(sel[0]), int(sel[-1]) + 1
        for b in range(first, last, block):
            e = min(b + block, last)
            stop = min(e + self.step, last)
            fields = np.asarray(sig.isel(time=slice(b, stop)).values, np.float32)
            stats.add(fields, t[b:stop], e - b)

    def _sources(self) -> list:
        total = sum(int(np.prod(self.store[r][SIGNAL].shape)) * 4 for r in self.rids)
        preload = total < 2 * 1024**3 if self.preload == "auto" else bool(self.preload)
        if not preload:
            self._sources_cache = [self.store[r] for r in self.rids]
            return self._sources_cache
        out = []
        for r, t in zip(self.rids, self.times):
            x = np.asarray(self.store[r][SIGNAL].values, np.float32)
            if self.anomalies:
                x = x - self.climatology.at(t).astype(np.float32)
            x = (x - self.norm.mean[:, None, None]) / self.norm.std[:, None, None]
            out.append((np.nan_to_num(x, nan=0.0) * ~self.mask).astype(np.float32))
        self._sources_cache = out
        return out

    # ------------------------------------------------------------ contract
    def data_contract(self) -> dict:
        """What a model trained on this data expects (saved in checkpoints)."""
        self.setup()
        return WeatherContract.of(
            modality="weather", variables=self.variables,
            lat=self.lat.tolist(), lon=self.lon.tolist(),
            mask=self.mask.astype(int).tolist(),
            dt_hours=self.dt_hours, step_hours=self.step_hours, history=self.history,
            lead_times=self.lead_times, normalization=self.norm.to_dict(),
            anomalies=self.anomalies, climatology=self.climatology_by, static=self.static_names,
            units=[str(u) for u in str_values(self.store[self.rids[0]]["units"].values)]
            if "units" in self.store[self.rids[0]].coords else [],
        ).to_dict()

    # --------------------------------------------------------- dataloaders
    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        self.setup()
        return stage_loader(self, self.datasets[stage], shuffle, CollateFields(self.lat, self.lon, self.mask, self.static))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)

    def scoring_dataloader(self, stage: str = "val") -> DataLoader | None:
        """``stage``'s init times with targets to the longest lead (as the test's), for scoring
        forecasts there (the task's validation gate); ``None`` when no init time fits."""
        self.setup()
        k = int(round(max(self.lead_times) / self.step_hours))
        index = self._index(stage, k)
        if len(index) == 0:
            return None
        ds = ForecastDataset(self._sources_cache, self.times, index, self.history, self.step, k, self.norm,
                             self.mask, self.lat, self.lon, self.climatology, self.anomalies)
        ds.baselines = self.baselines
        return DataLoader(ds, batch_size=self.batch_size, shuffle=False, num_workers=0,
                          collate_fn=CollateFields(self.lat, self.lon, self.mask, self.static))

    def split_summary(self) -> dict[str, Any]:
        """Init times per split (first and last) for logs and leakage checks."""
        self.setup()
        out = {}
        for s, ds in self.datasets.items():
            inits = [self.times[r][i] for r, i in ds.index]
            out[s] = {"samples": len(ds), "first": str(min(inits))[:19] if inits else None,
                      "last": str(max(inits))[:19] if inits else None}
        return out
