"""``BaseTask``: the LightningModule every task builds on.

Hyperparameters are plain values (dicts, lists, numbers, strings) so that checkpoints load with
``torch.load(weights_only=True)``. The model is built from its plain config through the
registries; ``freeze_backbone``/``unfreeze_at_epoch`` and ``layer_decay`` serve fine-tuning.

Subclasses follow torchgeo's pattern: each declares its own options as explicit typed
keyword-only arguments and takes BaseTask's as ``**base: Unpack[BaseTaskOptions]``, forwarded
unchanged with ``super().__init__(**base)``::

    class MyTask(BaseTask):
        def __init__(self, *, alpha: float = 0.5, **base: Unpack[BaseTaskOptions]):
            super().__init__(**base)

BaseTask's nine arguments are written once (here) and are keyword-only all the way down, so no
subclass can reorder or misassign them. :func:`signalkit.registry.accepted_kwargs` reads the
``Unpack[...]`` TypedDict, so config keys are still checked against the whole hierarchy. Every
argument of the whole hierarchy lands in ``self.hparams``; the constructor then calls the hooks

* :meth:`complete_model_config` (fill the model config from the data contract, in place, before the
  hyperparameters are saved, so a checkpoint rebuilds the same model),
* :meth:`configure_models` (``self.model`` from ``hparams.model``; plural as in torchgeo: Lightning's
  Trainer calls its own ``configure_model`` hook at every fit/test, which would rebuild the model),
* :meth:`configure_losses` and :meth:`configure_metrics` (one ``MetricCollection``, cloned per stage
  into ``self.stage_metrics["train_" | "val_" | "test_"]`` with prefixes ``train/``, ``val/``, ``test/``).
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from signalkit.errors import ConfigError, SignalkitError
from signalkit.ensemble import ensemble_size, member_name, model_members
from signalkit.models import SignalModel, build_model


class NonFiniteLossError(SignalkitError):
    """The loss became NaN or Inf (names the step and the recordings of the batch)."""


class _BaseTaskRequired(TypedDict):
    model: dict


class BaseTaskOptions(_BaseTaskRequired, total=False):
    """The keyword arguments of :class:`BaseTask` (``model`` required), which subclasses take as
    ``**base: Unpack[BaseTaskOptions]`` and forward unchanged; defaults are BaseTask's."""

    data_contract: dict | None
    lr: float
    weight_decay: float
    warmup_epochs: float
    freeze_backbone: bool
    unfreeze_at_epoch: int | None
    layer_decay: float
    nan_policy: str


def task_model(base: BaseTaskOptions) -> dict:
    """``base["model"]`` for a subclass that looks at the model config before ``super().__init__``
    (``TypeError`` naming the argument when it is missing, as a plain signature would)."""
    if "model" not in base:
        raise TypeError("missing required keyword argument: 'model'")
    return base["model"]


class BaseTask(L.LightningModule):
    """Shared optimisation logic: AdamW, warmup + cosine schedule, layer-wise lr decay.

    Args:
        model: plain model config (see :mod:`signalkit.models`).
        data_contract: the data's input contract (saved with checkpoints and pretrained models).
        lr, weight_decay: AdamW settings (no decay on biases and norm weights).
        warmup_epochs: linear warmup length (fractional epochs allowed), then cosine to 0.
        freeze_backbone: keep the backbone's weights fixed.
        unfreeze_at_epoch: epoch at which a frozen backbone starts training.
        layer_decay: lr multiplier per layer below the head (``1.0`` = none).
        nan_policy: ``"raise"`` stops on a NaN/Inf loss naming step and recordings; ``"skip"``
            skips such batches.
    """

    STAGES = ("train", "val", "test")
    # whether the task trains ``model.members`` > 1 as an ensemble (each member on its own loss)
    ENSEMBLES = False

    def __init__(
        self,
        *,
        model: dict,
        data_contract: dict | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.05,
        warmup_epochs: float = 1.0,
        freeze_backbone: bool = False,
        unfreeze_at_epoch: int | None = None,
        layer_decay: float = 1.0,
        nan_policy: str = "raise",
    ):
        super().__init__()
        if nan_policy not in ("raise", "skip"):
            raise ConfigError(f"task.nan_policy: expected raise|skip, got {nan_policy!r}")
        self.complete_model_config(model, data_contract)
        self.save_hyperparameters()  # every __init__ argument of the subclass chain, by name
        self.configure_models()
        self.configure_losses()
        metrics = self.configure_metrics()
        # one collection per stage ("train" cannot be a ModuleDict key: it is a Module method)
        self.stage_metrics = nn.ModuleDict(
            {} if metrics is None else {f"{s}_": metrics.clone(prefix=f"{s}/") for s in self.STAGES})
        self._set_backbone_trainable(not freeze_backbone)

    # ------------------------------------------------------------------ hooks
    def complete_model_config(self, model: dict, data_contract: dict | None) -> None:
        """Fill ``model`` (the plain config) in place from the data contract; default: nothing."""

    def configure_models(self) -> None:
        """Build ``self.model`` from ``hparams.model`` and ``hparams.data_contract``."""
        n = ensemble_size(self.hparams.model)
        if n > 1 and not self.ENSEMBLES:
            raise ConfigError(f"model.members: {type(self).__name__} trains one model; ensembles of "
                              f"{n} members are for decoding tasks (set model.members=1)")
        self.model: SignalModel = build_model(self.hparams.model, self.hparams.data_contract)

    def configure_losses(self) -> None:
        """Set up the loss (buffers, weights); default: nothing (the task's step computes it)."""

    def configure_metrics(self) -> MetricCollection | None:
        """The task's metrics; cloned once per stage into ``self.stage_metrics``. Default: none."""
        return None

    def metrics_for(self, stage: str) -> MetricCollection:
        """The collection of ``stage`` (``train``, ``val`` or ``test``)."""
        return self.stage_metrics[f"{stage}_"]

    # ------------------------------------------------------------ fine-tuning
    def _backbones(self) -> list[nn.Module]:
        """The backbone of the model, or of each member of an ensemble."""
        return [m.backbone for m in model_members(self.model)]

    def _set_backbone_trainable(self, trainable: bool) -> None:
        for bb in self._backbones():
            for p in bb.parameters():
                p.requires_grad_(trainable)

    def on_train_epoch_start(self) -> None:
        epoch = self.hparams.unfreeze_at_epoch
        if self.hparams.freeze_backbone and epoch is not None and self.current_epoch >= epoch:
            self._set_backbone_trainable(True)
        if self.hparams.freeze_backbone and not any(p.requires_grad for bb in self._backbones() for p in bb.parameters()):
            for bb in self._backbones():
                bb.eval()  # a frozen backbone keeps its norm statistics too

    def _layer_ids(self) -> dict[str, int]:
        """Parameter name -> layer number (tokenizer 0, backbone blocks 1..n, head n+1); an ensemble's
        members are numbered alike."""
        blocks = getattr(self._backbones()[0], "blocks", None)
        n_blocks = len(blocks) if isinstance(blocks, nn.ModuleList) else 1
        ids = {}
        for full, _ in self.model.named_parameters():
            name = member_name(full)
            if name.startswith("tokenizer."):
                ids[full] = 0
            elif name.startswith("head."):
                ids[full] = n_blocks + 1
            elif name.startswith("backbone.blocks.") and isinstance(blocks, nn.ModuleList):
                ids[full] = 1 + int(name.split(".")[2])
            else:
                ids[full] = n_blocks
        return ids

    def configure_optimizers(self):
        ids = self._layer_ids()
        top = max(ids.values())
        groups: dict[tuple[int, bool], list[Tensor]] = {}
        # every parameter is given to the optimizer so a later unfreeze trains it too
        for name, p in self.model.named_parameters():
            decay = p.ndim >= 2 and "norm" not in name and "embed" not in name
            groups.setdefault((ids[name], decay), []).append(p)
        param_groups = [
            {"params": ps, "weight_decay": self.hparams.weight_decay if decay else 0.0,
             "lr": self.hparams.lr * self.hparams.layer_decay ** (top - layer)}
            for (layer, decay), ps in sorted(groups.items())
        ]
        opt = torch.optim.AdamW(param_groups, lr=self.hparams.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        per_epoch = max(1, total // max(1, self.trainer.max_epochs or 1))
        warmup = int(self.hparams.warmup_epochs * per_epoch)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # --------------------------------------------------------------- helpers
    def check_loss(self, loss: Tensor, batch: dict) -> bool:
        """True if ``loss`` is finite; otherwise raise or (``nan_policy=skip``) return False."""
        if torch.isfinite(loss):
            return True
        if self.hparams.nan_policy == "skip":
            self.log("train/skipped_batches", 1.0, reduce_fx="sum", on_epoch=True, on_step=False)
            return False
        raise NonFiniteLossError(
            f"loss is {loss.item()} at step {self.global_step} (epoch {self.current_epoch}); "
            f"recordings in the batch: {', '.join(self._batch_sources(batch)) or 'unknown'}; "
            "set task.nan_policy=skip to skip such batches"
        )

    def _batch_sources(self, batch: dict) -> list[str]:
        recs = batch.get("rec")
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        ds = getattr(dm, "datasets", {}).get("train") if dm is not None else None
        if recs is None or ds is None or not hasattr(ds, "source_of"):
            return []
        return sorted({ds.source_of(int(r)) for r in recs.tolist()})

    def forward(self, batch: dict) -> Any:
        return self.model(batch)
