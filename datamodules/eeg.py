"""``SignalDataModule``: EEG / MEG / iEEG (sensor signal) windows from a store, split without leakage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from signalkit.batch import SensorContract
from signalkit.datamodules.loading.collate import collate_sensor
from signalkit.datamodules.loading.loaders import StagedDataModule
from signalkit.datamodules.splits import STAGES, split_index
from signalkit.datamodules.windows import (
    ChannelStandardizer,
    WindowDataset,
    build_sensor_index,
    channel_stats,
    effective_window_s,
    label_mapping,
)
from signalkit.errors import ConfigError
from signalkit.recording import str_values
from signalkit.store import open_store


class SignalDataModule(StagedDataModule):
    """Windows of a sensor store for decoding (event windows) or self-supervision (fixed windows).

    Args:
        store: path or fsspec URL of a store written by ``signalkit ingest eeg|meg|ieeg``.
        window_s: window length in seconds; ``None``: the epoch of an epoched store (each epoch
            is one window, with ``tmin_s=0``), else 4 s.
        events: labels to decode (list, class = position) or ``{label: class}``; ``None`` gives
            fixed-length windows every ``stride_s`` without targets.
        tmin_s: window start relative to the event onset.
        split: ``{"by": subject|session|run|recording|time, "fractions": [tr, va, te],
            "seed": int, "assign": {stage: [ids]}}``.
        normalize: standardise each channel with statistics of the training windows.
        preload: read recordings into memory once per worker (``"auto"``: when the store's
            signal is under 2 GB).
    """

    def __init__(
        self,
        store: str,
        window_s: float | None = None,
        events: Sequence[str] | Mapping[str, int] | None = None,
        tmin_s: float = 0.0,
        stride_s: float | None = None,
        split: Mapping[str, Any] | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        normalize: bool = True,
        preload: bool | str = "auto",
        modality: str | None = None,
    ):
        super().__init__()
        if store in (None, "", "???"):
            raise ConfigError("data.store: no store given (set data.store=<path of an ingested store>)")
        self.store_path = str(store)
        self.window_s = None if window_s is None else float(window_s)
        self.events = dict(events) if isinstance(events, Mapping) else (list(events) if events is not None else None)
        self.tmin_s = float(tmin_s)
        self.stride_s = stride_s
        self.split_cfg = {"by": "subject", "fractions": (0.7, 0.15, 0.15), "seed": 0, "assign": None,
                          **dict(split or {})}
        unknown = set(self.split_cfg) - {"by", "fractions", "seed", "assign"}
        if unknown:
            raise ConfigError(f"data.split: unknown key(s) {sorted(unknown)}")
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.normalize = normalize
        self.preload = preload
        self.modality = modality
        self.datasets: dict[str, WindowDataset] = {}
        self.norm: ChannelStandardizer | None = None

    # ----------------------------------------------------------------- setup
    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        store = open_store(self.store_path)
        if self.modality and store.modality and store.modality != self.modality:
            raise ConfigError(f"data.modality: store {self.store_path} holds {store.modality}, not {self.modality}")
        self.store = store
        self.window_s = effective_window_s(store, self.window_s)
        index = build_sensor_index(store, self.window_s, events=self.events, tmin_s=self.tmin_s,
                                   stride_s=self.stride_s)
        splits = split_index(index, by=self.split_cfg["by"], fractions=self.split_cfg["fractions"],
                             seed=int(self.split_cfg["seed"]), assign=self.split_cfg["assign"])
        if splits["train"].empty:
            raise ConfigError(f"data.split: the training split of {self.store_path} is empty")
        if self.events is not None:  # a typo in a label is an error, not a one-class perfect score
            from signalkit.datamodules.labels import check_labels

            check_labels(store, *label_mapping(self.events), splits)
        preload = self._preload(store)
        raw_train = WindowDataset(store, splits["train"], None, preload=False)
        self.norm = channel_stats(raw_train) if self.normalize else None
        self.datasets = {s: WindowDataset(store, splits[s], self.norm, preload=preload) for s in STAGES}
        self.index = index

    def _preload(self, store) -> bool:
        if self.preload != "auto":
            return bool(self.preload)
        total = sum(int(np.prod(list(store[r]["signal"].shape))) * 4 for r in store)
        return total < 2 * 1024**3

    # ------------------------------------------------------------ properties
    @property
    def class_names(self) -> list[str]:
        return label_mapping(self.events)[1] if self.events is not None else []

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def data_contract(self) -> dict:
        """The input contract a model trained on this data expects (saved with the model)."""
        self.setup()
        first = self.store[next(iter(self.store))]
        names, types, pos = [], [], []
        seen = set()
        for rid in self.datasets["train"].recordings:
            ds = self.store[rid]
            for n, t, p in zip(str_values(ds["channel"].values), str_values(ds["ch_type"].values),
                               ds["pos"].values):
                if n not in seen:
                    seen.add(n)
                    names.append(str(n))
                    types.append(str(t))
                    pos.append([None if not np.isfinite(v) else float(v) for v in p])
        return SensorContract.of(
            modality=self.store.modality or "eeg",
            sfreq=float(first.attrs["sfreq"]),
            window_s=self.window_s,
            n_times=int(round(self.window_s * float(first.attrs["sfreq"]))),
            channels=names, ch_types=types, positions=pos,
            normalization=self.norm.to_dict() if self.norm else None,
            target_names=self.class_names,
        ).to_dict()

    def split_summary(self) -> dict[str, dict[str, int]]:
        """Windows and groups per split (for logs and leakage checks)."""
        self.setup()
        return {s: {"windows": len(d), "subjects": int(d.index["subject"].nunique())}
                for s, d in self.datasets.items()}

    def collate_fn(self):
        return collate_sensor
