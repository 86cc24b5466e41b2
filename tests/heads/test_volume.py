"""Unpatch head of the volume family: regions back with the sensor tokenizer."""

from __future__ import annotations

import torch

from signalkit.models import create_model


def test_unpatch_head_returns_regions_with_sensor_tokenizer(synthetic):
    from signalkit.datamodules.fmri import FMRIDataModule

    dm = FMRIDataModule(synthetic["store"], mode="region", window_s=16, stride_s=16, horizon=2)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    model = create_model("fmri_region_decoder", dim=16, depth=1, causal=True, head={"name": "unpatch"})
    out = model(batch)
    assert out.shape == batch["x"].shape and batch["y"].shape[1:] == (batch["x"].shape[1], 2)
    assert torch.isfinite(out).all()
