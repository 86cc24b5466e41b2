"""Frame-forecast metrics in both conventions: per pixel and OpenSTL's per frame.

Tensors are ``(B, T, C, H, W)`` (predictions and targets on the same scale, usually [0, 1]).

* ``mse`` / ``mae``: mean over every pixel (B, T, C, H, W).
* ``mse_per_frame_openstl`` / ``mae_per_frame_openstl``: OpenSTL's ``MSE``/``MAE``
  (``np.mean((pred - true) ** 2, axis=(0, 1)).sum()`` on ``(B, T, C, H, W)``): the error summed over
  the pixels of a frame (C, H, W), then averaged over frames (B, T); ``= mse * C * H * W``. OpenSTL
  computes them on unclamped outputs: feed unclamped predictions to compare with its tables.
* ``psnr``: ``10 log10(data_range^2 / mse_frame)`` per frame (``mse_frame`` the per-pixel MSE of
  that frame), then averaged over frames.
* ``ssim``: torchmetrics' Gaussian SSIM (11 x 11, sigma 1.5, K1 = 0.01, K2 = 0.03) per frame with an
  explicit ``data_range``, averaged over frames. This is NOT OpenSTL's SSIM (scikit-image's
  ``structural_similarity``, 7 x 7 uniform window, on the frame's channels): the two differ by
  +5 % to -76 % on the same forecasts, so never put ``ssim`` beside OpenSTL's SSIM column.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.functional.image import structural_similarity_index_measure

PSNR_MIN_MSE = 1e-10  # a perfect frame scores 10 log10(range^2 / 1e-10) instead of inf


def _check(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape or pred.dim() != 5:
        raise ValueError(f"video metrics: expected pred and target (B, T, C, H, W) of the same shape, "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")


def frame_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel MSE of every frame: ``(B, T, C, H, W) -> (B, T)``."""
    _check(pred, target)
    return (pred.double() - target.double()).pow(2).mean(dim=(2, 3, 4))


def frame_mae(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel MAE of every frame: ``(B, T, C, H, W) -> (B, T)``."""
    _check(pred, target)
    return (pred.double() - target.double()).abs().mean(dim=(2, 3, 4))


def frame_psnr(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """PSNR in dB of every frame: ``10 log10(data_range^2 / mse_frame)``, ``(B, T)``."""
    mse = frame_mse(pred, target).clamp_min(PSNR_MIN_MSE)
    return 10.0 * torch.log10(torch.as_tensor(float(data_range) ** 2, dtype=mse.dtype) / mse)


def frame_ssim(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """SSIM of every frame (Gaussian 11 x 11, sigma 1.5), ``(B, T)``; ``data_range`` is required."""
    _check(pred, target)
    b, t = pred.shape[:2]
    p = pred.reshape(b * t, *pred.shape[2:]).double()
    g = target.reshape(b * t, *target.shape[2:]).double()
    vals = structural_similarity_index_measure(p, g, data_range=float(data_range), reduction="none")
    return vals.reshape(b, t)


def mse_per_frame(pred: Tensor, target: Tensor) -> Tensor:
    """OpenSTL's MSE: mean over (B, T) of the squared error summed over (C, H, W)."""
    _check(pred, target)
    return (pred.double() - target.double()).pow(2).sum(dim=(2, 3, 4)).mean()


def copy_last_frame(x: Tensor, horizon: int) -> Tensor:
    """The copy-last-frame forecast: ``x (B, T_in, C, H, W) -> (B, horizon, C, H, W)``."""
    return x[:, -1:].expand(-1, horizon, *x.shape[2:])


class FrameForecastMetrics(Metric):
    """Accumulates every frame metric over batches (sums, so DDP reduces exactly).

    ``compute()`` returns ``mse, mae, mse_per_frame_openstl, mae_per_frame_openstl, psnr, ssim`` and the per-pixel
    MSE of each target frame ``mse@k`` (k = 1..T_out), as Python-friendly 0-d tensors.
    """

    full_state_update = False

    def __init__(self, horizon: int, data_range: float = 1.0, ssim: bool = True) -> None:
        super().__init__()
        self.horizon, self.data_range, self.with_ssim = int(horizon), float(data_range), ssim
        for name in ("sq", "ab", "psnr", "ssim", "frames", "pixels_per_frame"):
            self.add_state(name, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("sq_k", default=torch.zeros(self.horizon, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n_k", default=torch.zeros(self.horizon, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        _check(pred, target)
        mse = frame_mse(pred, target)  # (B, T)
        self.sq += mse.sum()
        self.ab += frame_mae(pred, target).sum()
        self.psnr += frame_psnr(pred, target, self.data_range).sum()
        if self.with_ssim:
            self.ssim += frame_ssim(pred, target, self.data_range).sum()
        self.frames += mse.numel()
        self.pixels_per_frame += float(pred[0, 0].numel()) * mse.numel()
        k = min(self.horizon, mse.shape[1])
        self.sq_k[:k] += mse[:, :k].sum(0)
        self.n_k[:k] += mse.shape[0]

    def compute(self) -> dict[str, Tensor]:
        n = self.frames.clamp_min(1)
        ppf = self.pixels_per_frame / n
        out = {"mse": self.sq / n, "mae": self.ab / n, "mse_per_frame_openstl": self.sq / n * ppf,
               "mae_per_frame_openstl": self.ab / n * ppf, "psnr": self.psnr / n}
        if self.with_ssim:
            out["ssim"] = self.ssim / n
        for k in range(self.horizon):
            out[f"mse@{k + 1}"] = self.sq_k[k] / self.n_k[k].clamp_min(1)
        return out
