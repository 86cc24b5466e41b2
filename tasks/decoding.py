"""``DecodingTask``: classify windows (cross-entropy, torchmetrics per stage)."""

from __future__ import annotations

from typing import Unpack

import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import move_data_to_device
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassCohenKappa,
    MulticlassF1Score,
)

from signalkit.ensemble import log_mean_probability, model_members
from signalkit.errors import ConfigError
from signalkit.metrics.classification import BalancedAccuracy
from signalkit.tasks.augment import build_augment
from signalkit.tasks.base import BaseTask, BaseTaskOptions, task_model
from signalkit.tasks.registry import TASKS


def decoding_metrics(num_classes: int) -> MetricCollection:
    """accuracy, balanced_accuracy (mean recall over the classes present in the targets, as sklearn),
    cohen_kappa, f1_macro, auroc."""
    return MetricCollection({
        "accuracy": MulticlassAccuracy(num_classes, average="micro"),
        "balanced_accuracy": BalancedAccuracy(num_classes),
        "cohen_kappa": MulticlassCohenKappa(num_classes),
        "f1_macro": MulticlassF1Score(num_classes, average="macro"),
        "auroc": MulticlassAUROC(num_classes),
    })


@TASKS.register("decoding")
class DecodingTask(BaseTask):
    """Window classification. ``batch["y"] (B,)`` class ids; the model returns ``(B, K)`` logits.

    With ``model.members: N`` the model is an ensemble (:class:`~signalkit.ensemble.SignalEnsemble`):
    each member is trained on its own cross-entropy (the training loss is their mean), every member
    gets its own closed-form start, and validation, test and predict score the ensemble's mean class
    probability.

    Args (besides :class:`BaseTask`'s):
        class_weights: per-class loss weights (``K`` numbers) or ``None``.
        label_smoothing: cross-entropy label smoothing.
        augment: training-time augmentations of sensor windows, a list of
            ``{name: ..., p: ..., ...}`` (see :mod:`signalkit.tasks.augment`); ``None``: none.
    """

    def __init__(
        self,
        *,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        augment: list[dict] | None = None,
        **base: Unpack[BaseTaskOptions],
    ):
        model = task_model(base)
        tok = model.get("tokenizer") or {}
        rate = (base.get("data_contract") or {}).get("sfreq")
        if "sfreq" in tok and tok["sfreq"] is None and rate:
            # kernels and pooling in seconds (sensor_filter): the data's sampling rate sets them
            model = base["model"] = {**model, "tokenizer": {**tok, "sfreq": float(rate)}}
        k = int(model["head"].get("num_classes", 2))
        if k < 2:
            raise ConfigError(f"model.head.num_classes: decoding needs at least 2 classes, got {k}")
        if class_weights is not None and len(class_weights) != k:
            raise ConfigError(f"task.class_weights: {len(class_weights)} weights for {k} classes")
        super().__init__(**base)
        self.num_classes = k
        self.augment = build_augment(augment)

    def configure_losses(self) -> None:
        weights = self.hparams.class_weights
        self.register_buffer("class_weights", torch.tensor(weights, dtype=torch.float32)
                             if weights is not None else None, persistent=False)

    def configure_metrics(self) -> MetricCollection:
        return decoding_metrics(int(self.hparams.model["head"].get("num_classes", 2)))

    ENSEMBLES = True

    def _step(self, batch: dict, stage: str) -> Tensor | None:
        if stage == "train" and hasattr(self.model, "member_outputs"):
            # an ensemble: each member on its own loss, the metrics on the mean probability
            per_member = self.model.member_outputs(batch).float()
            loss = torch.stack([self.loss(m, batch["y"]) for m in per_member]).mean()
            logits = log_mean_probability(per_member)
        else:
            logits = self.model(batch)
            loss = self.loss(logits.float(), batch["y"])
        if stage == "train" and not self.check_loss(loss, batch):
            return None
        metrics = self.metrics_for(stage)
        metrics.update(logits.detach().float().softmax(-1), batch["y"])
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", on_epoch=True, on_step=False,
                 batch_size=len(batch["y"]), sync_dist=True)
        self.log_dict(metrics, on_epoch=True, on_step=False, prog_bar=False)
        return loss

    def loss(self, logits: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy of ``logits (B, K)`` against class ids ``y (B,)``."""
        return F.cross_entropy(logits, y, weight=self.class_weights, label_smoothing=self.hparams.label_smoothing)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        return self._step(self.augment(batch), "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")

    # ------------------------------------------------ closed-form read-out (model.head.readout=lda)
    @torch.no_grad()
    def fit_lda_readout(self, batches, model: torch.nn.Module | None = None) -> None:
        """Fit ``head.fc`` of ``model`` (default: the task's model) by shrinkage LDA
        (:func:`signalkit.heads.lda.fit_shrinkage_lda`) on what it receives for the training windows
        ``batches``. The model's BatchNorm running statistics are first set to the training windows'
        (one cumulative pass), so the eval-mode features the LDA is fitted on are the ones
        training-mode batches see."""
        from signalkit.heads.lda import fit_shrinkage_lda
        from signalkit.tasks.ridge_decoding import readout_inputs, readout_layer

        model = self.model if model is None else model
        batches = list(batches)
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the pass
        was_training = model.training
        model.train()
        for batch in batches:
            model(move_data_to_device(batch, self.device))
        for m, mom in zip(norms, momenta):
            m.momentum = mom
        model.train(was_training)
        x, y, _ = readout_inputs(model, batches, self.device)
        weight, bias = fit_shrinkage_lda(x, y, self.num_classes)
        fc = readout_layer(model)
        scale = float(getattr(model.head, "readout_scale", 1.0))
        fc.weight.copy_(torch.from_numpy(weight) * scale)
        fc.bias.copy_(torch.from_numpy(bias) * scale)

    def on_train_start(self) -> None:
        first = model_members(self.model)[0]
        tok = getattr(first, "tokenizer", None)
        spatial = getattr(tok, "closed_form", False) and hasattr(tok, "fit_closed_form")
        lda = getattr(first.head, "readout", None) == "lda"
        if not (spatial or lda) or self.current_epoch > 0:
            return  # nothing in closed form, or resuming from a checkpoint
        dm = getattr(self.trainer, "datamodule", None)
        batches = list(dm.train_dataloader() if dm is not None else self.trainer.train_dataloader)
        on_device = [move_data_to_device(b, self.device) for b in batches] if spatial else []
        for member in model_members(self.model):
            if spatial:  # e.g. CSP spatial filters (sensor_bandpower), before the read-out sees their features
                member.tokenizer.fit_closed_form(on_device, self.num_classes)
            if lda:
                self.fit_lda_readout(batches, member)

    def configure_optimizers(self):
        out = super().configure_optimizers()
        head = model_members(self.model)[0].head
        scale = getattr(head, "readout_lr_scale", 1.0) if getattr(head, "readout", None) else 1.0
        if scale != 1.0:  # fine-tuning from the closed-form read-out
            sched = out["lr_scheduler"]["scheduler"]
            for g in out["optimizer"].param_groups:
                g["lr"] *= scale
                g["initial_lr"] *= scale
            sched.base_lrs = [b * scale for b in sched.base_lrs]
        return out

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        probs = self.model(batch).float().softmax(-1)
        return {"proba": probs, "pred": probs.argmax(-1), "y": batch.get("y")}


@TASKS.register("fmri_decoding")
class FMRIDecodingTask(DecodingTask):
    """:class:`DecodingTask` on fMRI windows, plus the functional-connectivity baseline.

    With ``fc_baseline=True`` and a store holding ``region_signal`` (ingest with ``atlas=``), the
    test epoch also fits the FC + logistic-regression baseline (:mod:`signalkit.baselines.fc`) on
    the training windows and reports ``test/fc_accuracy`` and ``test/fc_balanced_accuracy`` in
    ``extra_test_metrics`` (written to ``metrics.json`` beside the model's). With
    ``linear_svm_baseline=True`` (volume windows with class targets) it also fits sklearn's
    ``LinearSVC`` on the time-averaged training windows (block-averaged, run-z-scored volumes inside
    the voxel mask) and reports ``test/accuracy_linear_svm`` and ``test/balanced_accuracy_linear_svm``.
    """

    def __init__(self, *, class_weights: list[float] | None = None, label_smoothing: float = 0.0,
                 fc_baseline: bool = True, linear_svm_baseline: bool = True, **base: Unpack[BaseTaskOptions]):
        super().__init__(class_weights=class_weights, label_smoothing=label_smoothing, **base)
        self.extra_test_metrics: dict[str, float] = {}

    def on_test_epoch_end(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None:
            return
        extra: dict[str, float] = {}
        if self.hparams.fc_baseline and hasattr(dm, "fc_baseline"):
            extra.update({f"test/fc_{k}": v for k, v in dm.fc_baseline().items()})
        if self.hparams.linear_svm_baseline and hasattr(dm, "linear_svm_baseline"):
            extra.update({f"test/{k}_linear_svm": v for k, v in dm.linear_svm_baseline().items()})
        self.extra_test_metrics = extra
