"""``VideoForecastingTask``: predict future frames; OpenSTL-compatible metrics and baselines.

Modes:

* ``direct`` (SimVP pattern): the model maps ``x (B, T_in, C, H, W)`` to ``(B, T_out, C, H, W)``.
* ``recurrent``: a causal next-frame model trained with teacher forcing on
  ``[x, y[:-1]] -> [x[1:], y]``; forecasts roll out frame by frame (``backbone.step`` when the
  backbone has one, e.g. ``convssm``/``convlstm``), so any horizon can be asked for.

The test stage logs ``test/mse`` (per pixel), ``test/mse_per_frame`` (OpenSTL: summed over the
pixels of a frame), ``test/mae``, ``test/mae_per_frame``, ``test/ssim``, ``test/psnr``, and puts the
per-target-frame ``test/mse@k`` and the copy-last-frame baseline (``test/mse_copy_last``, ...)
into ``extra_test_metrics``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from signalkit.errors import ConfigError
from signalkit.metrics.video import FrameForecastMetrics, copy_last_frame
from signalkit.models_video import rollout
from signalkit.tasks.base import BaseTask


class VideoForecastingTask(BaseTask):
    """Frame forecasting. Batches hold ``x (B, T_in, C, H, W)`` and ``y (B, T_out, C, H, W)``.

    Args (besides :class:`BaseTask`'s):
        mode: ``direct`` | ``recurrent`` (see the module docstring).
        loss: ``mse`` | ``l1``.
        data_range: value range of the frames for PSNR and SSIM (1.0 for frames in [0, 1]).
        horizon: test forecast length (default the data's ``T_out``); longer than the training
            horizon rolls the model out autoregressively.
        clamp: clamp test predictions to ``[0, data_range]`` before the metrics.
    """

    def __init__(
        self,
        model: dict,
        data_contract: dict | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.05,
        warmup_epochs: float = 1.0,
        freeze_backbone: bool = False,
        unfreeze_at_epoch: int | None = None,
        layer_decay: float = 1.0,
        nan_policy: str = "raise",
        mode: str = "direct",
        loss: str = "mse",
        data_range: float = 1.0,
        horizon: int | None = None,
        clamp: bool = True,
    ):
        if mode not in ("direct", "recurrent"):
            raise ConfigError(f"task.mode: expected direct or recurrent, got {mode!r}")
        if loss not in ("mse", "l1"):
            raise ConfigError(f"task.loss: expected mse or l1, got {loss!r}")
        super().__init__(model, data_contract, lr, weight_decay, warmup_epochs, freeze_backbone,
                         unfreeze_at_epoch, layer_decay, nan_policy)
        t_out = int((data_contract or {}).get("t_out") or model.get("head", {}).get("t_out") or 10)
        self.horizon = int(horizon or t_out)
        self.test_metrics = FrameForecastMetrics(self.horizon, data_range)
        self.copy_metrics = FrameForecastMetrics(self.horizon, data_range)
        self.extra_test_metrics: dict[str, float] = {}

    # ---------------------------------------------------------------- helpers
    def _loss(self, pred: Tensor, target: Tensor) -> Tensor:
        fn = F.mse_loss if self.hparams.loss == "mse" else F.l1_loss
        return fn(pred.float(), target.float())

    def _teacher_forced(self, batch: dict) -> tuple[Tensor, Tensor]:
        """Predictions and targets of one training/validation pass."""
        x, y = batch["x"], batch["y"]
        if self.hparams.mode == "direct":
            pred = self.model(batch)
            if pred.shape != y.shape:
                raise ConfigError(f"model.head.t_out: the model predicts {tuple(pred.shape)} but the targets "
                                  f"are {tuple(y.shape)}; set model.head.t_in/t_out to data.t_in/t_out")
            return pred, y
        seq = torch.cat([x, y[:, :-1]], 1)
        return self.model({**batch, "x": seq}), torch.cat([x[:, 1:], y], 1)

    def forecast(self, x: Tensor, horizon: int | None = None) -> Tensor:
        """Forecast ``horizon`` frames after ``x (B, T_in, C, H, W)`` -> ``(B, horizon, C, H, W)``."""
        was_training = self.model.training
        self.model.eval()
        out = rollout(self.model, x, int(horizon or self.horizon), self.hparams.mode)
        self.model.train(was_training)
        return out

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        pred, target = self._teacher_forced(batch)
        loss = self._loss(pred, target)
        if not self.check_loss(loss, batch):
            return None
        self.log("train/loss", loss, prog_bar=True, on_epoch=True, on_step=False, batch_size=len(target))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if self.hparams.mode == "direct":
            pred, target = self._teacher_forced(batch)
        else:  # free-running, as at test time
            target = batch["y"]
            pred = self.forecast(batch["x"], target.shape[1])
        n = len(target)
        self.log("val/loss", self._loss(pred, target), prog_bar=True, on_epoch=True, on_step=False, batch_size=n)
        self.log("val/mse", F.mse_loss(pred.float(), target.float()), on_epoch=True, on_step=False, batch_size=n)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        x, y = batch["x"], batch["y"]
        if y.shape[1] < self.horizon:
            raise ConfigError(f"task.horizon: {self.horizon} frames asked for but the data has t_out={y.shape[1]}")
        y = y[:, : self.horizon]
        pred = self.forecast(x, self.horizon)
        if self.hparams.clamp:
            pred = pred.clamp(0.0, self.hparams.data_range)
        self.test_metrics.update(pred, y)
        self.copy_metrics.update(copy_last_frame(x, self.horizon), y)
        self.log("test/loss", self._loss(pred, y), on_epoch=True, on_step=False, batch_size=len(y))

    def on_test_epoch_end(self) -> None:
        model = {k: float(v) for k, v in self.test_metrics.compute().items()}
        copy = {k: float(v) for k, v in self.copy_metrics.compute().items()}
        for k in ("mse", "mse_per_frame", "mae", "mae_per_frame", "ssim", "psnr"):
            self.log(f"test/{k}", model[k])
        extra = {f"test/{k}": v for k, v in model.items() if "@" in k}
        extra.update({f"test/{k}_copy_last": v for k, v in copy.items() if "@" not in k})
        extra.update({f"test/copy_last/{k}": v for k, v in copy.items() if "@" in k})
        extra["test/mse_ratio_to_copy_last"] = model["mse"] / max(copy["mse"], 1e-12)
        self.extra_test_metrics = extra
        self.test_metrics.reset()
        self.copy_metrics.reset()

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        return {"pred": self.forecast(batch["x"]), "y": batch.get("y")}
