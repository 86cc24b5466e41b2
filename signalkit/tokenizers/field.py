"""Field tokenizer for gridded weather: patch embedding of (history x variables + static) channels.

Input channels per grid point: the ``history x n_vars`` normalised fields, then static fields
sin/cos latitude, sin/cos longitude, the valid-data (land-sea) mask, and time features of the
init time (sin/cos hour of day, sin/cos day of year) broadcast over the grid, and the data's own
static fields (``batch["static"] (S, H, W)``: land-sea mask, orography, ...) when ``n_static > 0``. A strided
convolution embeds ``patch_size x patch_size`` patches; the grid is zero-padded to a multiple of
the patch size. ``untokenize`` maps per-token vectors back to fields (pixel shuffle + crop).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.tokenizers.registry import register_tokenizer

N_STATIC = 9


def static_fields(batch: dict, shape: tuple[int, int], device, dtype) -> Tensor:
    """``(B, 9, H, W)``: sin/cos lat, sin/cos lon, valid mask, sin/cos hour, sin/cos day of year."""
    h, w = shape
    b = batch["x"].shape[0]
    lat = torch.deg2rad(batch["lat"].to(device, dtype)).view(1, h, 1).expand(1, h, w)
    lon = torch.deg2rad(batch["lon"].to(device, dtype)).view(1, 1, w).expand(1, h, w)
    mask = batch.get("mask")
    valid = (~mask.to(device)).to(dtype).view(1, h, w) if mask is not None else torch.ones(1, h, w, device=device, dtype=dtype)
    grid = torch.cat([lat.sin(), lat.cos(), lon.sin(), lon.cos(), valid]).unsqueeze(0).expand(b, -1, -1, -1)
    hours = batch.get("time")
    if hours is None:
        hours = torch.zeros(b, dtype=torch.float64, device=device)
    hours = hours.to(device, torch.float64)
    hod = torch.remainder(hours, 24.0) / 24.0 * 2 * math.pi
    doy = torch.remainder(hours / 24.0, 365.2425) / 365.2425 * 2 * math.pi
    feats = torch.stack([hod.sin(), hod.cos(), doy.sin(), doy.cos()], 1).to(dtype)  # (B, 4)
    return torch.cat([grid, feats[:, :, None, None].expand(b, 4, h, w)], 1)


@register_tokenizer("field")
class FieldTokenizer(nn.Module):
    """``x (B, history, n_vars, H, W)`` -> tokens ``(B, D, ceil(H/p), ceil(W/p))``.

    Args:
        dim: token width ``D``.
        n_vars: variables per time step (filled in from the data by the forecasting task).
        history: input time steps.
        patch_size: ``p``, patch edge in grid points.
        center: subtract each sample's spatial mean (valid points) of the last input step from all
            input steps, so the model sees anomalies and not the absolute level (helps small data
            sets generalise to another weather regime; the residual head makes this lossless).
    """

    grid_ndim = 2

    def __init__(self, dim: int = 64, n_vars: int = 1, history: int = 2, patch_size: int = 2,
                 center: bool = True, n_static: int = 0):
        super().__init__()
        self.n_static = int(n_static)
        self.center = bool(center)
        self.dim, self.n_vars, self.history, self.patch_size = dim, int(n_vars), int(history), int(patch_size)
        self.in_channels = self.n_vars * self.history + N_STATIC + self.n_static
        self.embed = nn.Conv2d(self.in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def _pad(self, h: int, w: int) -> tuple[int, int]:
        p = self.patch_size
        return (-h) % p, (-w) % p

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        b, t, v, h, w = x.shape
        if t != self.history or v != self.n_vars:
            raise ValueError(f"field tokenizer expects (B, {self.history}, {self.n_vars}, H, W), got {tuple(x.shape)}")
        if self.center:
            mask = batch.get("mask")
            valid = (~mask.to(x.device)).to(x.dtype) if mask is not None else torch.ones(h, w, device=x.device, dtype=x.dtype)
            mean = (x[:, -1] * valid).sum((-2, -1)) / valid.sum().clamp(min=1)  # (B, V)
            x = (x - mean[:, None, :, None, None]) * valid
        parts = [x.reshape(b, t * v, h, w), static_fields(batch, (h, w), x.device, x.dtype)]
        if self.n_static:
            static = batch.get("static")
            if static is None or static.shape[-3] != self.n_static:
                got = None if static is None else tuple(static.shape)
                raise ValueError(f"field tokenizer expects static fields (B|, {self.n_static}, H, W), got {got}")
            parts.append(static.to(x.device, x.dtype).expand(b, -1, -1, -1) if static.dim() == 3 else static.to(x.device, x.dtype))
        chans = torch.cat(parts, 1)
        ph, pw = self._pad(h, w)
        return self.embed(F.pad(chans, (0, pw, 0, ph)))

    def untokenize(self, features: Tensor, batch: dict, channels: int) -> Tensor:
        """``(B, channels * p * p, h', w')`` per-token vectors -> fields ``(B, channels, H, W)``."""
        h, w = batch["x"].shape[-2:]
        return F.pixel_shuffle(features, self.patch_size)[:, :channels, :h, :w]
