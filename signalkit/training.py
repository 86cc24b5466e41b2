"""Train and evaluate from a composed config (what ``signalkit train|evaluate`` run).

``train(["experiment=eeg/motor_imagery", "data.store=x.zarr"])`` works the same from Python
(notebooks) as from the command line and returns the metrics it writes to ``metrics.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from signalkit.config import compose, to_plain
from signalkit.errors import ConfigError, ModelError


def _output_dir(cfg: DictConfig) -> Path:
    if cfg.get("output_dir"):
        return Path(str(cfg.output_dir))
    return Path("runs") / f"{cfg.get('name', 'run')}-{time.strftime('%Y%m%d-%H%M%S')}"


def _write_json(path: Path, payload: dict) -> None:
    from signalkit.run_folder import write_json

    write_json(path, payload)  # strict JSON: a NaN metric is null


def build_datamodule(data_cfg: Any):
    """Build the data module of a ``data`` config node.

    Its ``_target_`` must be one of the packaged configs' data modules
    (:mod:`signalkit.targets`): nothing else named in a config is ever called.
    """
    from signalkit.targets import build_target

    return build_target(data_cfg, "data")


def build_task(cfg: DictConfig, dm) -> Any:
    """Build the task (an allow-listed ``task._target_``, :mod:`signalkit.targets`) with the model
    config completed from the data (classes, contract)."""
    from signalkit.targets import build_target

    model_cfg = to_plain(cfg.model)
    head = model_cfg.get("head", {})
    if getattr(dm, "num_classes", 0) and "num_classes" in head:
        head["num_classes"] = int(dm.num_classes)
    contract = dm.data_contract() if hasattr(dm, "data_contract") else {}
    tok = model_cfg.get("tokenizer", {})
    if "volume_shape" in tok and tok["volume_shape"] is None and contract.get("grid"):
        tok["volume_shape"] = [int(n) for n in contract["grid"]]  # the voxels tokenizer's input size
    task = build_target(cfg.task, "task", model=model_cfg, data_contract=contract)
    if model_cfg.get("pretrained"):
        from signalkit.pretrained import load_into

        load_into(task.model, model_cfg["pretrained"])
    return task


def _callbacks(cfg: DictConfig, out: Path, config_dict: dict) -> list:
    """Checkpoints (epoch end, and mid-epoch when configured), config and RNG savers, early stopping.

    The first element is the epoch-end ``ModelCheckpoint`` (its ``best_model_path`` is tested).
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping

    from signalkit.checkpointing import SaveLoaderPosition, SaveRNG, checkpoint_callbacks

    class SaveConfig(L.Callback):
        """Store the resolved run config (plain data) inside every checkpoint."""

        def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
            checkpoint["signalkit_config"] = config_dict

    from signalkit.model_bounds import activation_bound_callback

    callbacks = [*checkpoint_callbacks(cfg.callbacks.checkpoint, out / "checkpoints"), SaveConfig(), SaveRNG(),
                 SaveLoaderPosition(), activation_bound_callback()]
    es = cfg.callbacks.get("early_stopping")
    if es is not None and es.get("patience"):
        callbacks.append(EarlyStopping(monitor=es.monitor, mode=es.mode, patience=es.patience))
    if cfg.callbacks.get("cpu_time_budget_s"):
        from signalkit.time_budget import CPUTimeBudget

        try:
            callbacks.append(CPUTimeBudget(cfg.callbacks.cpu_time_budget_s))
        except ValueError as err:
            raise ConfigError(f"callbacks.cpu_time_budget_s: {err}") from None
    return callbacks


def _loggers(cfg: DictConfig, out: Path) -> list:
    from signalkit.run_folder import AppendingCSVLogger

    loggers = []
    if cfg.logger.get("csv", True):  # appends to metrics.csv: a resume keeps the rows before it
        loggers.append(AppendingCSVLogger(save_dir=str(out), name="", version=""))
    if cfg.logger.get("tensorboard", False):
        try:
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(save_dir=str(out), name="tb", version=""))
        except ModuleNotFoundError:
            raise ConfigError("logger.tensorboard: tensorboard is not installed") from None
    return loggers


def _trainer(cfg: DictConfig, out: Path, callbacks: list, loggers: list):
    import lightning as L

    from signalkit.checkpointing import AtomicCheckpointIO

    kwargs = to_plain(cfg.trainer)
    given = kwargs.pop("plugins", None) or []
    plugins = [*([given] if isinstance(given, str) else given), AtomicCheckpointIO()]  # atomic checkpoint files
    try:
        return L.Trainer(default_root_dir=str(out), callbacks=callbacks, logger=loggers or False, plugins=plugins,
                         **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"trainer: {err}") from None


def _scalars(metrics: dict) -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            out[k] = float(v.item())
        elif isinstance(v, (int, float)):
            out[k] = float(v)
    return out


def data_store(cfg: DictConfig) -> str | None:
    try:
        store = OmegaConf.select(cfg, "data.store", default=None, throw_on_missing=False)
    except Exception:  # an unresolvable interpolation: the data module reports it
        return None
    return None if store in (None, "???") or OmegaConf.is_missing(cfg, "data.store") else str(store)


def run_train(cfg: DictConfig) -> dict[str, float]:
    """Fit, test and write ``metrics.json`` + ``config.yaml`` under ``cfg.output_dir``.

    A damaged store chunk (crc32c mismatch) is one :class:`~signalkit.errors.StoreError` naming
    the store, recording and variable.
    """
    from signalkit.store import naming_damage

    with naming_damage(data_store(cfg)):
        return _run_train(cfg)


def _run_train(cfg: DictConfig) -> dict[str, float]:
    import lightning as L

    from signalkit.run_folder import check_run_dir, prepare_run_dir, write_text

    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    out = _output_dir(cfg)
    ckpt = cfg.get("ckpt_path")
    if ckpt == "last":
        ckpt = str(out / "checkpoints" / "last.ckpt")
    if ckpt and not Path(str(ckpt)).exists():
        raise ConfigError(f"ckpt_path: no checkpoint at {ckpt}")
    store = OmegaConf.select(cfg, "data.store", default=None, throw_on_missing=False)
    sources = [str(store)] if isinstance(store, str) and store != "???" else []
    check_run_dir(out, sources)
    config_dict = to_plain(cfg)
    dm = build_datamodule(cfg.data)
    dm.setup("fit")
    task = build_task(cfg, dm)
    prepare_run_dir(out, sources)  # created only once data and task are known to be good
    callbacks = _callbacks(cfg, out, config_dict)
    trainer = _trainer(cfg, out, callbacks, _loggers(cfg, out))
    # written only now: a run that fails before training leaves the previous run's files as they were;
    # one writer (global rank 0) where several processes share the run folder (DDP, multi-node)
    if trainer.is_global_zero:
        write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    start, cpu_start = time.time(), time.process_time()
    trainer.fit(task, datamodule=dm, ckpt_path=ckpt)
    metrics = {"train/seconds": time.time() - start, "train/cpu_seconds": time.process_time() - cpu_start,
               "train/epochs": float(trainer.current_epoch)}
    metrics.update({k: v for k, v in _scalars(trainer.callback_metrics).items() if k.startswith("val/")})
    if cfg.get("test", True):
        best = callbacks[0].best_model_path or None
        results = trainer.test(task, datamodule=dm, ckpt_path=best, verbose=False)
        for r in results:
            metrics.update(_scalars(r))
        metrics.update(_scalars(getattr(task, "extra_test_metrics", {}) or {}))
    metrics["best_checkpoint"] = callbacks[0].best_model_path  # type: ignore[assignment]
    if trainer.is_global_zero:
        _write_json(out / "metrics.json", metrics)
    _leave_process_group()
    return metrics


def _leave_process_group() -> None:
    """Under DDP: wait until every rank is done, then destroy the process group.

    No rank then exits while another still talks to it (the rank hosting the store, or the node
    hosting torchrun's rendezvous, leaving first made the others fail), and the next ``fit`` in
    this process starts a fresh group. A no-op in a single process.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def train(overrides: Sequence[str] = ()) -> dict[str, float]:
    """Compose ``configs/train.yaml`` with ``overrides`` and run :func:`run_train`."""
    return run_train(compose("train", overrides))


def evaluate(overrides: Sequence[str] = ()) -> dict[str, float]:
    """Evaluate a checkpoint on a split; data/model/task come from the checkpoint's config."""
    import lightning as L

    from signalkit.store import naming_damage

    ev = compose("evaluate", [o for o in overrides if o.split("=")[0] in ("ckpt_path", "split", "output_dir")])
    from signalkit.checkpointing import load_checkpoint, load_task_weights, stored_config

    ckpt = load_checkpoint(str(ev.ckpt_path))
    cfg = stored_config(ckpt, str(ev.ckpt_path))
    rest = [o for o in overrides if o.split("=")[0] not in ("ckpt_path", "split", "output_dir")]
    for item in rest:
        key = item.split("=", 1)[0]
        if OmegaConf.select(cfg, key, default="__missing__") == "__missing__":
            raise ConfigError(f"{key}: no such config key")
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(rest))
    with naming_damage(data_store(cfg)):
        out = Path(str(ev.output_dir)) if ev.output_dir else Path(str(ev.ckpt_path)).resolve().parent.parent
        dm = build_datamodule(cfg.data)
        dm.setup("test")
        task = build_task(cfg, dm)
        load_task_weights(task, ckpt, str(ev.ckpt_path))
        trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            accelerator=cfg.trainer.get("accelerator", "auto"), devices=1)
        loader = {"test": dm.test_dataloader, "val": dm.val_dataloader}.get(str(ev.split))
        if loader is None:
            raise ConfigError(f"split: expected test or val, got {ev.split!r}")
        results = trainer.test(task, dataloaders=loader(), verbose=False)
        metrics = {}
        for r in [*results, getattr(task, "extra_test_metrics", None) or {}]:  # extras: baselines, per-lead
            metrics.update({k.replace("test/", f"{ev.split}/", 1): v for k, v in _scalars(r).items()})
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / f"evaluate_{ev.split}.json", metrics)
    return metrics


def __getattr__(name: str) -> Any:
    if name == "load_checkpoint":  # moved to signalkit.checkpointing (old path kept for one release)
        import warnings

        from signalkit import checkpointing

        warnings.warn("signalkit.training.load_checkpoint moved to signalkit.checkpointing.load_checkpoint",
                      DeprecationWarning, stacklevel=2)
        return checkpointing.load_checkpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
