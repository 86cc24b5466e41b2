"""Band-power (CSP-like) EEG/MEG tokenizer: montage-agnostic spatial filters, band-pass filter bank, log-variance.

Why: on EEGMMIDB fists/feet the class information is the mu/beta (8-30 Hz) power over motor cortex
(event-related desynchronisation), while 57 % of the broadband power is below 4 Hz. CSP + LDA on 8-30 Hz
is perfect there; the same CSP + LDA on the broadband windows is at chance (0.46-0.62), and so are the
deep models that have to find the band and the spatial contrast from 30 windows (benchmarks/RECORDED.md).
This tokenizer builds that prior in, trainable end to end:

1. **Spatial filters keyed by sensor position** (any montage, any channel order): a filter is a linear
   combination ``w = Phi(pos) a`` of ``n_basis`` Gaussian bumps on the unit sphere of sensor directions
   (centres on a Fibonacci lattice), so the parameters ``a`` belong to the head, not to a channel list.
   Channels without a position (all-zero ``pos``) get one free basis column per channel index instead.
2. **Band-pass filter bank**: fixed windowed-sinc FIR filters (``bands`` in Hz, designed from ``sfreq``),
   applied to the spatially filtered signals (both linear: spatial-then-temporal costs ``S / C`` of
   filtering every channel).
3. **Log-variance** of each filtered signal over ``n_tokens`` blocks of the window, then batch norm.

:meth:`fit_closed_form` sets the spatial filters by CSP on the training windows (regularised
generalised eigenvectors of each class's band-passed covariance against the average, computed in the
basis space, so windows of different montages pool); the decoding task calls it when training starts,
before the shrinkage-LDA read-out (``model.head.readout: lda``), and fine-tunes both from there.

With ``deep`` (keyword arguments of :class:`~signalkit.tokenizers.sensor_filter.SensorFilterTokenizer`)
an EEGNet-style branch runs beside it and its flattened tokens are concatenated to the band powers.
Output: ``(B, dim, 1)`` with ``dim = len(bands) * filters * n_tokens (+ deep.dim * deep.n_tokens)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.tokenizers.registry import register_tokenizer
from signalkit.tokenizers.sensor import channel_context, training_classes


def fir_bandpass(lo: float, hi: float, sfreq: float, taps: int) -> np.ndarray:
    """Windowed-sinc (Hamming) band-pass FIR ``(taps,)`` for ``lo``-``hi`` Hz at ``sfreq``, unit gain at the
    band centre (the design of ``scipy.signal.firwin(taps, [lo, hi], pass_zero=False, fs=sfreq)``); ``taps`` odd."""
    n = np.arange(taps) - (taps - 1) / 2
    h = (2 * hi / sfreq) * np.sinc(2 * hi / sfreq * n) - (2 * lo / sfreq) * np.sinc(2 * lo / sfreq * n)
    h = h * np.hamming(taps)
    centre = (lo + hi) / 2
    gain = np.abs(np.sum(h * np.exp(-2j * np.pi * centre / sfreq * np.arange(taps))))
    return h / gain


def fibonacci_sphere(n: int) -> np.ndarray:
    """``n`` near-uniform unit vectors ``(n, 3)`` (Fibonacci lattice)."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    r = np.sqrt(1 - z**2)
    phi = math.pi * (3 - math.sqrt(5)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], -1)


def sphere_centre(pos: Tensor, known: Tensor) -> Tensor:
    """Least-squares sphere centre ``(B, 3)`` of each montage's known sensor positions ``pos (B, C, 3)``
    (``known (B, C)`` bool): ``|p|^2 = 2 p . c + r^2 - |c|^2`` solved linearly; the origin where fewer than
    4 sensors are known or the fit is degenerate (e.g. coplanar sensors)."""
    p = pos.double() * known[..., None]
    a = torch.cat([2 * p, known[..., None].double()], -1)  # (B, C, 4)
    rhs = p.square().sum(-1, keepdim=True)
    ata = a.transpose(1, 2) @ a + 1e-12 * torch.eye(4, dtype=a.dtype, device=a.device)
    sol = torch.linalg.solve(ata, a.transpose(1, 2) @ rhs)[..., 0]  # (B, 4)
    centre = sol[:, :3]
    ok = (known.sum(1) >= 4) & (torch.linalg.matrix_rank(ata) == 4) & (centre.norm(dim=-1) < 10 * p.norm(dim=-1).amax(1))
    return torch.where(ok[:, None], centre, torch.zeros_like(centre)).to(pos.dtype)


def csp_filters(class_covs: np.ndarray, n_filters: int, shrinkage: float) -> np.ndarray:
    """CSP spatial filters ``(n_filters, d)`` from per-class covariances ``(K, d, d)``.

    Each class covariance (shrunk towards ``mean eigenvalue * I`` by ``shrinkage``) against the average
    of all classes': generalised eigenvectors ``c_k w = lambda avg w``, taken by decreasing
    ``|log r|`` of the power ratio of the class against the rest, ``r = (K - 1) lambda / (K - lambda)``
    (largest either way; for two classes ``r`` is class 0's power over class 1's), round-robin over the
    classes (for two classes both classes give the same vectors, so class 0's are used: the textbook
    CSP). Each filter is scaled to unit output variance on the average covariance. A rank-deficient
    average (fewer channels than basis columns and no shrinkage) gets a 1e-10 ridge.
    """
    from scipy.linalg import eigh

    k, d, _ = class_covs.shape
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"CSP: shrinkage must be in [0, 1], got {shrinkage}")
    covs = [(1 - shrinkage) * c + shrinkage * np.trace(c) / d * np.eye(d) for c in class_covs]
    avg = sum(covs) / k
    avg = avg + 1e-10 * max(np.trace(avg) / d, 1e-30) * np.eye(d)  # positive definite for eigh
    ranked = []
    for c in covs[:1] if k == 2 else covs:
        vals, vecs = eigh(c, avg)
        # power ratio of this class against the rest (not against the average, whose ratio is capped at k)
        ratio = (k - 1) * np.clip(vals, 1e-12, None) / np.clip(k - vals, 1e-12, None)
        order = np.argsort(-np.abs(np.log(ratio)))
        ranked.append(vecs[:, order].T)
    out = [ranked[i % len(ranked)][i // len(ranked)] for i in range(min(n_filters, d * len(ranked)))]
    w = np.stack(out)
    while len(w) < n_filters:  # fewer basis dimensions than filters: repeat
        w = np.concatenate([w, w[: n_filters - len(w)]])
    scale = np.sqrt(np.einsum("sd,de,se->s", w, avg, w)).clip(1e-12)
    return w / scale[:, None]


@register_tokenizer("sensor_bandpower")
class SensorBandPowerTokenizer(nn.Module):
    """``x (B, C, T)`` -> tokens ``(B, dim, 1)``: log band power of CSP-like spatial filters (+ optional deep branch).

    Args:
        dim: token width; must equal ``len(bands) * filters * n_tokens`` (+ ``deep.dim * deep.n_tokens``).
        bands: pass bands ``[[lo, hi], ...]`` in Hz (``0 < lo < hi < sfreq / 2``).
        filters: spatial filters per band.
        n_tokens: blocks of the window whose log-variance is taken (1: the whole window, as CSP).
        filter_s: FIR length in seconds (odd number of taps, at most the window).
        n_basis: Gaussian bumps on the sphere of sensor directions that span the spatial filters.
        basis_width: their width (chord distance on the unit sphere).
        shrinkage: covariance shrinkage of the closed-form CSP.
        closed_form: let the task set the spatial filters by CSP when training starts.
        deep: keyword arguments of the ``sensor_filter`` tokenizer for a parallel branch, or ``None``.
        dropout: dropout on the output features.
        sfreq: sampling rate in Hz (filled from the data contract by the decoding task); required.
        max_channels: most channels without a known position (free basis column per index).
    """

    grid_ndim = 1

    def __init__(self, dim: int = 12, bands: list | None = None, filters: int = 6, n_tokens: int = 1,
                 filter_s: float = 0.5, n_basis: int = 128, basis_width: float = 0.3, shrinkage: float = 0.1,
                 closed_form: bool = True, deep: dict | None = None, dropout: float = 0.0,
                 sfreq: float | None = None, max_channels: int = 512):
        super().__init__()
        bands = [[8.0, 30.0]] if bands is None else [list(map(float, b)) for b in bands]
        if sfreq is None or not sfreq > 0:
            raise ConfigError(f"model.tokenizer.sfreq: the band-pass filters need the sampling rate (> 0), got {sfreq}")
        for key, v in (("filters", filters), ("n_tokens", n_tokens), ("n_basis", n_basis), ("max_channels", max_channels)):
            if int(v) < 1:
                raise ConfigError(f"model.tokenizer.{key}: must be >= 1, got {v}")
        if not bands:
            raise ConfigError("model.tokenizer.bands: needs at least one [lo, hi] band")
        for b in bands:
            if len(b) != 2 or not 0 < b[0] < b[1] < sfreq / 2:
                raise ConfigError(f"model.tokenizer.bands: each band is [lo, hi] with 0 < lo < hi < sfreq / 2 "
                                  f"({sfreq / 2:g} Hz), got {b}")
        if not 0.0 <= shrinkage <= 1.0:
            raise ConfigError(f"model.tokenizer.shrinkage: must be in [0, 1], got {shrinkage}")
        if not basis_width > 0:
            raise ConfigError(f"model.tokenizer.basis_width: must be > 0, got {basis_width}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.tokenizer.dropout: must be in [0, 1), got {dropout}")
        if not filter_s > 0:
            raise ConfigError(f"model.tokenizer.filter_s: must be > 0, got {filter_s}")
        self.bands, self.filters, self.n_tokens_bp = bands, int(filters), int(n_tokens)
        self.shrinkage, self.closed_form, self.basis_width = float(shrinkage), bool(closed_form), float(basis_width)
        self.n_spatial = len(bands) * self.filters
        self.deep = None
        width = self.n_spatial * self.n_tokens_bp
        if deep:
            from signalkit.tokenizers.sensor_filter import SensorFilterTokenizer

            deep = dict(deep)
            deep.setdefault("sfreq", sfreq)
            try:
                self.deep = SensorFilterTokenizer(**deep)
            except TypeError as e:
                raise ConfigError(f"model.tokenizer.deep: {e}") from None
            width += self.deep.dim * self.deep.n_tokens
        if int(dim) != width:
            raise ConfigError(f"model.dim: the sensor_bandpower tokenizer gives {width} features "
                              f"(len(bands) * filters * n_tokens{' + deep.dim * deep.n_tokens' if deep else ''}), got {dim}")
        self.dim, self.n_tokens = width, 1
        taps = int(round(filter_s * sfreq)) // 2 * 2 + 1
        kernels = np.stack([fir_bandpass(lo, hi, sfreq, taps) for lo, hi in bands])
        self.register_buffer("fir", torch.tensor(kernels, dtype=torch.float32)[:, None], persistent=False)
        self.register_buffer("centres", torch.tensor(fibonacci_sphere(int(n_basis)), dtype=torch.float32),
                             persistent=False)
        self.max_channels = int(max_channels)
        # spatial filter coefficients over [sphere basis | per-index columns], one row per (band, filter)
        self.coef = nn.Parameter(torch.randn(self.n_spatial, int(n_basis) + self.max_channels) / math.sqrt(n_basis))
        self.norm = nn.BatchNorm1d(self.n_spatial)
        self.drop = nn.Dropout(dropout)

    # ------------------------------------------------------------------ pieces
    def basis(self, batch: dict) -> Tensor:
        """``(B, C, n_basis + max_channels)``: Gaussian bumps of each sensor's direction from the montage's
        fitted sphere centre (:func:`sphere_centre`), or a one-hot
        index column for channels without a position; 0 on padded channels."""
        mask, pos, _ = channel_context(batch)
        b, c = mask.shape
        if c > self.max_channels:
            raise ConfigError(f"model.tokenizer.max_channels: {c} channels, more than {self.max_channels}")
        known = (pos.abs().sum(-1) > 0) & mask
        u = F.normalize(pos.float() - sphere_centre(pos.float(), known)[:, None], dim=-1)
        d2 = (u[:, :, None, :] - self.centres[None, None]).square().sum(-1)  # (B, C, J)
        sphere = torch.exp(-d2 / (2 * self.basis_width**2)) * known[..., None]
        index = torch.eye(c, self.max_channels, device=pos.device)[None] * (mask & ~known)[..., None]
        return torch.cat([sphere, index], -1).to(batch["x"].dtype)

    def band_pass(self, v: Tensor, groups: int) -> Tensor:
        """``v (B, len(bands) * groups, T)``: row block ``i`` filtered by band ``i`` (reflect padding)."""
        k = self.fir.shape[-1]
        t = v.shape[-1]
        w = self.fir.to(v.dtype).repeat_interleave(groups, 0)
        if k > t:  # window shorter than the FIR: keep its centre (odd length)
            m = t if t % 2 else t - 1
            w = w[..., (k - m) // 2:(k - m) // 2 + m]
            k = m
        mode = "reflect" if k // 2 < t else "replicate"
        return F.conv1d(F.pad(v, (k // 2, k // 2), mode=mode), w, groups=v.shape[1])

    def log_power(self, batch: dict) -> Tensor:
        """Log-variance features ``(B, n_spatial, n_tokens)`` before batch norm."""
        phi = self.basis(batch)
        w = torch.einsum("sj,bcj->bsc", self.coef.to(phi.dtype), phi)
        v = self.band_pass(torch.einsum("bsc,bct->bst", w, batch["x"]), self.filters)
        return torch.log(F.adaptive_avg_pool1d(v.square(), self.n_tokens_bp) + 1e-6)

    def forward(self, batch: dict) -> Tensor:
        feats = self.norm(self.log_power(batch)).flatten(1)
        if self.deep is not None:
            feats = torch.cat([feats, self.deep(batch).flatten(1)], 1)
        return self.drop(feats)[..., None]  # (B, dim, 1)

    def token_mask(self, batch: dict) -> None:
        """Every token is real."""
        return None

    # ------------------------------------------------------------------ closed form
    @torch.no_grad()
    def basis_covariances(self, batches) -> tuple[np.ndarray, np.ndarray, Tensor]:
        """Band-passed covariances of the windows in the basis space: ``(N, bands, J', J')`` over the basis
        columns that any window uses (``J'``), their class ids ``(N,)`` and those columns ``(J,)`` bool."""
        covs, ys, active = [], [], None
        nb = len(self.bands)
        for batch in batches:
            phi = self.basis(batch).double()  # (B, C, J)
            z = torch.einsum("bcj,bct->bjt", phi, batch["x"].double())  # (B, J, T)
            used = phi.abs().sum((0, 1)) > 0
            active = used if active is None else active | used
            b, j, t = z.shape
            zf = self.band_pass(z.repeat(1, nb, 1), j).view(b, nb, j, t)
            zf = zf - zf.mean(-1, keepdim=True)
            covs.append(torch.einsum("bnjt,bnkt->bnjk", zf, zf) / t)
            ys.append(torch.as_tensor(batch["y"]).reshape(-1).cpu())
        active = active.cpu()
        cov = torch.cat(covs).cpu()[:, :, active][:, :, :, active]
        return cov.numpy(), torch.cat(ys).numpy(), active

    @torch.no_grad()
    def fit_closed_form(self, batches, num_classes: int) -> None:
        """CSP per band on the training ``batches`` (:func:`csp_filters`), written into ``coef``."""
        cov, y, active = self.basis_covariances(batches)
        present = training_classes(y, num_classes, "model.tokenizer.closed_form", "CSP filters")
        coef = torch.zeros_like(self.coef, dtype=torch.float64)
        idx = torch.nonzero(active).flatten()
        for i in range(len(self.bands)):
            class_covs = np.stack([cov[y == k, i].mean(0) for k in present])
            w = csp_filters(class_covs, self.filters, self.shrinkage)
            coef[i * self.filters:(i + 1) * self.filters, idx] = torch.from_numpy(w)
        self.coef.copy_(coef.to(self.coef.dtype))
