"""The four dataloaders every split-based data module builds the same way."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
from torch.utils.data import DataLoader

from signalkit.errors import ConfigError


class StagedDataModule(L.LightningDataModule):
    """Train/val/test/predict loaders over ``self.datasets[stage]`` (predict uses the test split).

    Subclasses set ``datasets``, ``batch_size`` and ``num_workers`` in ``setup``/``__init__``,
    and override :meth:`collate_fn` when their items need a custom collation.
    """

    empty_hint = " (adjust data.split.fractions)"

    def collate_fn(self) -> Callable | None:
        return None

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        self.setup()
        ds = self.datasets[stage]
        if len(ds) == 0:
            raise ConfigError(f"data.split: the {stage} split is empty{self.empty_hint}")
        return DataLoader(ds, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers,
                          collate_fn=self.collate_fn(), persistent_workers=self.num_workers > 0,
                          drop_last=False)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
