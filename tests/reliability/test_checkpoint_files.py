"""Checkpoint files are replaced atomically; the mid-epoch checkpoint options are checked."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

import signalkit.checkpointing as checkpointing
from signalkit.checkpointing import AtomicCheckpointIO, checkpoint_callbacks
from signalkit.errors import ConfigError


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"global_step": 1, "w": torch.ones(3)}, path)
    real_save = torch.save

    def dying_save(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed during the save")

    monkeypatch.setattr(checkpointing.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(3)}, path)
    monkeypatch.setattr(checkpointing.torch, "save", real_save)
    assert torch.load(path, weights_only=True)["global_step"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left
    io.save_checkpoint({"global_step": 3}, path)
    assert torch.load(path, weights_only=True)["global_step"] == 3


def _ck(**kw):
    return OmegaConf.create({"monitor": "val/loss", "mode": "min", "save_top_k": 1, "save_last": True, **kw})


def test_mid_epoch_checkpoint_options(tmp_path):
    assert len(checkpoint_callbacks(_ck(), tmp_path)) == 1
    assert len(checkpoint_callbacks(_ck(every_n_train_steps=0, every_n_minutes=None), tmp_path)) == 1
    steps = checkpoint_callbacks(_ck(every_n_train_steps=50, every_n_minutes=30), tmp_path)[1]
    assert steps._every_n_train_steps == 50 and steps._train_time_interval is None  # steps win
    timed = checkpoint_callbacks(_ck(every_n_minutes=30), tmp_path)[1]
    assert timed._train_time_interval.total_seconds() == 1800 and timed.save_top_k == 0 and timed.save_last
    for key, value in (("every_n_train_steps", -1), ("every_n_train_steps", 2.5), ("every_n_minutes", "often")):
        with pytest.raises(ConfigError, match=rf"^callbacks\.checkpoint\.{key}: "):
            checkpoint_callbacks(_ck(**{key: value}), tmp_path)
