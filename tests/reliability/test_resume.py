"""A training run killed mid-epoch resumes from last.ckpt and ends where an uninterrupted run ends."""

from __future__ import annotations

import json

import lightning as L
import pytest
import torch

import signalkit.training as training
from signalkit.training import train
from tests.support import tiny_overrides


class _Crash(Exception):
    pass


class _CrashAt(L.Callback):
    """Raise in the middle of epoch ``epoch`` (after batch ``batch``), as a killed process would stop."""

    def __init__(self, epoch: int, batch: int):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            raise _Crash(f"killed at epoch {self.epoch} batch {self.batch}")


def _final_state(out) -> dict:
    return torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.mark.slow  # three tiny trainings: ~55 s on the loaded 2-core machine
def test_resume_after_crash_matches_uninterrupted_run(small_store, tmp_path, monkeypatch):
    epochs = 3
    ref = train(tiny_overrides(small_store, tmp_path / "ref", epochs=epochs))

    out = tmp_path / "crashed"
    make = training._callbacks
    monkeypatch.setattr(training, "_callbacks", lambda *a: [*make(*a), _CrashAt(epoch=1, batch=2)])
    with pytest.raises(_Crash):
        train(tiny_overrides(small_store, out, epochs=epochs))
    assert _final_state(out)["epoch"] == 0  # last.ckpt holds the end of epoch 0 (saved at epoch end)
    monkeypatch.setattr(training, "_callbacks", make)
    resumed = train([*tiny_overrides(small_store, out, epochs=epochs), "ckpt_path=last"])

    a, b = _final_state(tmp_path / "ref"), _final_state(out)
    assert a["epoch"] == b["epoch"] == epochs - 1 and a["global_step"] == b["global_step"] == 3 * epochs
    for k in a["state_dict"]:
        torch.testing.assert_close(b["state_dict"][k], a["state_dict"][k], rtol=1e-5, atol=1e-6, msg=k)
    for k in ("val/loss", "val/balanced_accuracy"):
        assert resumed[k] == pytest.approx(ref[k], rel=1e-5, abs=1e-6), k
