"""Sensor-aware channel x time tokenizer for EEG / MEG / iEEG (and fMRI regions).

Each channel's time patches are embedded by one shared linear map, and each channel gets an
embedding of its sensor position (Fourier features of xyz in metres) and type. Channel tokens
are then pooled into ``virtual_channels`` learned spatial filters by attention over the sensor
embeddings (masked by ``ch_mask``), so one model accepts any montage and channel order.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.recording import CH_TYPES


class SensorEmbedding(nn.Module):
    """``pos (B, C, 3)`` metres and ``ch_type (B, C)`` ids -> ``(B, C, D)`` embeddings.

    Positions go through random Fourier features at scales from 1 cm to 50 cm; channels without a
    position (all-zero xyz) get a learned "unknown position" vector instead.
    """

    def __init__(self, dim: int, n_freqs: int = 16, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        scales = torch.logspace(math.log10(2.0), math.log10(100.0), n_freqs)  # 1/m
        directions = F.normalize(torch.randn(n_freqs, 3, generator=g), dim=-1)
        self.register_buffer("freqs", directions * scales[:, None] * 2 * math.pi, persistent=False)
        self.pos_mlp = nn.Sequential(nn.Linear(2 * n_freqs, dim), nn.GELU(), nn.Linear(dim, dim))
        self.unknown = nn.Parameter(torch.zeros(dim))
        self.type_embed = nn.Embedding(len(CH_TYPES), dim)

    def forward(self, pos: Tensor, ch_type: Tensor) -> Tensor:
        phase = pos.float() @ self.freqs.T  # (B, C, F)
        feats = self.pos_mlp(torch.cat([phase.sin(), phase.cos()], dim=-1))
        known = (pos.abs().sum(-1, keepdim=True) > 0).to(feats.dtype)
        return known * feats + (1 - known) * self.unknown + self.type_embed(ch_type)


class SensorTokenizer(nn.Module):
    """``x (B, C, T)`` -> tokens ``(B, D, T // patch, S)`` (grid: time patches x virtual channels).

    Args:
        dim: token width ``D``.
        patch_size: samples per time patch (``T`` is zero-padded up to a multiple).
        virtual_channels: ``S`` learned spatial filters; ``0`` keeps the channels as the grid's
            second axis (only for a fixed montage).
    """

    grid_ndim = 2

    def __init__(self, dim: int = 64, patch_size: int = 16, virtual_channels: int = 16):
        super().__init__()
        self.dim = dim
        self.patch_size = patch_size
        self.virtual_channels = virtual_channels
        self.patch = nn.Linear(patch_size, dim)
        self.sensor = SensorEmbedding(dim)
        if virtual_channels:
            self.queries = nn.Parameter(torch.randn(virtual_channels, dim) / math.sqrt(dim))
            self.keys = nn.Linear(dim, dim)
            self.out_queries = nn.Linear(dim, dim)
        self.unpatch = nn.Linear(dim, patch_size)

    def _spatial_weights(self, sensors: Tensor, ch_mask: Tensor | None) -> Tensor:
        """Signed spatial filter weights ``(B, S, C)``: a smooth function of each sensor's embedding.

        Weights are not a softmax: spatial filters must take differences between sensors (as
        CSP does for C3 vs C4), and they are averaged over the valid channels so the scale does
        not depend on how many sensors a montage has.
        """
        w = torch.einsum("sd,bcd->bsc", self.queries, self.keys(sensors)) / math.sqrt(self.dim)
        if ch_mask is None:
            return w / w.shape[-1]
        w = w * ch_mask[:, None, :].to(w.dtype)
        return w / ch_mask.sum(-1).clamp(min=1)[:, None, None].to(w.dtype)

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        b, c, t = x.shape
        pad = (-t) % self.patch_size
        if pad:
            x = F.pad(x, (0, pad))
        patches = x.reshape(b, c, -1, self.patch_size)  # (B, C, P, p)
        tokens = self.patch(patches)  # (B, C, P, D)
        pos = batch.get("pos", torch.zeros(b, c, 3, device=x.device))
        ch_type = batch.get("ch_type", torch.zeros(b, c, dtype=torch.long, device=x.device))
        sensors = self.sensor(pos, ch_type)  # (B, C, D)
        tokens = tokens + sensors[:, :, None, :]
        if self.virtual_channels:
            w = self._spatial_weights(sensors, batch.get("ch_mask"))
            tokens = torch.einsum("bsc,bcpd->bpsd", w, tokens)  # (B, P, S, D)
        else:
            tokens = tokens.transpose(1, 2)  # (B, P, C, D)
        # no per-token normalisation here: a token's scale carries band power, the decoding cue
        return tokens.permute(0, 3, 1, 2).contiguous()  # (B, D, P, S)

    def untokenize(self, features: Tensor, batch: dict) -> Tensor:
        """Features ``(B, D, P, S)`` -> signal ``(B, C, T)`` for the batch's channels.

        Each real channel reads the virtual channels through attention keyed by its own sensor
        embedding, then one linear map returns each token to ``patch_size`` samples.
        """
        x = batch["x"]
        b, c, t = x.shape
        feats = features.permute(0, 2, 3, 1)  # (B, P, S, D)
        sensors = self.sensor(batch["pos"], batch["ch_type"])
        if self.virtual_channels:
            logits = torch.einsum("bcd,sd->bcs", self.out_queries(sensors), self.queries) / math.sqrt(self.dim)
            per_ch = torch.einsum("bcs,bpsd->bcpd", logits.softmax(-1), feats) + sensors[:, :, None]
        else:
            per_ch = feats.transpose(1, 2)
        out = self.unpatch(per_ch).reshape(b, c, -1)
        return out[..., :t]
