"""The four dataloaders every split-based data module builds the same way."""

from __future__ import annotations

import os
from collections.abc import Callable

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from signalkit.datamodules.loading.samplers import resumable_loader
from signalkit.errors import ConfigError


def stage_loader(dm: L.LightningDataModule, ds: Dataset, shuffle: bool, collate_fn: Callable | None) -> DataLoader:
    """The loader of one split of ``dm`` (which has ``batch_size`` and ``num_workers``).

    Shuffled training on one process gets a :func:`resumable_loader` (order from ``(seed,
    epoch)``, seed = ``PL_GLOBAL_SEED`` set by ``seed_everything``, else torch's initial seed), so
    a checkpoint taken mid-epoch resumes with the remaining batches; otherwise a plain DataLoader
    (under DDP Lightning puts in its ``DistributedSampler``).
    """
    trainer = getattr(dm, "trainer", None)
    if shuffle and (trainer is None or trainer.world_size == 1):
        seed = int(os.environ.get("PL_GLOBAL_SEED", torch.initial_seed()))
        return resumable_loader(ds, batch_size=dm.batch_size, seed=seed, num_workers=dm.num_workers,
                                collate_fn=collate_fn, persistent_workers=dm.num_workers > 0, drop_last=False)
    return DataLoader(ds, batch_size=dm.batch_size, shuffle=shuffle, num_workers=dm.num_workers,
                      collate_fn=collate_fn, persistent_workers=dm.num_workers > 0, drop_last=False)


class StagedDataModule(L.LightningDataModule):
    """Train/val/test/predict loaders over ``self.datasets[stage]`` (predict uses the test split).

    Subclasses set ``datasets``, ``batch_size`` and ``num_workers`` in ``setup``/``__init__``,
    and override :meth:`collate_fn` when their items need a custom collation.

    Loaders come from :func:`stage_loader` (resumable shuffled training on one process); under
    DDP, Lightning's ``DistributedSampler`` (also seeded by ``(seed, epoch)``) shuffles.
    """

    empty_hint = " (adjust data.split.fractions)"

    def collate_fn(self) -> Callable | None:
        return None

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        self.setup()
        ds = self.datasets[stage]
        if len(ds) == 0:
            raise ConfigError(f"data.split: the {stage} split is empty{self.empty_hint}")
        return stage_loader(self, ds, shuffle, self.collate_fn())

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        """The validation loader; none (``[]``: Lightning skips validation) when the split has no
        validation windows on purpose, e.g. a leave-one-run-out recipe trained for fixed epochs."""
        self.setup()
        if len(self.datasets["val"]) == 0 and len(self.datasets["train"]) > 0:
            return []
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
