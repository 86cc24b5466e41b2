"""Sensor-aware filter-bank tokenizer: spatial filters keyed by sensor position, then temporal filters.

The front end of EEGNet (Lawhern et al. 2018) made montage-agnostic. EEGNet convolves every
channel with ``F1`` temporal filters and then mixes channels with ``D`` spatial filters per temporal
filter, whose weights belong to one fixed channel list. Here the spatial weights are a function of
each sensor's position and type embedding (:func:`~signalkit.tokenizers.sensor.signed_filters`),
so any channel set and order works. Both steps are linear, so they commute: the tokenizer
projects the ``C`` channels onto ``F1 * D`` spatial filters first and filters only those in time,
which costs ``F1 * D / C`` of EEGNet's temporal convolution (a quarter on 64 channels).

Then, as in EEGNet: batch norm, ELU, average pooling, a separable (depthwise + pointwise)
convolution to ``dim`` features, batch norm, ELU, and adaptive average pooling to ``n_tokens``
time tokens, so any window length and sampling rate give the same token grid. With ``sfreq``
(filled from the data contract by :class:`~signalkit.tasks.DecodingTask`) the kernel and pooling
lengths are set in seconds, so a 256 Hz recording gets the same filters in time as a 128 Hz one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.tokenizers.registry import register_tokenizer
from signalkit.tokenizers.sensor import SensorEmbedding, channel_context, signed_filters


@register_tokenizer("sensor_filter")
class SensorFilterTokenizer(nn.Module):
    """``x (B, C, T)`` -> tokens ``(B, dim, n_tokens)``.

    Args:
        dim: token width (EEGNet's ``F2``).
        temporal_filters: ``F1`` temporal filters.
        depth_multiplier: ``D`` spatial filters per temporal filter (``F1 * D`` virtual channels).
        kernel_s: temporal kernel length in seconds (used when ``sfreq`` is known).
        kernel_size: temporal kernel length in samples when ``sfreq`` is ``None``.
        pool_s / pool: first average pooling, seconds (with ``sfreq``) or samples.
        separable_kernel: kernel of the depthwise convolution after pooling (pooled samples).
        n_tokens: time tokens out (adaptive average pooling).
        dropout: dropout after each pooling.
        sensor_dim: width of the sensor (position + type) embedding that keys the spatial filters.
        sfreq: sampling rate in Hz, or ``None``.
        max_channels: channels without a known position (all-zero ``pos``, e.g. an EEGLAB file
            without channel locations) get free spatial weights indexed by their channel number
            instead (a fixed channel order, as in EEGNet); up to this many channels. (An earlier
            version keyed them by a learned index embedding through the same query product as
            positions: 0.86 against free weights' 0.94 on the EEGLAB sample, 3 seeds.)
    """

    grid_ndim = 1

    def __init__(self, dim: int = 16, temporal_filters: int = 8, depth_multiplier: int = 2,
                 kernel_s: float = 0.4, kernel_size: int = 64, pool_s: float = 0.025, pool: int = 4,
                 separable_kernel: int = 16, n_tokens: int = 8, dropout: float = 0.25,
                 sensor_dim: int = 32, sfreq: float | None = None, max_channels: int = 512):
        super().__init__()
        if sfreq is not None:
            if not sfreq > 0:
                raise ConfigError(f"model.tokenizer.sfreq: must be > 0, got {sfreq}")
            kernel_size = max(3, int(round(kernel_s * sfreq)))
            pool = max(1, int(round(pool_s * sfreq)))
        for key, v in (("temporal_filters", temporal_filters), ("depth_multiplier", depth_multiplier),
                       ("kernel_size", kernel_size), ("pool", pool), ("separable_kernel", separable_kernel),
                       ("n_tokens", n_tokens), ("dim", dim)):
            if int(v) < 1:
                raise ConfigError(f"model.tokenizer.{key}: must be >= 1, got {v}")
        self.dim, self.n_tokens = dim, n_tokens
        self.kernel_size, self.pool, self.depth_multiplier = kernel_size, pool, depth_multiplier
        n_virtual = temporal_filters * depth_multiplier
        self.sensor = SensorEmbedding(sensor_dim)
        self.keys = nn.Sequential(nn.Linear(sensor_dim, sensor_dim), nn.LayerNorm(sensor_dim))
        self.queries = nn.Parameter(torch.randn(n_virtual, sensor_dim))
        # one temporal kernel per F1 filter, shared by its D spatial filters (as in EEGNet)
        self.temporal = nn.Parameter(torch.randn(temporal_filters, 1, kernel_size) / kernel_size**0.5)
        self.norm1 = nn.BatchNorm1d(n_virtual)
        self.depthwise = nn.Conv1d(n_virtual, n_virtual, separable_kernel, padding=separable_kernel // 2,
                                   groups=n_virtual, bias=False)
        self.pointwise = nn.Conv1d(n_virtual, dim, 1, bias=False)
        self.norm2 = nn.BatchNorm1d(dim)
        self.drop = nn.Dropout(dropout)
        # spatial weights of channels without a position, by channel index (``(max_channels, F1 * D)``)
        self.index_filters = nn.Parameter(torch.randn(max_channels, n_virtual))

    def spatial_filters(self, batch: dict) -> Tensor:
        """Signed spatial filter weights ``(B, F1 * D, C)`` for the batch's montage (0 on padding).

        Channels with a position are weighted by a function of their sensor embedding; channels
        without one (all-zero ``pos``) by a free weight of their index. Both scale as ``1/sqrt(C)``.
        """
        mask, pos, ch_type = channel_context(batch)
        b, c = mask.shape
        if c > self.index_filters.shape[0]:
            raise ConfigError(f"model.tokenizer.max_channels: {c} channels, more than {self.index_filters.shape[0]}")
        w = signed_filters(self.queries, self.keys(self.sensor(pos, ch_type)), mask)
        unknown = (pos.abs().sum(-1) == 0) & mask  # (B, C)
        if not bool(unknown.any()):
            return w
        n = mask.sum(1).clamp(min=1).to(w.dtype).view(b, 1, 1)
        free = self.index_filters[:c].T.to(w.dtype)[None] / n.sqrt()  # (B, F1 * D, C)
        return torch.where(unknown[:, None, :], free, w)

    def forward(self, batch: dict) -> Tensor:
        x = batch["x"]
        v = torch.einsum("bsc,bct->bst", self.spatial_filters(batch), x)  # (B, F1 * D, T)
        k = self.kernel_size
        w = self.temporal.repeat_interleave(self.depth_multiplier, 0).to(v.dtype)
        v = F.conv1d(F.pad(v, ((k - 1) // 2, k // 2)), w, groups=v.shape[1])
        v = self.drop(F.avg_pool1d(F.elu(self.norm1(v)), self.pool, ceil_mode=True))
        v = F.elu(self.norm2(self.pointwise(self.depthwise(v))))
        return self.drop(F.adaptive_avg_pool1d(v, self.n_tokens))  # (B, dim, n_tokens)

    def token_mask(self, batch: dict) -> None:
        """Every token is real (padded channels are already left out of the spatial filters)."""
        return None
