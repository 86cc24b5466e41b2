"""The weather training loader resumes mid-epoch like the other data modules' loaders."""

from __future__ import annotations

import torch

from signalkit.datamodules import WeatherDataModule
from signalkit.datamodules.samplers import ResumableDataLoader

SPLIT = {"train": ["2017-01-01", "2017-01-06"], "val": ["2017-01-07", "2017-01-08"],
         "test": ["2017-01-09", "2017-01-10"]}


def _times(loader) -> list[float]:
    return [float(t) for batch in loader for t in batch["time"]]


def test_weather_train_order_depends_on_seed_and_epoch_and_skips(synthetic_store, monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "7")
    dm = WeatherDataModule(synthetic_store, split=SPLIT, lead_times=[6], step_hours=6, batch_size=4)
    first, again = dm.train_dataloader(), WeatherDataModule(synthetic_store, split=SPLIT, lead_times=[6],
                                                            step_hours=6, batch_size=4).train_dataloader()
    assert isinstance(first, ResumableDataLoader)
    order = _times(first)
    assert order == _times(again)  # same seed and epoch: same order, in a new process too
    assert sorted(order) != order  # shuffled
    first.sampler.set_epoch(1)
    assert _times(first) != order and sorted(_times(first)) == sorted(order)  # reshuffled per epoch
    resumed = WeatherDataModule(synthetic_store, split=SPLIT, lead_times=[6], step_hours=6,
                                batch_size=4).train_dataloader()
    resumed.load_state_dict({"epoch": 0, "seed": 7, "batches": 2, "generator": None})  # as from a checkpoint
    assert _times(resumed) == order[2 * 4:]  # a resume after 2 batches gets exactly the rest of the epoch
    assert isinstance(dm.val_dataloader(), torch.utils.data.DataLoader)
    assert _times(dm.val_dataloader()) == sorted(_times(dm.val_dataloader()))  # evaluation not shuffled
