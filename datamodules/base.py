"""``StoreDataModule``: what the sensor (EEG/MEG/iEEG) and fMRI data modules share.

Both read labelled windows of one store split without leakage, so the store and label arguments,
the split config, the modality check, the split and label checks, the ``preload="auto"`` rule and
``class_names``/``num_classes`` live here once; each modality keeps its own index, datasets and
data contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from signalkit.datamodules.loading.loaders import StagedDataModule
from signalkit.datamodules.splits import split_index
from signalkit.datamodules.windows import label_mapping
from signalkit.errors import ConfigError
from signalkit.store import Store, open_store

SPLIT_KEYS = ("by", "fractions", "seed", "assign")
# preload="auto" reads recordings into memory when the store's float32 signal is under this
PRELOAD_AUTO_BYTES = 2 * 1024**3


class StoreDataModule(StagedDataModule):
    """Split-based windows of one store with optional event labels (a base class).

    Subclasses call :meth:`_init_store` from ``__init__`` (with their own explicit, typed
    arguments), and in ``setup`` :meth:`_open_store`, build their index, then :meth:`_split` and
    :meth:`_preload_auto`.
    """

    def _init_store(self, store: str, events: Sequence[str] | Mapping[str, int] | None,
                    split: Mapping[str, Any] | None, batch_size: int, num_workers: int,
                    preload: bool | str, modality: str | None) -> None:
        """Check and keep the arguments every store data module takes.

        Raises:
            ConfigError: no ``data.store``, or an unknown key in ``data.split``.
        """
        if store in (None, "", "???"):
            raise ConfigError("data.store: no store given (set data.store=<path of an ingested store>)")
        self.store_path = str(store)
        self.events = dict(events) if isinstance(events, Mapping) else (list(events) if events is not None else None)
        self.split_cfg = {"by": "subject", "fractions": (0.7, 0.15, 0.15), "seed": 0, "assign": None,
                          **dict(split or {})}
        unknown = set(self.split_cfg) - set(SPLIT_KEYS)
        if unknown:
            raise ConfigError(f"data.split: unknown key(s) {sorted(unknown)}")
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.preload, self.modality = preload, modality

    def _open_store(self) -> Store:
        """The store at ``store_path``; :class:`ConfigError` naming ``data.modality`` if it holds another."""
        store = open_store(self.store_path)
        if self.modality and store.modality and store.modality != self.modality:
            raise ConfigError(f"data.modality: store {self.store_path} holds {store.modality}, not {self.modality}")
        return store

    def _split(self, store: Store, index: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """``{stage: rows of index}`` by ``data.split``; refuses an empty training split and, with
        ``events``, labels missing from a split (a typo is an error, not a one-class perfect score)."""
        cfg = self.split_cfg
        splits = split_index(index, by=cfg["by"], fractions=cfg["fractions"], seed=int(cfg["seed"]),
                             assign=cfg["assign"])
        if splits["train"].empty:
            raise ConfigError(f"data.split: the training split of {self.store_path} is empty")
        if self.events is not None:
            from signalkit.datamodules.labels import check_labels

            check_labels(store, *label_mapping(self.events), splits)
        return splits

    def _preload_auto(self, shapes: Iterable[Sequence[int]]) -> bool:
        """``preload`` as a bool: ``"auto"`` is true when the float32 arrays of ``shapes`` (one per
        recording) take under :data:`PRELOAD_AUTO_BYTES`."""
        if self.preload != "auto":
            return bool(self.preload)
        return sum(int(np.prod(list(shape))) * 4 for shape in shapes) < PRELOAD_AUTO_BYTES

    @property
    def class_names(self) -> list[str]:
        """Names of the decoded classes, by class index (``[]`` without events)."""
        return label_mapping(self.events)[1] if self.events is not None else []

    @property
    def num_classes(self) -> int:
        """Number of decoded classes (0 without events)."""
        return len(self.class_names)


__all__ = ["PRELOAD_AUTO_BYTES", "StoreDataModule"]
