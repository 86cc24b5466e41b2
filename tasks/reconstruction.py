"""``ReconstructionTask``: masked modelling (self-supervised pretraining) for every modality.

One step: tokens = tokenizer(batch) ``(B, D, *grid)``; a random or block mask ``(B, *grid)`` is
drawn over the token grid; masked tokens are zeroed and, through forward hooks on every
``backbone.blocks[i]`` (:class:`signalkit.tasks.masking.SparseMasking`), zeroed again after each block,
so large convolution kernels cannot leak visible content into masked positions (SparK). The
reconstruction head fills the masked positions with a mask token, decodes and maps back to signal
space with ``tokenizer.untokenize``. The loss is the mean squared error **in signal space, on
masked positions only** (and only on real channels where the batch has ``ch_mask``): easy to
check, independent of any target network, and the same for EEG, fMRI, weather and video.

What is predicted is ``target``: the signal itself (default), or, per token, its log band power
(``"logpower"``) or log power spectrum (``"logspec"``), standardised over the batch. For EEG the
signal's phase is unpredictable noise, so signal MSE learns little (masked NMSE 1.00 -> 0.96 and
no transfer); the band power of a masked token is predictable from its context and is what
motor-imagery decoders use. The recipe ``experiment=eeg/pretrain`` (``target=logpower``,
``target_band=[8, 30]``, ``sparse=false``, ``channel_subset=20``) lifts 19-channel fine-tuning
with 20 labelled trials per class from 0.51 (scratch) to 0.96 balanced accuracy
(``benchmarks/transfer.py``, 3 seeds). ``sparse=false`` lets the backbone fill masked tokens
from their context (the masked input is zero, so nothing of it leaks either way); with sparse
masking only the light decoder sees masked positions, and its 3-token kernel cannot reach the
inside of a masked block. ``channel_mask_ratio`` hides whole channels (spatial masking) and
``channel_subset`` trains on random channel subsets (montage augmentation).

``signal_dims`` says which dimension of ``batch["x"]`` each grid axis patches (``None`` for an
axis without one, such as the sensor tokenizer's virtual channels, which mix every sensor: the
mask is then shared along that axis so nothing of a masked time patch stays visible).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import torch
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection

from signalkit.errors import ConfigError
from signalkit.tasks.base import BaseTask, BaseTaskOptions
from signalkit.tasks.masking import (
    MASK_KINDS,
    SparseMasking,
    bernoulli_patch_mask,
    check_mask_ratio,
    make_mask,
    upsample_mask,
)
from signalkit.tasks.skill import SkillTask
from signalkit.tasks.targets import (  # noqa: F401  (public here too)
    TARGETS,
    _segments,
    logpower_target,
    logspec_target,
    spectral_loss,
    standardize,
)
from signalkit.tasks.volumes import time_first, time_patch, valid_mask_like
from signalkit.tasks.registry import TASKS



def default_signal_dims(tokenizer_cfg: dict, tokenizer) -> list[int | None] | None:
    """Grid axis -> signal dimension of a tokenizer (its ``mask_signal_dims`` attribute wins).

    Sensor tokenizer: time patches -> ``x`` dim 2; the second axis is the channels (dim 1) when
    ``virtual_channels=0``, else learned spatial filters mixing every channel (none).
    """
    dims = getattr(tokenizer, "mask_signal_dims", None)
    if dims is not None:
        return list(dims)
    if tokenizer_cfg.get("name") == "sensor":
        return [2, None] if getattr(tokenizer, "virtual_channels", 0) else [2, 1]
    return None


def subset_channels(batch: dict, k: int, generator: torch.Generator | None = None) -> dict:
    """The batch restricted to ``k`` random channels (one draw for the whole batch, original
    order kept; channels that are padding in every sample are never picked)."""
    x = batch["x"]
    if x.dim() != 3 or x.shape[1] <= k:
        return batch
    real = batch.get("ch_mask")
    any_real = torch.ones(x.shape[1], dtype=torch.bool) if real is None else real.bool().any(0).cpu()
    scores = torch.rand(x.shape[1], generator=generator).masked_fill(~any_real, 2.0)
    idx = scores.argsort()[:k].sort().values.to(x.device)
    return {key: (v.index_select(1, idx) if key in ("x", "pos", "ch_type", "ch_mask") and isinstance(v, Tensor)
                  and v.dim() >= 2 and v.shape[1] == x.shape[1] else v) for key, v in batch.items()}


def hide_channels(batch: dict, ratio: float, generator: torch.Generator | None = None) -> tuple[dict, Tensor]:
    """Hide ``round(ratio * n_real)`` random real channels per sample of a sensor batch.

    Returns ``(batch with those channels zeroed in x and False in ch_mask, hidden (B, C) bool)``;
    at least one real channel stays visible. The tokenizer never sees a hidden channel, so a
    model that reconstructs it must infer it from the other sensors (spatial structure).
    """
    x = batch["x"]
    b, c = x.shape[:2]
    real = batch.get("ch_mask")
    real = torch.ones(b, c, dtype=torch.bool, device=x.device) if real is None else real.bool()
    scores = torch.rand(b, c, generator=generator).to(x.device)
    scores = scores.masked_fill(~real, 2.0)  # padding is never picked
    n_real = real.sum(1)
    k = (n_real.float() * float(ratio)).round().long().clamp(min=1)
    k = torch.minimum(k, (n_real - 1).clamp(min=0))
    rank = scores.argsort(1).argsort(1)
    hidden = rank < k[:, None]
    out = dict(batch, x=x * (~hidden)[:, :, None].to(x.dtype), ch_mask=real & ~hidden)
    return out, hidden


@TASKS.register("reconstruction")
class ReconstructionTask(BaseTask):
    """Masked reconstruction; the model's head must be a reconstruction head.

    Args (besides :class:`BaseTask`'s):
        mask: ``"random"`` (single tokens) or ``"block"`` (contiguous blocks of ``mask_block``).
        mask_ratio: fraction of (free) token positions masked per sample.
        mask_block: block size per grid axis (an int for all axes).
        signal_dims: signal dimension of each grid axis (see module docstring); ``None`` takes
            :func:`default_signal_dims`.
        sparse: re-apply the mask after every backbone block (recommended for conv backbones).
        spectral_weight: weight of an extra phase-invariant term, the squared error of the
            log power spectra of masked patches along the first grid axis's signal dimension
            (time): band power is predictable from context where phase is not.
        target: what the head predicts at masked positions (all computed from the unmasked
            ``x`` along the first grid axis's signal dimension, one token = one patch):

            - ``"signal"``: the signal itself (MSE in signal space).
            - ``"logpower"``: log mean power of each token (of ``x`` band-passed to
              ``target_band`` Hz when given), constant within the token. Carries the band-power
              (ERD/ERS) information that decoders use; unlike the phase of ongoing noise and
              oscillations it is predictable from context, so the model must learn it.
            - ``"logspec"``: log power spectrum of each token (Hann window); the first
              ``patch // 2 + 1`` outputs of a token predict its frequency bins.
        target_band: ``[lo, hi]`` Hz for ``target="logpower"`` (``None``: broadband); needs
            ``sfreq`` (taken from ``data_contract["sfreq"]`` when not given).
        sfreq: sampling rate in Hz for ``target_band``.
        channel_mask_ratio: fraction of the real channels of a sensor batch hidden from the
            tokenizer per sample (spatial masking: zeroed and removed from ``ch_mask``); the
            loss also covers the hidden channels over the whole window, so the model must infer
            a sensor from the others, which is the structure that carries over to new montages.
        channel_subset: each step sees only this many randomly chosen channels of a sensor
            batch (one draw per batch; ``None``: all). A montage augmentation that also makes
            steps on dense montages cheaper (64 -> 24 channels: ~2.7x fewer tokens).
    """

    def __init__(
        self,
        *,
        mask: str = "block",
        mask_ratio: float = 0.5,
        mask_block: int | list[int] = 4,
        signal_dims: list[int | None] | None = None,
        sparse: bool = True,
        spectral_weight: float = 0.0,
        target: str = "signal",
        target_band: list[float] | None = None,
        sfreq: float | None = None,
        channel_mask_ratio: float = 0.0,
        channel_subset: int | None = None,
        **base: Unpack[BaseTaskOptions],
    ):
        super().__init__(**base)
        model, data_contract = self.hparams.model, self.hparams.data_contract
        if mask not in MASK_KINDS:
            raise ConfigError(f"task.mask: expected one of {', '.join(MASK_KINDS)}, got {mask!r}")
        check_mask_ratio(mask_ratio)
        if not callable(getattr(self.model.tokenizer, "untokenize", None)):
            raise ConfigError(f"model.tokenizer: {model['tokenizer']['name']!r} has no untokenize(); "
                              "masked reconstruction needs one")
        if signal_dims is None:
            signal_dims = default_signal_dims(model["tokenizer"], self.model.tokenizer)
        if signal_dims is None:
            raise ConfigError(f"task.signal_dims: unknown for tokenizer {model['tokenizer']['name']!r}; "
                              "give the dimension of batch x that each token-grid axis patches")
        ndim = int(self.model.tokenizer.grid_ndim)
        if len(signal_dims) != ndim:
            raise ConfigError(f"task.signal_dims: {len(signal_dims)} entries for a {ndim}-axis token grid")
        self.signal_dims = [None if d is None else int(d) for d in signal_dims]
        self.shared_axes = [i for i, d in enumerate(self.signal_dims) if d is None]
        self.sparse = SparseMasking(self.model.backbone) if sparse else None
        if spectral_weight and self.signal_dims[0] is None:
            raise ConfigError("task.spectral_weight: the first token-grid axis has no signal dimension")
        if target not in TARGETS:
            raise ConfigError(f"task.target: expected one of {', '.join(TARGETS)}, got {target!r}")
        if target != "signal" and self.signal_dims[0] is None:
            raise ConfigError("task.target: the first token-grid axis has no signal dimension")
        if target_band is not None:
            if target != "logpower":
                raise ConfigError("task.target_band: only used with target=logpower")
            if len(target_band) != 2 or not 0 <= float(target_band[0]) < float(target_band[1]):
                raise ConfigError(f"task.target_band: expected [lo, hi] Hz with lo < hi, got {target_band}")
            sfreq = sfreq if sfreq is not None else (data_contract or {}).get("sfreq")
            if not sfreq:
                raise ConfigError("task.sfreq: needed for task.target_band (not in the data contract either)")
        self.sfreq = float(sfreq) if sfreq else None
        if not 0.0 <= float(channel_mask_ratio) < 1.0:
            raise ConfigError(f"task.channel_mask_ratio: expected a number in [0, 1), got {channel_mask_ratio}")
        if channel_subset is not None and int(channel_subset) < 2:
            raise ConfigError(f"task.channel_subset: expected at least 2 channels or null, got {channel_subset}")

    def configure_metrics(self) -> MetricCollection:
        """``loss`` and ``nmse`` (masked MSE over the trivial predictor's), averaged over samples."""
        return MetricCollection({"loss": MeanMetric(), "nmse": MeanMetric()}, compute_groups=False)

    # ------------------------------------------------------------------ core
    def draw_mask(self, batch_size: int, grid: Sequence[int], generator: torch.Generator | None = None) -> Tensor:
        """A bool token mask ``(B, *grid)`` following the task's settings."""
        return make_mask(self.hparams.mask, batch_size, grid, float(self.hparams.mask_ratio),
                         self.hparams.mask_block, self.shared_axes, generator)

    def reconstruct(self, batch: dict, mask: Tensor | None = None,
                    generator: torch.Generator | None = None,
                    hidden: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``(prediction like x, token mask (B, *grid), signal-space weight broadcastable to x)``.

        ``hidden (B, C)``: channels hidden from the tokenizer (drawn when
        ``channel_mask_ratio > 0`` and not given); the weight then also covers them.
        """
        x = batch["x"]
        ratio = float(self.hparams.channel_mask_ratio)
        seen = batch
        if hidden is None and ratio > 0 and x.dim() == 3:
            seen, hidden = hide_channels(batch, ratio, generator)
        elif hidden is not None:
            real = batch.get("ch_mask")
            real = torch.ones_like(hidden) if real is None else real.bool()
            seen = dict(batch, x=x * (~hidden)[:, :, None].to(x.dtype), ch_mask=real & ~hidden)
        tokens = self.model.tokenizer(seen)
        if mask is None:
            mask = self.draw_mask(x.shape[0], tokens.shape[2:], generator)
        mask = mask.to(tokens.device)
        if hidden is not None and 1 in self.signal_dims:  # channels are a grid axis: mask their tokens
            axis = self.signal_dims.index(1)
            shape = [x.shape[0]] + [1] * (mask.dim() - 1)
            shape[axis + 1] = x.shape[1]
            mask = mask | hidden.view(shape)
        keep = (~mask)[:, None].to(tokens.dtype)
        if self.sparse is not None:
            with self.sparse.active(keep):
                feats = self.model.backbone(tokens * keep)
        else:
            feats = self.model.backbone(tokens * keep)
        pred = self.model.head(feats, {**seen, "mask": mask})
        weight = upsample_mask(mask, x.shape, self.signal_dims).to(x.dtype)
        if hidden is not None:
            weight = torch.maximum(weight.expand(*x.shape[:2], *weight.shape[2:]),
                                   hidden.to(x.dtype).view(*hidden.shape, *([1] * (x.dim() - 2))))
        if "ch_mask" in batch and x.dim() == 3:
            weight = weight * batch["ch_mask"][:, :, None].to(x.dtype)
        return pred, mask, weight

    def target(self, x: Tensor, patch: int) -> tuple[Tensor, Tensor | None]:
        """``(target like x, valid weight like x or None)`` for the task's ``target``."""
        kind = self.hparams.target
        if kind == "signal":
            return x.float(), None
        dim = int(self.signal_dims[0])
        if kind == "logpower":
            target, valid = logpower_target(x, dim, patch, self.sfreq, self.hparams.target_band), None
        else:
            target, valid = logspec_target(x, dim, patch)
        return standardize(target, dim, patch, valid), valid

    def _patch(self, x: Tensor, mask: Tensor) -> int:
        dim = self.signal_dims[0]
        return -(-x.shape[dim] // mask.shape[1]) if dim is not None else 1

    def _step(self, batch: dict, stage: str, batch_idx: int) -> Tensor | None:
        gen = None if stage == "train" else torch.Generator().manual_seed(10_000 + batch_idx)
        if self.hparams.channel_subset:
            batch = subset_channels(batch, int(self.hparams.channel_subset), gen)
        pred, mask, weight = self.reconstruct(batch, generator=gen)
        x = batch["x"]
        patch = self._patch(x, mask)
        target, valid = self.target(x, patch)
        w = weight.expand_as(x).float()
        if valid is not None:
            w = w * valid
        denom = w.sum().clamp(min=1.0)
        mse = (((pred.float() - target) ** 2) * w).sum() / denom
        loss = mse
        if self.hparams.spectral_weight:
            dim = int(self.signal_dims[0])
            spec = spectral_loss(pred, x, w, dim, patch)
            loss = mse + float(self.hparams.spectral_weight) * spec
            self.log(f"{stage}/spectral", spec, on_epoch=True, on_step=False, batch_size=x.shape[0])
        if stage == "train" and not self.check_loss(loss, batch):
            return None
        n = x.shape[0]
        # masked MSE relative to the trivial predictor (< 1 = learned something): zeros for the
        # signal (the normalised signal's mean), else the best constant per within-token position
        metrics = self.metrics_for(stage)
        metrics["loss"].update(loss.detach(), n)
        metrics["nmse"].update((mse / self.trivial_mse(target, w, patch).clamp(min=1e-12)).detach(), n)
        self.log(f"{stage}/loss", metrics["loss"], prog_bar=stage != "test", on_epoch=True, on_step=False,
                 batch_size=n)
        self.log(f"{stage}/nmse", metrics["nmse"], on_epoch=True, on_step=False, batch_size=n)
        return loss

    def trivial_mse(self, target: Tensor, w: Tensor, patch: int) -> Tensor:
        """Masked MSE of the trivial predictor of ``target`` (see :meth:`_step`)."""
        denom = w.sum().clamp(min=1.0)
        if self.hparams.target == "signal":
            return ((target ** 2) * w).sum() / denom
        dim = int(self.signal_dims[0])
        t, ww = _segments(target, dim, patch), _segments(w, dim, patch)
        dims = tuple(range(t.dim() - 1))
        mean = (t * ww).sum(dims) / ww.sum(dims).clamp(min=1e-12)
        return (((t - mean) ** 2) * ww).sum() / denom

    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        return self._step(batch, "train", batch_idx)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val", batch_idx)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test", batch_idx)

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        pred, mask, weight = self.reconstruct(batch, generator=torch.Generator().manual_seed(batch_idx))
        return {"reconstruction": pred, "mask": mask, "weight": weight}


@TASKS.register("fmri_reconstruction")
class FMRIReconstructionTask(SkillTask):
    """Masked reconstruction of fMRI voxels (or regions) in signal space.

    Hides ``mask_ratio`` of the patches (:func:`signalkit.tasks.masking.bernoulli_patch_mask` on
    the tokenizer's patch grid: time patch x 3-D patch for volumes ``x (B, T, X, Y, Z)``, time
    patch x region for regions ``x (B, R, T)``), sets the hidden signal to 0 and takes the MSE on
    hidden brain voxels only. Metrics on the same hidden voxels: ``mse``, the baselines
    ``mse_voxel_mean`` (predict each voxel's temporal mean over its run) and ``mse_global_mean``
    (predict the run's mean over the brain), and ``skill = 1 - mse / mse_voxel_mean``. The
    baselines come from the data's run statistics (the stage dataset's ``run_baselines(rec)``),
    not from the batch; without them (regions, no trainer) both predict 0, the run mean of
    z-scored signals.
    """

    METRICS = ("mse", "mse_voxel_mean", "mse_global_mean")
    BASELINE = "mse_voxel_mean"

    def __init__(self, *, mask_ratio: float = 0.5, **base: Unpack[BaseTaskOptions]):
        check_mask_ratio(mask_ratio)
        super().__init__(**base)

    def complete_model_config(self, model: dict, data_contract: dict | None) -> None:
        tok = model.get("tokenizer", {})
        if tok.get("grid") == "space" and tok.get("time_patch") is None:  # fold the whole window
            tok["time_patch"] = int((data_contract or {}).get("n_frames") or 1)

    def run_baselines(self, batch: dict, stage: str) -> tuple[Tensor | None, Tensor | None]:
        """``(voxel mean (B, X, Y, Z), run mean (B,))`` of the batch's runs from the stage's dataset."""
        loaders = None
        if self._trainer is not None and "rec" in batch:
            loaders = {"train": lambda: self.trainer.train_dataloader, "val": lambda: self.trainer.val_dataloaders,
                       "test": lambda: self.trainer.test_dataloaders}[stage]()
        loader = loaders[0] if isinstance(loaders, (list, tuple)) and loaders else loaders
        ds = getattr(loader, "dataset", None)
        base = ds.run_baselines(batch["rec"].cpu()) if callable(getattr(ds, "run_baselines", None)) else None
        if base is None:
            return None, None
        return base[0].to(batch["x"].device), base[1].to(batch["x"].device)

    def signal_mask(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Bool mask shaped like ``x`` (True = hidden), constant over each patch."""
        tok = self.model.tokenizer
        tp = time_patch(tok)
        patch = (tp, *tok.patch_size) if x.dim() == 5 else (1, tp)
        return bernoulli_patch_mask(x.shape, patch, float(self.hparams.mask_ratio), generator).to(x.device)

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
        metrics = self.metrics_for(stage)
        metrics["mse"].update(p.detach(), target)
        tx = time_first(x)
        vmean, gmean = self.run_baselines(batch, stage)
        vmean = vmean[:, None].expand_as(tx) if vmean is not None else torch.zeros_like(tx)
        gmean = gmean if gmean is not None else torch.zeros(x.shape[0], device=x.device)
        gmean = gmean.to(tx.dtype).view(-1, *[1] * (tx.dim() - 1)).expand_as(tx)
        metrics["mse_voxel_mean"].update(vmean[sel].float(), target)
        metrics["mse_global_mean"].update(gmean[sel].float(), target)
        self._log(stage, loss, x.shape[0])
        return loss
