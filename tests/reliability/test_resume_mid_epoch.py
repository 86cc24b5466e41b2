"""A run killed in the middle of epoch 2 resumes from the mid-epoch last.ckpt with only the batches
it had not trained on, and ends with the weights and metrics of an uninterrupted run."""

from __future__ import annotations

import lightning as L
import pytest
import torch

import signalkit.training as training
from signalkit.training import train
from tests.support import tiny_overrides

EPOCHS, BATCHES, CRASH_AT = 2, 4, 2  # killed before batch 2 of epoch index 1 (the second epoch)


class _Crash(Exception):
    pass


class _Record(L.Callback):
    """Every training batch run: (epoch, batch_idx, fingerprint of its windows and targets)."""

    def __init__(self, crash: bool = False):
        self.crash, self.seen = crash, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.crash and trainer.current_epoch == 1 and batch_idx == CRASH_AT:
            raise _Crash("killed mid-epoch")
        fingerprint = (round(float(batch["x"].double().sum()), 6), tuple(int(v) for v in batch["y"]))
        self.seen.append((trainer.current_epoch, batch_idx, fingerprint))


def _run(monkeypatch, overrides, rec: _Record):
    make = training._callbacks
    monkeypatch.setattr(training, "_callbacks", lambda *a: [*make(*a), rec])
    try:
        return train(overrides)
    finally:
        monkeypatch.setattr(training, "_callbacks", make)


def _ckpt(out) -> dict:
    return torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def test_mid_epoch_resume_matches_uninterrupted_run(small_store, tmp_path, monkeypatch):
    def overrides(out):
        return [*tiny_overrides(small_store, out, epochs=EPOCHS, batches=BATCHES),
                "callbacks.checkpoint.every_n_train_steps=1", "trainer.limit_val_batches=1",
                "+trainer.num_sanity_val_steps=0", "model.head.dropout=0.5"]

    ref_rec = _Record()
    ref = _run(monkeypatch, overrides(tmp_path / "ref"), ref_rec)

    out = tmp_path / "killed"
    killed = _Record(crash=True)
    with pytest.raises(_Crash):
        _run(monkeypatch, overrides(out), killed)
    state = _ckpt(out)
    assert (state["epoch"], state["global_step"]) == (1, BATCHES + CRASH_AT)  # saved mid-epoch 2
    assert not [p for p in (out / "checkpoints").iterdir() if ".tmp" in p.name]  # atomic saves leave no temp file

    resumed_rec = _Record()
    resumed = _run(monkeypatch, [*overrides(out), "ckpt_path=last"], resumed_rec)

    # the resume trains only the batches the killed run had not, and they are the same batches
    assert [s[:2] for s in resumed_rec.seen] == [(1, b) for b in range(CRASH_AT, BATCHES)]
    assert killed.seen + resumed_rec.seen == ref_rec.seen
    a, b = _ckpt(tmp_path / "ref"), _ckpt(out)
    assert a["global_step"] == b["global_step"] == EPOCHS * BATCHES
    for k in a["state_dict"]:
        torch.testing.assert_close(b["state_dict"][k], a["state_dict"][k], rtol=1e-5, atol=1e-6, msg=k)
    for k in ("val/loss", "val/balanced_accuracy"):
        assert resumed[k] == pytest.approx(ref[k], rel=1e-5, abs=1e-6), k
