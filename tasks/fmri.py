"""fMRI tasks: masked reconstruction, next-frame forecasting and decoding with an FC baseline.

Batches come from :class:`signalkit.datamodules.fmri.FMRIDataModule`: volumes ``x (B, T, X, Y, Z)``
with ``voxel_mask (B, X, Y, Z)``, or regions ``x (B, R, T)`` with ``pos``/``ch_type``/``ch_mask``.
Both signal-space tasks use a model whose head returns the input's layout (``unpatch`` head).
Signals are z-scored per voxel within each run (``data.normalize=run``), so the run's voxel mean
is 0: the reconstruction baseline "predict the voxel mean" is the prediction 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import MeanSquaredError, MetricCollection

from signalkit.errors import ConfigError
from signalkit.tasks.base import BaseTask
from signalkit.tasks.decoding import DecodingTask


def time_first(x: Tensor) -> Tensor:
    """``(B, T, X, Y, Z)`` stays; region ``(B, R, T)`` -> ``(B, T, R)``."""
    return x if x.dim() == 5 else x.transpose(1, 2)


def valid_mask(batch: dict, like: Tensor) -> Tensor:
    """Bool mask broadcastable to time-first ``like``: brain voxels or real regions."""
    if "voxel_mask" in batch:
        return batch["voxel_mask"][:, None].to(torch.bool).expand_as(like)
    if "ch_mask" in batch:
        return batch["ch_mask"][:, None].to(torch.bool).expand_as(like)
    return torch.ones_like(like, dtype=torch.bool)


def _time_patch(tokenizer) -> int:
    return int(getattr(tokenizer, "time_patch", None) or getattr(tokenizer, "patch_size", 1))


def _mse_pair(names: tuple[str, ...]) -> MetricCollection:
    # separate updates per metric: no compute groups (they would share states)
    return MetricCollection({n: MeanSquaredError() for n in names}, compute_groups=False)


class _SignalTask(BaseTask):
    """Shared per-stage metric handling (one collection per stage, logged at epoch end)."""

    METRICS: tuple[str, ...] = ()
    BASELINE = ""

    def _init_metrics(self) -> None:
        base = _mse_pair(self.METRICS)
        self.stage_metrics = torch.nn.ModuleDict({f"{s}_": base.clone(prefix=f"{s}/") for s in ("train", "val", "test")})

    def _log(self, stage: str, loss: Tensor, n: int) -> None:
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", on_epoch=True, on_step=False, batch_size=n)

    def _epoch_end(self, stage: str) -> None:
        metrics = self.stage_metrics[f"{stage}_"]
        values = metrics.compute()
        mse, base = values[f"{stage}/mse"], values[f"{stage}/{self.BASELINE}"]
        self.log(f"{stage}/skill", 1.0 - mse / base.clamp(min=1e-12))
        self.log_dict(values)
        metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._epoch_end("train")

    def on_validation_epoch_end(self) -> None:
        self._epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test")

    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")


class FMRIReconstructionTask(_SignalTask):
    """Masked reconstruction of voxels (or regions): hide ``mask_ratio`` of the patches, predict them.

    The mask is drawn on the tokenizer's patch grid (time patch x 3-D patch for volumes, time
    patch x region for regions), the hidden signal is set to 0 and the loss is the MSE on hidden
    brain voxels only. Metrics on the same hidden voxels: ``mse``, the baselines ``mse_voxel_mean``
    (predict each voxel's temporal mean over its run, ``batch["voxel_mean"]``) and
    ``mse_global_mean`` (predict the run's mean over the brain, ``batch["global_mean"]``), and
    ``skill = 1 - mse / mse_voxel_mean``. Without those batch keys (regions) both baselines
    predict 0, the run mean of z-scored signals.
    """

    METRICS = ("mse", "mse_voxel_mean", "mse_global_mean")
    BASELINE = "mse_voxel_mean"

    def __init__(self, model: dict, data_contract: dict | None = None, lr: float = 1e-3,
                 weight_decay: float = 0.05, warmup_epochs: float = 1.0, freeze_backbone: bool = False,
                 unfreeze_at_epoch: int | None = None, layer_decay: float = 1.0, nan_policy: str = "raise",
                 mask_ratio: float = 0.5):
        tok = model.get("tokenizer", {})
        if tok.get("grid") == "space" and tok.get("time_patch") is None:  # fold the whole window
            tok["time_patch"] = int((data_contract or {}).get("n_frames") or 1)
        super().__init__(model, data_contract, lr, weight_decay, warmup_epochs, freeze_backbone,
                         unfreeze_at_epoch, layer_decay, nan_policy)
        if not 0.0 < mask_ratio < 1.0:
            raise ConfigError(f"task.mask_ratio: expected a number in (0, 1), got {mask_ratio}")
        self._init_metrics()

    def signal_mask(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Bool mask shaped like ``x`` (True = hidden), constant over each patch."""
        tok = self.model.tokenizer
        tp = _time_patch(tok)
        if x.dim() == 5:
            b, t, *space = x.shape
            ps = tok.patch_size
            grid = (math.ceil(t / tp), *(math.ceil(n / p) for n, p in zip(space, ps)))
            m = torch.rand(b, *grid, generator=generator, device="cpu") < self.hparams.mask_ratio
            for axis, rep in zip(range(1, 5), (tp, *ps)):
                m = m.repeat_interleave(rep, dim=axis)
            m = m[:, :t, :space[0], :space[1], :space[2]]
        else:
            b, c, t = x.shape
            m = torch.rand(b, c, math.ceil(t / tp), generator=generator) < self.hparams.mask_ratio
            m = m.repeat_interleave(tp, dim=2)[..., :t]
        return m.to(x.device)

    def _step(self, batch: dict, stage: str) -> Tensor | None:
        x = batch["x"]
        # training draws fresh masks; evaluation hides the same patches of a batch every time
        gen = None if stage == "train" else torch.Generator().manual_seed(int(batch["rec"].sum()) * 7919 + x.shape[0])
        hidden = self.signal_mask(x, gen)
        pred = self.model({**batch, "x": x.masked_fill(hidden, 0.0)})
        sel = time_first(hidden & valid_mask_like(batch, x))
        p, target = time_first(pred)[sel].float(), time_first(x)[sel].float()
        if p.numel() == 0:
            return None
        loss = torch.nn.functional.mse_loss(p, target)
        if stage == "train" and not self.check_loss(loss, batch):
            return None
        metrics = self.stage_metrics[f"{stage}_"]
        metrics["mse"].update(p.detach(), target)
        tx = time_first(x)
        vmean = batch["voxel_mean"][:, None].expand_as(tx) if "voxel_mean" in batch else torch.zeros_like(tx)
        gmean = batch.get("global_mean", torch.zeros(x.shape[0], device=x.device))
        gmean = gmean.to(tx.dtype).view(-1, *[1] * (tx.dim() - 1)).expand_as(tx)
        metrics["mse_voxel_mean"].update(vmean[sel].float(), target)
        metrics["mse_global_mean"].update(gmean[sel].float(), target)
        self._log(stage, loss, x.shape[0])
        return loss


def valid_mask_like(batch: dict, x: Tensor) -> Tensor:
    """:func:`valid_mask` in ``x``'s own layout."""
    return time_first(valid_mask(batch, time_first(x)))


class FMRIForecastingTask(_SignalTask):
    """Next-frame forecasting with a causal backbone (teacher forcing over the window).

    Output position ``t`` predicts frame ``t + s`` (``s`` = the tokenizer's time patch); the loss
    is the MSE over every position of the window (targets from the window and ``y``, the frames
    after it). Metrics on the true forecast (the ``s`` frames after the window): ``mse``,
    ``mse_persistence`` (repeat the last frame) and ``skill = 1 - mse / mse_persistence``.
    """

    METRICS = ("mse", "mse_persistence")
    BASELINE = "mse_persistence"

    def __init__(self, model: dict, data_contract: dict | None = None, lr: float = 1e-3,
                 weight_decay: float = 0.05, warmup_epochs: float = 1.0, freeze_backbone: bool = False,
                 unfreeze_at_epoch: int | None = None, layer_decay: float = 1.0, nan_policy: str = "raise"):
        if not model.get("causal", False):
            raise ConfigError("model.causal: forecasting needs a causal backbone (set model.causal=true)")
        super().__init__(model, data_contract, lr, weight_decay, warmup_epochs, freeze_backbone,
                         unfreeze_at_epoch, layer_decay, nan_policy)
        self._init_metrics()

    def _step(self, batch: dict, stage: str) -> Tensor | None:
        x, y = time_first(batch["x"]), time_first(batch["y"])
        s, t = _time_patch(self.model.tokenizer), x.shape[1]
        if y.shape[1] < s or t % s:
            raise ConfigError(f"data.horizon: forecasting needs horizon >= {s} and a window that is a "
                              f"multiple of {s} frames (got horizon {y.shape[1]}, window {t})")
        pred = time_first(self.model(batch))
        target = torch.cat([x, y[:, :s]], dim=1)[:, s:]
        valid = valid_mask(batch, target)
        loss = torch.nn.functional.mse_loss(pred[valid].float(), target[valid].float())
        if stage == "train" and not self.check_loss(loss, batch):
            return None
        last = valid[:, t - s:]
        future = y[:, :s][last].float()
        metrics = self.stage_metrics[f"{stage}_"]
        metrics["mse"].update(pred[:, t - s:][last].detach().float(), future)
        metrics["mse_persistence"].update(x[:, -1:].expand_as(y[:, :s])[last].float(), future)
        self._log(stage, loss, x.shape[0])
        return loss

    @torch.no_grad()
    def forecast(self, batch: dict, steps: int) -> Tensor:
        """Autoregressive rollout: ``steps`` frames after the window, time-first ``(B, steps, ...)``."""
        x = time_first(batch["x"])
        s, t = _time_patch(self.model.tokenizer), x.shape[1]
        out = []
        while sum(o.shape[1] for o in out) < steps:
            win = x if x.dim() == 5 else x.transpose(1, 2)
            nxt = time_first(self.model({**batch, "x": win}))[:, t - s:]
            out.append(nxt)
            x = torch.cat([x, nxt], dim=1)[:, -t:]
        return torch.cat(out, dim=1)[:, :steps]


class FMRIDecodingTask(DecodingTask):
    """:class:`DecodingTask` on fMRI windows, plus the functional-connectivity baseline.

    With ``fc_baseline=True`` and a store holding ``region_signal`` (ingest with ``atlas=``), the
    test epoch also fits the FC + logistic-regression baseline (:mod:`signalkit.baselines.fc`) on
    the training windows and reports ``test/fc_accuracy`` and ``test/fc_balanced_accuracy`` in
    ``extra_test_metrics`` (written to ``metrics.json`` beside the model's).
    """

    def __init__(self, model: dict, data_contract: dict | None = None, lr: float = 1e-3,
                 weight_decay: float = 0.05, warmup_epochs: float = 1.0, freeze_backbone: bool = False,
                 unfreeze_at_epoch: int | None = None, layer_decay: float = 1.0, nan_policy: str = "raise",
                 class_weights: list[float] | None = None, label_smoothing: float = 0.0,
                 fc_baseline: bool = True):
        super().__init__(model, data_contract, lr, weight_decay, warmup_epochs, freeze_backbone,
                         unfreeze_at_epoch, layer_decay, nan_policy, class_weights, label_smoothing)
        self.extra_test_metrics: dict[str, float] = {}

    def on_test_epoch_end(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        if not self.hparams.fc_baseline or dm is None or not hasattr(dm, "fc_baseline"):
            return
        result = dm.fc_baseline()
        if result:
            self.extra_test_metrics = {f"test/fc_{k}": v for k, v in result.items()}
