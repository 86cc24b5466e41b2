"""``SignalDataModule``: EEG / MEG / iEEG (sensor signal) windows from a store, split without leakage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from signalkit.batch import SensorContract
from signalkit.datamodules.base import StoreDataModule
from signalkit.datamodules.loading.collate import collate_sensor
from signalkit.datamodules.splits import STAGES
from signalkit.datamodules.windows import (
    ChannelStandardizer,
    WindowDataset,
    build_sensor_index,
    channel_stats,
    effective_window_s,
)
from signalkit.recording import str_values
from signalkit.datamodules.registry import DATA_MODULES


@DATA_MODULES.register("eeg")
class SignalDataModule(StoreDataModule):
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
        self._init_store(store, events, split, batch_size, num_workers, preload, modality)
        self.window_s = None if window_s is None else float(window_s)
        self.tmin_s = float(tmin_s)
        self.stride_s = stride_s
        self.normalize = normalize
        self.datasets: dict[str, WindowDataset] = {}
        self.norm: ChannelStandardizer | None = None

    # ----------------------------------------------------------------- setup
    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        store = self._open_store()
        self.store = store
        self.window_s = effective_window_s(store, self.window_s)
        index = build_sensor_index(store, self.window_s, events=self.events, tmin_s=self.tmin_s,
                                   stride_s=self.stride_s)
        splits = self._split(store, index)
        preload = self._preload_auto(store[r]["signal"].shape for r in store)
        raw_train = WindowDataset(store, splits["train"], None, preload=False)
        self.norm = channel_stats(raw_train) if self.normalize else None
        self.datasets = {s: WindowDataset(store, splits[s], self.norm, preload=preload) for s in STAGES}
        self.index = index

    # ------------------------------------------------------------ properties
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
