"""The sensor data module normalises with the training split's statistics."""

from __future__ import annotations

import torch

from signalkit.datamodules import SignalDataModule


def test_datamodule_normalises_with_training_statistics(mi_store):
    dm = SignalDataModule(mi_store, window_s=2.0, events={"left_hand": 0, "right_hand": 1}, batch_size=8)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["x"].shape == (8, 19, 320) and batch["ch_mask"].all()
    stds = torch.cat([b["x"] for b in dm.train_dataloader()]).std(dim=(0, 2))
    assert torch.allclose(stds, torch.ones(19), atol=0.1)  # standardised per channel on train
    contract = dm.data_contract()
    assert contract["sfreq"] == 160.0 and len(contract["channels"]) == 19
    assert contract["target_names"] == ["left_hand", "right_hand"]
