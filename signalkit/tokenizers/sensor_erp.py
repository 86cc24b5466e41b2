"""Evoked-response (ERP) tokenizer: montage-agnostic spatial filters, per-window mean removal, low-pass + decimation.

The priors that win on small ERP sets (xDAWN + LDA, shrinkage LDA on decimated epochs), as a
registered, trainable front end: the ``C`` channels are projected onto ``dim`` signed spatial
filters keyed by each sensor's position and type (free weights by index for channels without a
position, as in :class:`~signalkit.tokenizers.sensor_filter.SensorFilterTokenizer`), each window's
per-filter mean over time is removed (baseline removal: slow drifts carry no class information in
an ERP), and the filtered signals are low-passed and decimated by averaging ``n_tokens`` equal
blocks of the window (a fixed token grid for any window length and sampling rate). The tokens are the decimated waveforms themselves, so a linear head
(``pool: flatten``) is a spatially filtered linear ERP read-out, like xDAWN + LDA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.tokenizers.registry import register_tokenizer
from signalkit.tokenizers.sensor import SensorEmbedding, channel_context, signed_filters


def remove_window_mean(x: Tensor) -> Tensor:
    """``x (B, S, T)`` minus its mean over time per window and filter ``(B, S, 1)``."""
    return x - x.mean(-1, keepdim=True)


def decimate_mean(x: Tensor, n_tokens: int) -> Tensor:
    """Box low-pass + decimation: ``(B, S, T)`` -> ``(B, S, n_tokens)``, the mean of each of ``n_tokens``
    (near-)equal blocks of the window (``torch.nn.functional.adaptive_avg_pool1d``)."""
    return F.adaptive_avg_pool1d(x, n_tokens)


@register_tokenizer("sensor_erp")
class SensorERPTokenizer(nn.Module):
    """``x (B, C, T)`` -> tokens ``(B, dim, n_tokens)``.

    Args:
        dim: spatial filters, the token width (xDAWN uses 4-8 per class).
        n_tokens: decimated samples per window (16 over a 1-s epoch: 16 Hz, a ~8 Hz box low-pass).
        remove_mean: subtract each window's mean over time per filter.
        dropout: dropout on the tokens.
        sensor_dim: width of the sensor embedding that keys the spatial filters.
        sfreq: sampling rate in Hz (filled by the decoding task; unused: the grid is in blocks of the window).
        max_channels: most channels without a known position (free weights by index).
    """

    grid_ndim = 1

    def __init__(self, dim: int = 8, n_tokens: int = 16, remove_mean: bool = True,
                 dropout: float = 0.25, sensor_dim: int = 32, sfreq: float | None = None, max_channels: int = 512):
        super().__init__()
        if sfreq is not None and not sfreq > 0:
            raise ConfigError(f"model.tokenizer.sfreq: must be > 0, got {sfreq}")
        for key, v in (("dim", dim), ("n_tokens", n_tokens), ("max_channels", max_channels)):
            if int(v) < 1:
                raise ConfigError(f"model.tokenizer.{key}: must be >= 1, got {v}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.tokenizer.dropout: must be in [0, 1), got {dropout}")
        self.dim, self.n_tokens, self.remove_mean = dim, int(n_tokens), bool(remove_mean)
        self.sensor = SensorEmbedding(sensor_dim)
        self.keys = nn.Sequential(nn.Linear(sensor_dim, sensor_dim), nn.LayerNorm(sensor_dim))
        self.queries = nn.Parameter(torch.randn(dim, sensor_dim))
        self.index_filters = nn.Parameter(torch.randn(max_channels, dim))
        self.norm = nn.BatchNorm1d(dim)
        self.drop = nn.Dropout(dropout)

    def spatial_filters(self, batch: dict) -> Tensor:
        """Signed spatial filters ``(B, dim, C)`` (0 on padded channels; free index weights where ``pos`` is 0)."""
        mask, pos, ch_type = channel_context(batch)
        b, c = mask.shape
        if c > self.index_filters.shape[0]:
            raise ConfigError(f"model.tokenizer.max_channels: {c} channels, more than {self.index_filters.shape[0]}")
        w = signed_filters(self.queries, self.keys(self.sensor(pos, ch_type)), mask)
        unknown = (pos.abs().sum(-1) == 0) & mask
        if not bool(unknown.any()):
            return w
        n = mask.sum(1).clamp(min=1).to(w.dtype).view(b, 1, 1)
        free = self.index_filters[:c].T.to(w.dtype)[None] / n.sqrt()
        return torch.where(unknown[:, None, :], free, w)

    def forward(self, batch: dict) -> Tensor:
        v = torch.einsum("bsc,bct->bst", self.spatial_filters(batch), batch["x"])  # (B, S, T)
        if self.remove_mean:
            v = remove_window_mean(v)
        return self.drop(self.norm(decimate_mean(v, self.n_tokens)))  # (B, S, n_tokens)

    def token_mask(self, batch: dict) -> None:
        """Every token is real."""
        return None
