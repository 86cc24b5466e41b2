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

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.tokenizers.registry import register_tokenizer
from signalkit.tokenizers.sensor import SensorEmbedding, channel_context, signed_filters, training_classes


def remove_window_mean(x: Tensor) -> Tensor:
    """``x (B, S, T)`` minus its mean over time per window and filter ``(B, S, 1)``."""
    return x - x.mean(-1, keepdim=True)


def median_nearest_distance(pos: Tensor) -> Tensor:
    """The median over ``n >= 2`` sensors ``pos (n, 3)`` of each sensor's distance to its nearest other
    sensor, a 0-d tensor of ``pos``' dtype (the width of the kernel that maps fitted filters onto a montage)."""
    return torch.cdist(pos, pos).fill_diagonal_(float("inf")).min(1).values.median()


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
        max_channels: most channels without a known position (free weights by index), and most channels
            of the montage the closed-form filters are fitted on.
        spatial_init: ``"lda"``: when training starts the decoding task calls :meth:`fit_closed_form`
            on the training windows (closed-form, xDAWN-like filters: the leading spatial singular vectors
            of the full-montage shrinkage LDA on the decimated waveforms, so the ``dim`` filters keep what
            a shrinkage LDA of every channel uses); ``None``: the filters start random.
    """

    grid_ndim = 1

    def __init__(self, dim: int = 8, n_tokens: int = 16, remove_mean: bool = True,
                 dropout: float = 0.25, sensor_dim: int = 32, sfreq: float | None = None, max_channels: int = 512,
                 spatial_init: str | None = "lda"):
        super().__init__()
        if sfreq is not None and not sfreq > 0:
            raise ConfigError(f"model.tokenizer.sfreq: must be > 0, got {sfreq}")
        for key, v in (("dim", dim), ("n_tokens", n_tokens), ("max_channels", max_channels)):
            if int(v) < 1:
                raise ConfigError(f"model.tokenizer.{key}: must be >= 1, got {v}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.tokenizer.dropout: must be in [0, 1), got {dropout}")
        if spatial_init not in (None, "lda"):
            raise ConfigError(f"model.tokenizer.spatial_init: expected null or lda, got {spatial_init!r}")
        self.dim, self.n_tokens, self.remove_mean = dim, int(n_tokens), bool(remove_mean)
        self.closed_form = spatial_init == "lda"  # DecodingTask.on_train_start calls fit_closed_form
        self.sensor = SensorEmbedding(sensor_dim)
        self.keys = nn.Sequential(nn.Linear(sensor_dim, sensor_dim), nn.LayerNorm(sensor_dim))
        self.queries = nn.Parameter(torch.randn(dim, sensor_dim))
        self.index_filters = nn.Parameter(torch.randn(max_channels, dim))
        # closed-form filters (fit_spatial_filters): weights by fitted channel, added to the keyed filters;
        # fit_pos / fit_count record the montage they were fitted on (0 channels: not fitted)
        self.fit_filters = nn.Parameter(torch.zeros(dim, max_channels))
        self.register_buffer("fit_pos", torch.zeros(max_channels, 3))
        self.register_buffer("fit_count", torch.zeros((), dtype=torch.long))
        # fit_spacing's value per (dtype, device), a constant of the fit: emptied where fit_pos / fit_count
        # change (fit_spatial_filters, load_state_dict, .to() and the like), recomputed on first use
        self._spacing: dict[tuple[torch.dtype, torch.device], Tensor] = {}
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
        if bool(unknown.any()):
            n = mask.sum(1).clamp(min=1).to(w.dtype).view(b, 1, 1)
            free = self.index_filters[:c].T.to(w.dtype)[None] / n.sqrt()
            w = torch.where(unknown[:, None, :], free, w)
        if int(self.fit_count) > 0:
            w = w + self.fitted_filters(mask, pos)
        return w

    def fitted_filters(self, mask: Tensor, pos: Tensor) -> Tensor:
        """The closed-form filters on a batch's montage ``(B, dim, C)``: as fitted on the same montage;
        on another one with positions, interpolated from the fitted sensors by a Gaussian kernel of the
        fitted montage's median nearest-neighbour distance (a channel at a fitted sensor's position takes
        that sensor's weights, so a reordered montage gets the same filters); channels without a position
        by index."""
        n = int(self.fit_count)
        b, c = mask.shape
        f = self.fit_filters[:, :n].to(pos.dtype)  # (S, n)
        fpos = self.fit_pos[:n].to(pos.dtype)
        known = pos.abs().sum(-1) > 0  # (B, C)
        if c == n and torch.equal(pos, fpos[None].expand(b, c, 3)):
            out = f[None].expand(b, -1, -1)
        else:
            by_index = torch.zeros(self.dim, c, dtype=pos.dtype, device=pos.device)
            by_index[:, :min(c, n)] = f[:, :min(c, n)]
            out = by_index[None].expand(b, -1, -1)
            fknown = fpos.abs().sum(-1) > 0
            if bool(known.any()) and int(fknown.sum()) >= 2:
                fp, ff = fpos[fknown], f[:, fknown]
                nn_d = self.fit_spacing(pos.dtype)
                d = torch.cdist(pos, fp[None].expand(b, -1, -1))  # (B, C, n')
                k = (-d.square() / (2 * nn_d.square() + 1e-12)).softmax(-1)
                same = d.min(-1, keepdim=True).values < 1e-3 * nn_d  # a fitted sensor itself: its own filter
                k = torch.where(same, F.one_hot(d.argmin(-1), d.shape[-1]).to(k.dtype), k)
                out = torch.where(known[:, None, :], torch.einsum("sj,bcj->bsc", ff, k), out)
        return out * mask[:, None, :].to(out.dtype)

    def fit_spacing(self, dtype: torch.dtype) -> Tensor:
        """The fitted montage's median nearest-neighbour distance (:func:`median_nearest_distance` of the
        fitted sensors with a position, computed in ``dtype``), a 0-d tensor; computed once per dtype and
        device after each fit or load (needs >= 2 fitted sensors with a position)."""
        key = (dtype, self.fit_pos.device)
        if key not in self._spacing:
            # a plain tensor even when first asked for under inference_mode (a later training step may use it)
            with torch.inference_mode(False), torch.no_grad():
                fpos = self.fit_pos[:int(self.fit_count)].to(dtype)
                self._spacing[key] = median_nearest_distance(fpos[fpos.abs().sum(-1) > 0])
        return self._spacing[key]

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._spacing.clear()  # fit_pos / fit_count are about to change
        super()._load_from_state_dict(*args, **kwargs)

    def _apply(self, fn, *args, **kwargs):
        self._spacing.clear()  # .to(), .half(), ...: fit_pos may change dtype or device
        return super()._apply(fn, *args, **kwargs)

    @torch.no_grad()
    def fit_closed_form(self, batches, num_classes: int) -> None:
        """:meth:`fit_spatial_filters` on the training ``batches`` (dicts with ``x (B, C, T)``, ``y (B,)``,
        ``pos (B, C, 3)``), which must share one montage and window length (no channel padding)."""
        xs, ys, pos = [], [], None
        for batch in batches:
            x = torch.as_tensor(batch["x"])
            mask = batch.get("ch_mask")
            p = batch.get("pos")
            p = torch.zeros(1, x.shape[1], 3) if p is None else torch.as_tensor(p).float().cpu()
            mixed = not bool((p == p[0]).all())
            p = p[0]
            if mixed or (mask is not None and not bool(torch.as_tensor(mask).all())) \
                    or (pos is not None and not torch.equal(p, pos)) or (xs and x.shape[1:] != xs[0].shape[1:]):
                raise ConfigError("model.tokenizer.spatial_init: lda needs training windows of one montage and "
                                  "length; set it to null for mixed montages")
            pos = p
            xs.append(x.float().cpu())
            ys.append(torch.as_tensor(batch["y"]).reshape(-1).cpu())
        if not xs:
            raise ConfigError("data.split: the training split has no windows to fit the spatial filters on")
        self.fit_spatial_filters(torch.cat(xs), torch.cat(ys), num_classes, pos)

    @torch.no_grad()
    def fit_spatial_filters(self, x: Tensor, y: Tensor, num_classes: int, pos: Tensor | None = None) -> Tensor:
        """Closed-form spatial filters from training windows ``x (N, C, T)`` and class ids ``y (N,)``.

        The shrinkage LDA (:func:`signalkit.heads.lda.fit_shrinkage_lda`) of every channel's mean-removed,
        decimated waveform gives one ``(C, n_tokens)`` weight map per class; with the maps centred over the
        classes (softmax ignores a common shift) and laid side by side, ``M (C, K * n_tokens)``, its
        leading ``dim`` left singular vectors are the filters (unit norm): the rank-``dim`` spatial
        subspace of the LDA's decision, as xDAWN's filters span the class-mean ERPs' subspace. They are
        stored with the montage ``pos (C, 3)`` (zeros: unknown) and returned ``(dim, C)``; the keyed and
        index filters are set to 0, so the tokenizer's filters are these until fine-tuning moves them.
        """
        from signalkit.heads.lda import fit_shrinkage_lda

        n, c = x.shape[0], x.shape[1]
        if c > self.fit_filters.shape[1]:
            raise ConfigError(f"model.tokenizer.max_channels: {c} channels, more than {self.fit_filters.shape[1]}")
        yy = torch.as_tensor(y).reshape(-1).cpu().numpy()
        present = training_classes(yy, num_classes, "model.tokenizer.spatial_init=lda", "spatial filters")
        v = x.detach().float()
        if self.remove_mean:
            v = remove_window_mean(v)
        v = decimate_mean(v, self.n_tokens)  # (N, C, P)
        weight, _ = fit_shrinkage_lda(v.reshape(n, -1).cpu().numpy().astype(np.float64), yy, num_classes)
        wk = weight[present].astype(np.float64).reshape(len(present), c, self.n_tokens)
        wk = wk - wk.mean(0, keepdims=True)
        m = wk.transpose(1, 0, 2).reshape(c, -1)  # (C, K * P)
        u = np.linalg.svd(m, full_matrices=False)[0]  # (C, min(C, K * P))
        filt = np.zeros((self.dim, c))
        r = min(self.dim, u.shape[1])
        filt[:r] = u[:, :r].T
        out = torch.from_numpy(filt).to(self.fit_filters)
        self.fit_filters.zero_()
        self.fit_filters[:, :c] = out
        self.fit_pos.zero_()
        if pos is not None:
            self.fit_pos[:c] = pos.detach().reshape(c, 3).to(self.fit_pos)
        self.fit_count.fill_(c)
        self._spacing.clear()
        if int((self.fit_pos[:c].abs().sum(-1) > 0).sum()) >= 2:
            self.fit_spacing(self.fit_pos.dtype)  # computed once here, with the fit
        self.queries.zero_()
        self.index_filters.zero_()
        return out

    def forward(self, batch: dict) -> Tensor:
        v = torch.einsum("bsc,bct->bst", self.spatial_filters(batch), batch["x"])  # (B, S, T)
        if self.remove_mean:
            v = remove_window_mean(v)
        return self.drop(self.norm(decimate_mean(v, self.n_tokens)))  # (B, S, n_tokens)

    def token_mask(self, batch: dict) -> None:
        """Every token is real."""
        return None
