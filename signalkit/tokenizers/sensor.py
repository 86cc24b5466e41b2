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

from signalkit.errors import ConfigError
from signalkit.recording import CH_TYPES
from signalkit.tokenizers.registry import register_tokenizer


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


def training_classes(y, num_classes: int, key: str, what: str) -> list[int]:
    """The class ids among ``range(num_classes)`` that the training windows' labels ``y (N,)`` hold; a
    :class:`ConfigError` naming ``data.split`` and the option ``key`` (which cannot fit ``what``) when
    fewer than 2 are present (a closed-form spatial fit needs a contrast)."""
    present = [k for k in range(num_classes) if bool((y == k).any())]
    if len(present) < 2:
        raise ConfigError(f"data.split: the training windows hold fewer than 2 classes; {key} cannot fit {what}")
    return present


def channel_context(batch: dict) -> tuple[Tensor, Tensor, Tensor]:
    """A batch's montage: ``ch_mask (B, C)`` bool, ``pos (B, C, 3)`` in the dtype of ``x`` and
    ``ch_type (B, C)`` long, with the Batch contract's defaults where a key is missing (every channel
    real, positions unknown (zeros), type 0). The one place the spatial filters read them from."""
    x = batch["x"]
    b, c = x.shape[0], x.shape[1]
    mask = batch.get("ch_mask")
    if mask is None:
        mask = torch.ones(b, c, dtype=torch.bool, device=x.device)
    pos = batch.get("pos")
    pos = torch.zeros(b, c, 3, dtype=x.dtype, device=x.device) if pos is None else pos.to(x.dtype)
    ch_type = batch.get("ch_type")
    if ch_type is None:
        ch_type = torch.zeros(b, c, dtype=torch.long, device=x.device)
    return mask, pos, ch_type


def signed_filters(queries: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
    """Signed spatial filter weights ``(B, S, C)`` from ``queries (S, D)`` and sensor ``keys (B, C, D)``.

    Each key feature is standardised across the montage's real channels (``mask (B, C)``): sensor
    embeddings share a large common part (cosine ~0.98 between channels at init), which made every
    filter a near-uniform average with no spatial contrast to learn from. Weights are 0 on padded
    channels and scaled by ``1/sqrt(C)``, so any montage size gives filters of the same scale.
    """
    b = keys.shape[0]
    m = mask[:, :, None].to(keys.dtype)
    n = m.sum(1, keepdim=True).clamp(min=1)
    keys = keys - (keys * m).sum(1, keepdim=True) / n
    keys = keys * torch.rsqrt((keys.square() * m).sum(1, keepdim=True) / n + 1e-5)
    w = torch.einsum("sd,bcd->bsc", queries.to(keys.dtype), keys) / math.sqrt(keys.shape[-1])
    w = w * mask[:, None, :].to(w.dtype)
    return w / n.view(b, 1, 1).sqrt()


@register_tokenizer("sensor")
class SensorTokenizer(nn.Module):
    """``x (B, C, T)`` -> tokens ``(B, D, T // patch, S)`` (grid: time patches x virtual channels).

    With ``virtual_channels=S > 0`` the signal is first projected onto ``S`` learned spatial
    filters whose weight for a sensor is a smooth function of that sensor's position and type
    embedding (signed, like CSP filters, zero-mean over the montage's channels, and scaled by
    ``1/sqrt(C)`` so any montage size works);
    each virtual channel's time patches are then embedded. ``virtual_channels=0`` keeps the
    real channels as the grid's second axis (only for a fixed montage).

    With ``log_power=True`` each token also gets a learned embedding of its patch's log mean
    square relative to the window's mean (unit-free): the backbone's per-token norms remove a
    token's scale, and with it the band power that oscillatory decoding reads; this puts it back
    as a direction (the default decoder reaches its accuracy in fewer steps with it).

    Args:
        dim: token width ``D``.
        patch_size: samples per time patch (``T`` is zero-padded up to a multiple).
        virtual_channels: ``S`` learned spatial filters, or ``0``.
        log_power: add the log-power embedding.
    """

    grid_ndim = 2

    def __init__(self, dim: int = 64, patch_size: int = 16, virtual_channels: int = 16, log_power: bool = False):
        super().__init__()
        self.dim = dim
        self.patch_size = patch_size
        self.virtual_channels = virtual_channels
        self.patch = nn.Linear(patch_size, dim)
        self.power = nn.Linear(1, dim) if log_power else None
        self.sensor = SensorEmbedding(dim)
        self.unpatch = nn.Linear(dim, patch_size)
        if virtual_channels:
            self.queries = nn.Parameter(torch.randn(virtual_channels, dim))
            self.keys = nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim))
            self.virtual_embed = nn.Parameter(torch.zeros(virtual_channels, dim))
            self.out_keys = nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim))

    def spatial_filters(self, batch: dict) -> Tensor:
        """Signed spatial filter weights ``(B, S, C)`` for the batch's montage (0 on padding)."""
        mask, _, _ = channel_context(batch)
        return signed_filters(self.queries, self.keys(self._sensors(batch)), mask)

    def _sensors(self, batch: dict) -> Tensor:
        _, pos, ch_type = channel_context(batch)
        return self.sensor(pos, ch_type)

    def _patches(self, x: Tensor) -> Tensor:
        pad = (-x.shape[-1]) % self.patch_size
        if pad:
            x = F.pad(x, (0, pad))
        return x.reshape(*x.shape[:-1], -1, self.patch_size)  # (B, K, P, p)

    def _embed(self, patches: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, K, P, p)`` patches -> ``(B, K, P, D)`` tokens (plus their log power, if enabled);
        ``mask (B, K)`` marks real rows (padded channels are left out of the window's mean power)."""
        tokens = self.patch(patches)
        if self.power is not None:
            ms = patches.square().mean(-1, keepdim=True)  # (B, K, P, 1)
            if mask is None:
                ref = ms.mean(dim=(1, 2), keepdim=True)
            else:
                m = mask[:, :, None, None].to(ms.dtype)
                ref = (ms * m).sum(dim=(1, 2), keepdim=True) / (m.sum(1, keepdim=True) * ms.shape[2]).clamp(min=1)
            ref = ref + 1e-30
            # relative to the window's mean power: unit-free, and 1e-3 keeps flat channels finite
            tokens = tokens + self.power(torch.log(ms / ref + 1e-3))
        return tokens

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        if self.virtual_channels:
            v = torch.einsum("bsc,bct->bst", self.spatial_filters(batch), x)  # (B, S, T)
            tokens = self._embed(self._patches(v)) + self.virtual_embed[None, :, None, :]
        else:
            tokens = self._embed(self._patches(x), batch.get("ch_mask")) + self._sensors(batch)[:, :, None, :]
            if batch.get("ch_mask") is not None:  # padded channels of mixed-montage batches
                tokens = tokens * batch["ch_mask"][:, :, None, None].to(tokens.dtype)
        # no per-token normalisation: a token's scale carries band power, the decoding cue
        return tokens.permute(0, 3, 2, 1).contiguous()  # (B, D, P, S or C)

    def token_mask(self, batch: dict) -> Tensor | None:
        """``(B, P, C)`` True for tokens of real channels (``None`` when every token is real)."""
        mask = batch.get("ch_mask")
        if self.virtual_channels or mask is None or bool(mask.all()):
            return None
        n_patches = -(-batch["x"].shape[-1] // self.patch_size)
        return mask[:, None, :].expand(-1, n_patches, -1)

    def untokenize(self, features: Tensor, batch: dict) -> Tensor:
        """Features ``(B, D, P, S)`` -> signal ``(B, C, T)`` for the batch's channels.

        Each real channel reads the virtual channels with signed weights keyed by its own sensor
        embedding, then one linear map returns each token to ``patch_size`` samples.
        """
        x = batch["x"]
        b, c, t = x.shape
        feats = features.permute(0, 3, 2, 1)  # (B, S or C, P, D)
        sensors = self._sensors(batch)
        if self.virtual_channels:
            u = torch.einsum("bcd,sd->bcs", self.out_keys(sensors), self.queries) / math.sqrt(self.dim)
            u = u / math.sqrt(self.virtual_channels)
            per_ch = torch.einsum("bcs,bspd->bcpd", u, feats) + sensors[:, :, None]
        else:
            per_ch = feats
        return self.unpatch(per_ch).reshape(b, c, -1)[..., :t]
