"""``VideoForecastingTask``: predict future frames; OpenSTL-compatible metrics and baselines.

Modes:

* ``direct`` (SimVP pattern): the model maps ``x (B, T_in, C, H, W)`` to ``(B, T_out, C, H, W)``.
* ``recurrent``: a causal next-frame model trained with teacher forcing on
  ``[x, y[:-1]] -> [x[1:], y]``; forecasts roll out frame by frame (``backbone.step`` when the
  backbone has one, e.g. ``convssm``/``convlstm``), so any horizon can be asked for.

Both roll out through :func:`forecast_frames`, i.e. the one
:func:`signalkit.tasks.forecasting.rollout`.

The test stage logs ``test/mse``, ``test/mae`` (per pixel), ``test/ssim`` (torchmetrics' Gaussian
SSIM, not OpenSTL's) and ``test/psnr`` on the predictions clamped to ``[0, data_range]`` (``clamp``),
``test/mse_per_frame_openstl`` and ``test/mae_per_frame_openstl`` (OpenSTL's MSE/MAE: summed over
the pixels of a frame, averaged over frames) on the unclamped predictions, as OpenSTL computes
them, and puts the
per-target-frame ``test/mse@k`` and the copy-last-frame baseline (``test/mse_copy_last``, ...)
into ``extra_test_metrics``.
"""

from __future__ import annotations

from typing import Unpack

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MeanMetric, MeanSquaredError, MetricCollection

from signalkit.errors import ConfigError
from signalkit.metrics.video import FrameForecastMetrics, copy_last_frame
from signalkit.tasks.base import BaseTask, BaseTaskOptions
from signalkit.tasks.forecasting import rollout
from signalkit.tasks.registry import TASKS


def _has_step(model: nn.Module) -> bool:
    bb = model.backbone
    return callable(getattr(bb, "step", None)) and bool(getattr(bb, "causal", False))


@torch.no_grad()
def forecast_frames(model: nn.Module, x: Tensor, horizon: int, mode: str = "direct",
                    t_out: int | None = None) -> Tensor:
    """Forecast ``horizon`` frames after ``x (B, T_in, C, H, W)`` -> ``(B, horizon, C, H, W)``.

    Through :func:`signalkit.tasks.forecasting.rollout`. ``direct``: the model maps its last
    ``T_in`` frames to ``t_out`` frames; repeated on its own output until ``horizon`` frames exist.
    ``recurrent``: a causal next-frame model; the whole sequence so far is fed back and its last
    output appended, or, where the backbone has ``step`` (``convssm``, ``convlstm``), one frame at
    a time at constant memory (tokenizer, ``backbone.step`` and head per frame).
    """
    if mode == "direct":
        return rollout(lambda win, i: model({"x": win}), x, horizon, keep=x.shape[1])
    if mode != "recurrent":
        raise ConfigError(f"task.mode: expected direct or recurrent, got {mode!r}")
    if not _has_step(model):
        return rollout(lambda win, i: model({"x": win})[:, -1:], x, horizon)
    state = None

    def advance(frame: Tensor, with_head: bool = True) -> Tensor | None:
        nonlocal state
        batch = {"x": frame}
        tok = model.tokenizer(batch)[:, :, 0]  # (B, D, h, w)
        feat, state = model.backbone.step(tok, state)
        return model.head(feat.unsqueeze(2), batch) if with_head else None

    for t in range(x.shape[1] - 1):  # warm the state up on the input frames
        advance(x[:, t:t + 1], with_head=False)
    return rollout(lambda win, i: advance(win), x[:, -1:], horizon, keep=1)


@TASKS.register("video_forecasting")
class VideoForecastingTask(BaseTask):
    """Frame forecasting. Batches hold ``x (B, T_in, C, H, W)`` and ``y (B, T_out, C, H, W)``.

    Args (besides :class:`BaseTask`'s):
        mode: ``direct`` | ``recurrent`` (see the module docstring).
        loss: ``mse`` | ``l1``.
        data_range: value range of the frames for PSNR and SSIM (1.0 for frames in [0, 1]).
        horizon: test forecast length (default the data's ``T_out``); longer than the training
            horizon rolls the model out autoregressively.
        clamp: clamp test predictions to ``[0, data_range]`` before the per-pixel metrics, SSIM and
            PSNR (never before ``mse_per_frame_openstl``/``mae_per_frame_openstl``, which OpenSTL
            computes on unclamped outputs).
    """

    def __init__(
        self,
        *,
        mode: str = "direct",
        loss: str = "mse",
        data_range: float = 1.0,
        horizon: int | None = None,
        clamp: bool = True,
        **base: Unpack[BaseTaskOptions],
    ):
        if mode not in ("direct", "recurrent"):
            raise ConfigError(f"task.mode: expected direct or recurrent, got {mode!r}")
        if loss not in ("mse", "l1"):
            raise ConfigError(f"task.loss: expected mse or l1, got {loss!r}")
        super().__init__(**base)
        model, data_contract = self.hparams.model, self.hparams.data_contract
        t_out = int((data_contract or {}).get("t_out") or model.get("head", {}).get("t_out") or 10)
        self.horizon = int(horizon or t_out)
        self.test_metrics = FrameForecastMetrics(self.horizon, data_range)
        self.copy_metrics = FrameForecastMetrics(self.horizon, data_range)
        self.openstl_metrics = FrameForecastMetrics(self.horizon, data_range, ssim=False)  # unclamped
        self.extra_test_metrics: dict[str, float] = {}

    def configure_metrics(self) -> MetricCollection:
        """``loss`` (per-sample mean over the epoch) and ``mse`` (per pixel) of each stage's
        predictions: teacher-forced in training, free-running in validation for ``recurrent``
        (the test stage's OpenSTL metrics come from :class:`FrameForecastMetrics`)."""
        return MetricCollection({"loss": MeanMetric(), "mse": MeanSquaredError()}, compute_groups=False)

    def _score(self, stage: str, pred: Tensor, target: Tensor, loss: Tensor) -> None:
        metrics, n = self.metrics_for(stage), len(target)
        metrics["loss"].update(loss.detach(), n)
        self.log(f"{stage}/loss", metrics["loss"], prog_bar=stage != "test", on_epoch=True, on_step=False,
                 batch_size=n)
        if stage != "test":  # test/mse is FrameForecastMetrics'
            metrics["mse"].update(pred.detach().float(), target.float())
            self.log(f"{stage}/mse", metrics["mse"], on_epoch=True, on_step=False, batch_size=n)

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
        out = forecast_frames(self.model, x, int(horizon or self.horizon), self.hparams.mode)
        self.model.train(was_training)
        return out

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        pred, target = self._teacher_forced(batch)
        loss = self._loss(pred, target)
        if not self.check_loss(loss, batch):
            return None
        self._score("train", pred, target, loss)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if self.hparams.mode == "direct":
            pred, target = self._teacher_forced(batch)
        else:  # free-running, as at test time
            target = batch["y"]
            pred = self.forecast(batch["x"], target.shape[1])
        self._score("val", pred, target, self._loss(pred, target))

    def test_step(self, batch: dict, batch_idx: int) -> None:
        x, y = batch["x"], batch["y"]
        if y.shape[1] < self.horizon:
            raise ConfigError(f"task.horizon: {self.horizon} frames asked for but the data has t_out={y.shape[1]}")
        y = y[:, : self.horizon]
        pred = self.forecast(x, self.horizon)
        self.openstl_metrics.update(pred, y)
        if self.hparams.clamp:
            pred = pred.clamp(0.0, self.hparams.data_range)
        self.test_metrics.update(pred, y)
        self.copy_metrics.update(copy_last_frame(x, self.horizon), y)
        self._score("test", pred, y, self._loss(pred, y))

    def on_test_epoch_end(self) -> None:
        model = {k: float(v) for k, v in self.test_metrics.compute().items()}
        copy = {k: float(v) for k, v in self.copy_metrics.compute().items()}
        openstl = {k: float(v) for k, v in self.openstl_metrics.compute().items()}
        for k in ("mse", "mae", "ssim", "psnr"):
            self.log(f"test/{k}", model[k])
        for k in ("mse_per_frame_openstl", "mae_per_frame_openstl"):
            self.log(f"test/{k}", openstl[k])
        extra = {f"test/{k}": v for k, v in model.items() if "@" in k}
        extra.update({f"test/{k}_copy_last": v for k, v in copy.items() if "@" not in k})
        extra.update({f"test/copy_last/{k}": v for k, v in copy.items() if "@" in k})
        extra["test/mse_ratio_to_copy_last"] = model["mse"] / max(copy["mse"], 1e-12)
        self.extra_test_metrics = extra
        self.test_metrics.reset()
        self.copy_metrics.reset()
        self.openstl_metrics.reset()

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        return {"pred": self.forecast(batch["x"]), "y": batch.get("y")}
