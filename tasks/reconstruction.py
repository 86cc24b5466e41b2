"""``ReconstructionTask``: masked modelling (self-supervised pretraining) for every modality.

One step: tokens = tokenizer(batch) ``(B, D, *grid)``; a random or block mask ``(B, *grid)`` is
drawn over the token grid; masked tokens are zeroed and, through forward hooks on every
``backbone.blocks[i]`` (:class:`signalkit.masking.SparseMasking`), zeroed again after each block,
so large convolution kernels cannot leak visible content into masked positions (SparK). The
reconstruction head fills the masked positions with a mask token, decodes and maps back to signal
space with ``tokenizer.untokenize``. The loss is the mean squared error **in signal space, on
masked positions only** (and only on real channels where the batch has ``ch_mask``): easy to
check, independent of any target network, and the same for EEG, fMRI, weather and video.

``signal_dims`` says which dimension of ``batch["x"]`` each grid axis patches (``None`` for an
axis without one, such as the sensor tokenizer's virtual channels, which mix every sensor: the
mask is then shared along that axis so nothing of a masked time patch stays visible).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from signalkit.errors import ConfigError
from signalkit.masking import MASK_KINDS, SparseMasking, make_mask, upsample_mask
from signalkit.tasks.base import BaseTask



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


def spectral_loss(pred: Tensor, x: Tensor, weight: Tensor, dim: int, patch: int, eps: float = 1e-2) -> Tensor:
    """Weighted squared error of log power spectra of ``patch``-sample segments along ``dim``.

    ``pred``, ``x`` and ``weight`` share a shape; ``weight`` is constant within each segment (a
    token mask) and picks the segments that count.
    """
    def segments(t: Tensor) -> Tensor:
        t = t.float().movedim(dim, -1)
        pad = (-t.shape[-1]) % patch
        return F.pad(t, (0, pad)).unflatten(-1, (-1, patch))

    w = segments(weight)[..., 0]
    sx = torch.log(torch.fft.rfft(segments(x), dim=-1).abs().pow(2) + eps)
    sp = torch.log(torch.fft.rfft(segments(pred), dim=-1).abs().pow(2) + eps)
    return (((sx - sp) ** 2).mean(-1) * w).sum() / w.sum().clamp(min=1.0)


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
        mask: str = "block",
        mask_ratio: float = 0.5,
        mask_block: int | list[int] = 4,
        signal_dims: list[int | None] | None = None,
        sparse: bool = True,
        spectral_weight: float = 0.0,
    ):
        super().__init__(model, data_contract, lr, weight_decay, warmup_epochs, freeze_backbone,
                         unfreeze_at_epoch, layer_decay, nan_policy)
        if mask not in MASK_KINDS:
            raise ConfigError(f"task.mask: expected one of {', '.join(MASK_KINDS)}, got {mask!r}")
        if not 0.0 < float(mask_ratio) < 1.0:
            raise ConfigError(f"task.mask_ratio: expected a number in (0, 1), got {mask_ratio}")
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

    # ------------------------------------------------------------------ core
    def draw_mask(self, batch_size: int, grid: Sequence[int], generator: torch.Generator | None = None) -> Tensor:
        """A bool token mask ``(B, *grid)`` following the task's settings."""
        return make_mask(self.hparams.mask, batch_size, grid, float(self.hparams.mask_ratio),
                         self.hparams.mask_block, self.shared_axes, generator)

    def reconstruct(self, batch: dict, mask: Tensor | None = None,
                    generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``(prediction like x, token mask (B, *grid), signal-space weight broadcastable to x)``."""
        x = batch["x"]
        tokens = self.model.tokenizer(batch)
        if mask is None:
            mask = self.draw_mask(x.shape[0], tokens.shape[2:], generator)
        mask = mask.to(tokens.device)
        keep = (~mask)[:, None].to(tokens.dtype)
        if self.sparse is not None:
            with self.sparse.active(keep):
                feats = self.model.backbone(tokens * keep)
        else:
            feats = self.model.backbone(tokens * keep)
        pred = self.model.head(feats, {**batch, "mask": mask})
        weight = upsample_mask(mask, x.shape, self.signal_dims).to(x.dtype)
        if "ch_mask" in batch and x.dim() == 3:
            weight = weight * batch["ch_mask"][:, :, None].to(x.dtype)
        return pred, mask, weight

    def _step(self, batch: dict, stage: str, batch_idx: int) -> Tensor | None:
        gen = None if stage == "train" else torch.Generator().manual_seed(10_000 + batch_idx)
        pred, mask, weight = self.reconstruct(batch, generator=gen)
        x = batch["x"]
        w = weight.expand_as(x)
        denom = w.sum().clamp(min=1.0)
        mse = (((pred.float() - x.float()) ** 2) * w).sum() / denom
        loss = mse
        if self.hparams.spectral_weight:
            dim = int(self.signal_dims[0])
            patch = -(-x.shape[dim] // mask.shape[1])
            spec = spectral_loss(pred, x, w, dim, patch)
            loss = mse + float(self.hparams.spectral_weight) * spec
            self.log(f"{stage}/spectral", spec, on_epoch=True, on_step=False, batch_size=x.shape[0])
        if stage == "train" and not self.check_loss(loss, batch):
            return None
        power = ((x.float() ** 2) * w).sum() / denom
        n = x.shape[0]
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", on_epoch=True, on_step=False, batch_size=n)
        # masked MSE relative to predicting zeros (the normalised signal's mean): < 1 = learned something
        self.log(f"{stage}/nmse", mse / power.clamp(min=1e-12), on_epoch=True, on_step=False, batch_size=n)
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        return self._step(batch, "train", batch_idx)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val", batch_idx)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test", batch_idx)

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        pred, mask, weight = self.reconstruct(batch, generator=torch.Generator().manual_seed(batch_idx))
        return {"reconstruction": pred, "mask": mask, "weight": weight}
