"""Reconstruction targets other than the signal itself: per-token log power and log spectra.

Used by :class:`signalkit.tasks.reconstruction.ReconstructionTask` (``target=logpower|logspec``
and ``spectral_weight``); every function works along one signal dimension ``dim`` cut into
``patch``-sample tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


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


TARGETS = ("signal", "logpower", "logspec")


def _segments(t: Tensor, dim: int, patch: int) -> Tensor:
    """``t`` with ``dim`` moved last, zero-padded and split into ``(..., K, patch)`` segments."""
    t = t.float().movedim(dim, -1)
    pad = (-t.shape[-1]) % patch
    return F.pad(t, (0, pad)).unflatten(-1, (-1, patch))


def _unsegment(seg: Tensor, dim: int, n: int) -> Tensor:
    """Inverse of :func:`_segments`: ``(..., K, patch)`` -> length ``n`` along ``dim``."""
    return seg.flatten(-2)[..., :n].movedim(-1, dim)


def logpower_target(x: Tensor, dim: int, patch: int, sfreq: float | None = None,
                    band: Sequence[float] | None = None, eps: float = 1e-3) -> Tensor:
    """Log mean power of each ``patch``-sample token of ``x`` along ``dim`` (constant within it).

    With ``band = (lo, hi)`` Hz (needs ``sfreq``) ``x`` is first band-passed over the whole window
    (FFT brick-wall). ``x (B, C, T)`` -> ``(B, C, T)``. Phase-free: the amplitude envelope of a
    rhythm is predictable from its context where its phase is not.
    """
    xf = x.float()
    if band is not None:
        n = xf.shape[dim]
        spec = torch.fft.rfft(xf, dim=dim)
        freqs = torch.fft.rfftfreq(n, 1.0 / float(sfreq)).to(x.device)
        keep = ((freqs >= float(band[0])) & (freqs <= float(band[1]))).to(spec.dtype)
        shape = [1] * xf.dim()
        shape[dim] = -1
        xf = torch.fft.irfft(spec * keep.view(shape), n=n, dim=dim)
    seg = _segments(xf, dim, patch)
    power = torch.log(seg.pow(2).mean(-1, keepdim=True) + eps).expand_as(seg)
    return _unsegment(power.contiguous(), dim, x.shape[dim])


def logspec_target(x: Tensor, dim: int, patch: int, eps: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Log power spectrum of each ``patch``-sample token (Hann window) along ``dim``.

    Returns ``(target, valid)`` shaped like ``x``: within each token the first ``patch // 2 + 1``
    samples hold the log power of the frequency bins 0 .. sfreq/2 and ``valid`` is 1 there, 0 on
    the remaining samples (which the loss ignores).
    """
    seg = _segments(x, dim, patch)
    window = torch.hann_window(patch, periodic=False, device=x.device, dtype=seg.dtype)
    spec = torch.log(torch.fft.rfft(seg * window, dim=-1).abs().pow(2) / patch + eps)
    nb = spec.shape[-1]
    target = F.pad(spec, (0, patch - nb))
    valid = torch.zeros(patch, device=x.device, dtype=seg.dtype)
    valid[:nb] = 1.0
    return _unsegment(target, dim, x.shape[dim]), _unsegment(valid.expand_as(seg).contiguous(), dim, x.shape[dim])


def standardize(target: Tensor, dim: int, patch: int, valid: Tensor | None = None, eps: float = 1e-6) -> Tensor:
    """``target`` minus its mean, over the batch, over the time tokens, per within-token position,
    divided by its standard deviation (statistics detached; ``valid`` picks the samples that count).

    Log powers sit far from zero (a large offset the head would spend its first steps on); this
    puts the trivial predictor at zero and an NMSE of 1.
    """
    t = _segments(target, dim, patch)
    w = torch.ones_like(t) if valid is None else _segments(valid, dim, patch)
    dims = tuple(range(t.dim() - 1))
    n = w.sum(dims).clamp(min=1.0)
    mean = (t * w).sum(dims) / n
    std = ((((t - mean) ** 2) * w).sum(dims) / n).sqrt()
    out = ((t - mean) / (std + eps)).detach() * w
    return _unsegment(out, dim, target.shape[dim])
