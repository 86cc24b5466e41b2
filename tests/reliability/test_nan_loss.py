"""A NaN/Inf loss stops training naming the step and the batch's recordings; nan_policy=skip skips."""

from __future__ import annotations

import json

import pytest
import torch

from signalkit.models import SignalModel
from signalkit.store import open_store
from signalkit.tasks.base import NonFiniteLossError
from signalkit.training import train
from tests.support import tiny_overrides


@pytest.fixture
def nan_at_step(monkeypatch):
    """Make the model output NaN (value) on every training call number in ``bad``; record the batch."""
    seen = {"calls": 0, "recs": []}
    forward = SignalModel.forward

    def patched(self, batch):
        out = forward(self, batch)
        if self.training and out.device.type != "meta":  # not the activation estimate's meta pass
            seen["calls"] += 1
            if seen["calls"] in seen["bad"]:
                seen["recs"].append(batch["rec"].tolist())
                out = out * torch.tensor(seen["value"])
        return out

    monkeypatch.setattr(SignalModel, "forward", patched)
    return seen


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nonfinite_loss_names_step_and_recordings(small_store, tmp_path, nan_at_step, value):
    nan_at_step.update(bad={2}, value=value)
    with pytest.raises(NonFiniteLossError) as info:
        train(tiny_overrides(small_store, tmp_path / "run", epochs=1))
    msg = str(info.value)
    assert "at step 1 (epoch 0)" in msg and "nan_policy=skip" in msg
    # the datamodule's train split numbers recordings; map them back to their source files
    from signalkit.datamodules import SignalDataModule

    dm = SignalDataModule(small_store, window_s=4.0, events={"left_hand": 0, "right_hand": 1},
                          split={"by": "subject", "fractions": [0.6, 0.2, 0.2], "seed": 7}, batch_size=4)
    dm.setup("fit")
    sources = sorted({dm.datasets["train"].source_of(r) for r in nan_at_step["recs"][0]})
    assert sources and msg.endswith("set task.nan_policy=skip to skip such batches")
    assert f"recordings in the batch: {', '.join(sources)};" in msg
    assert all(s.endswith(".edf") for s in sources)


def test_nan_policy_skip_skips_the_batch(small_store, tmp_path, nan_at_step):
    nan_at_step.update(bad={1, 3}, value=float("nan"))
    out = tmp_path / "run"
    train([*tiny_overrides(small_store, out, epochs=1), "task.nan_policy=skip"])
    assert (out / "checkpoints" / "last.ckpt").exists()
    assert len(nan_at_step["recs"]) == 2
    import csv

    rows = list(csv.DictReader(open(out / "metrics.csv")))
    skipped = [float(r["train/skipped_batches"]) for r in rows if r.get("train/skipped_batches")]
    assert skipped == [2.0]
    state = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
