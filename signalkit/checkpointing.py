"""Checkpoints: loading them safely, and resuming a killed training run, mid-epoch included.

- :func:`load_checkpoint`: read a checkpoint without pickle (``weights_only=True``).
- :func:`checkpoint_callbacks`: the epoch-end ``ModelCheckpoint`` (best on ``val/loss`` +
  ``last.ckpt``) and, when ``callbacks.checkpoint.every_n_train_steps`` or ``every_n_minutes``
  is set, a second one that rewrites ``last.ckpt`` in the middle of epochs.
- :class:`SaveRNG`: torch, numpy and Python RNG states in every checkpoint, restored on resume
  (Lightning does not restore them), so dropout and augmentation continue as in an
  uninterrupted run. Stored as tensors, lists and ints: checkpoints load with ``weights_only``.
- :class:`SaveLoaderPosition`: the training loader's position in the epoch, restored on resume.
- :class:`AtomicCheckpointIO`: a checkpoint is written to a temporary file in its folder and
  renamed over the old one, so a kill during a save leaves the previous checkpoint intact.

With the training loader of ``signalkit.datamodules.loading.samplers`` (used on one process), a resume
from a mid-epoch ``last.ckpt`` continues the epoch with the batches the killed run had not yet
trained on. Epoch-level training averages logged for that epoch then cover only those batches
(torchmetrics states are not checkpointed); validation and test metrics are unaffected.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint

from signalkit.errors import ConfigError, ModelError
from signalkit.guard import atomic_path

RNG_KEY = "signalkit_rng"


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a training checkpoint without pickle (``weights_only=True``)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelError(f"{path}: not a loadable signalkit checkpoint ({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None


def stored_config(ckpt: dict, source: str) -> Any:
    """The run config stored in a checkpoint, checked as data: no code named in it
    (:func:`signalkit.targets.check_stored_config`), plain values only."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from signalkit.targets import check_stored_config

    saved = ckpt.get("signalkit_config")
    if not saved:
        raise ModelError(f"{source}: checkpoint has no signalkit config (not written by signalkit train)")
    if not isinstance(saved, dict):
        raise ModelError(f"{source}: the stored signalkit config is not a mapping")
    check_stored_config(saved, source)
    try:
        return OmegaConf.create(saved)
    except OmegaConfBaseException as err:
        raise ModelError(f"{source}: the stored signalkit config is not plain data ({str(err).splitlines()[0]})") from None


def load_task_weights(task, ckpt: dict, source: str) -> None:
    """Load a checkpoint's ``state_dict`` into ``task``, refusing wrong dtypes and NaN/Inf weights."""
    from signalkit.model_bounds import check_weights

    state = ckpt.get("state_dict")
    if not isinstance(state, dict):
        raise ModelError(f"{source}: no state_dict (not written by signalkit train)")
    check_weights(task.state_dict(), state, f"{source} (state_dict)")
    try:
        task.load_state_dict(state)
    except RuntimeError as err:
        raise ModelError(f"{source}: the weights do not fit the model ({' '.join(str(err).split())[:300]})") from None


class SaveRNG(L.Callback):
    """Keep the torch, numpy and Python RNG states in checkpoints and restore them on resume."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        name, keys, pos, has_gauss, gauss = np.random.get_state()
        version, pystate, pygauss = random.getstate()
        checkpoint["signalkit_torch_rng"] = torch.get_rng_state()
        checkpoint[RNG_KEY] = {
            "numpy": [str(name), torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss),
                      float(gauss)],
            "python": [int(version), [int(v) for v in pystate], pygauss],
        }

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if isinstance(checkpoint.get("signalkit_torch_rng"), torch.Tensor):
            torch.set_rng_state(checkpoint["signalkit_torch_rng"])
        states = checkpoint.get(RNG_KEY) or {}
        if "numpy" in states:
            name, keys, pos, has_gauss, gauss = states["numpy"]
            np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
        if "python" in states:
            version, pystate, pygauss = states["python"]
            random.setstate((version, tuple(pystate), pygauss))


class SaveLoaderPosition(L.Callback):
    """Keep the training loader's position in the epoch (its ``state_dict``) in checkpoints and
    give it back to the loader of a resumed run before its first batch.

    Lightning saves the state of a stateful loader too, but restores it only when it builds the
    loader after the checkpoint is loaded; a task whose ``configure_optimizers`` asks for
    ``trainer.estimated_stepping_batches`` (warmup schedules) makes it build the loader first,
    and the saved position is then never applied.
    """

    KEY = "signalkit_train_loader"

    def __init__(self) -> None:
        self._pending: dict | None = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        loader = trainer.train_dataloader
        if hasattr(loader, "state_dict") and hasattr(loader, "load_state_dict"):
            checkpoint[self.KEY] = loader.state_dict()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        self._pending = checkpoint.get(self.KEY)

    def on_train_start(self, trainer, pl_module) -> None:
        pending, self._pending = self._pending, None
        loader = trainer.train_dataloader
        if pending is not None and hasattr(loader, "load_state_dict"):
            loader.load_state_dict(pending)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary sibling, fsync, then ``os.replace`` (:func:`signalkit.guard.atomic_path`).

    (Lightning's own save goes through a temporary file in the system temp folder, which is a
    copy, not a rename, when that folder is on another filesystem.) URLs keep Lightning's path.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())


def _positive(ck: Any, key: str) -> float | None:
    value = ck.get(key)
    if value in (None, 0, False):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"callbacks.checkpoint.{key}: expected a number or null, got {value!r}") from None
    if value < 0:
        raise ConfigError(f"callbacks.checkpoint.{key}: must be positive (or null/0 to turn off), got {value}")
    return value


def checkpoint_callbacks(ck: Any, dirpath: str | os.PathLike) -> list[ModelCheckpoint]:
    """The run's ``ModelCheckpoint`` callbacks from the ``callbacks.checkpoint`` config node.

    The first one (epoch ends: best on ``monitor`` + ``last.ckpt``) is the one whose
    ``best_model_path`` is tested. A second one exists when ``every_n_train_steps`` (optimizer
    steps) or else ``every_n_minutes`` (training time) is set: it rewrites ``last.ckpt`` at that
    interval, in the middle of epochs, and keeps no other file.
    """
    epoch_end = ModelCheckpoint(dirpath=str(dirpath), filename="epoch{epoch:03d}", auto_insert_metric_name=False,
                                monitor=ck.monitor, mode=ck.mode, save_top_k=ck.save_top_k, save_last=ck.save_last,
                                enable_version_counter=False)  # one last.ckpt, never last-v1.ckpt beside it
    steps = _positive(ck, "every_n_train_steps")
    minutes = _positive(ck, "every_n_minutes")
    if steps is None and minutes is None:
        return [epoch_end]
    if steps is not None and steps != int(steps):
        raise ConfigError(f"callbacks.checkpoint.every_n_train_steps: expected a whole number, got {steps}")
    interval = {"every_n_train_steps": int(steps)} if steps is not None else {
        "train_time_interval": timedelta(minutes=minutes)}
    mid_epoch = ModelCheckpoint(dirpath=str(dirpath), save_top_k=0, save_last=True, monitor=None,
                                save_on_train_epoch_end=False, enable_version_counter=False, **interval)
    return [epoch_end, mid_epoch]
