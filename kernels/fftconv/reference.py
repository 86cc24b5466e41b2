"""PyTorch reference (and CPU path) of the long FFT convolution."""

from __future__ import annotations

import torch


def next_fast_len(n: int) -> int:
    """Smallest ``m >= n`` whose only prime factors are 2, 3, 5 and 7 (fast for cuFFT/pocketfft)."""
    if n <= 1:
        return 1
    best = 1 << (n - 1).bit_length()
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                m = p3
                while m < n:
                    m *= 2
                best = min(best, m)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return best


def fft_size(L: int, Lk: int) -> int:
    """FFT length used for a signal of length ``L`` and a kernel of length ``Lk``: >= L + Lk."""
    return next_fast_len(L + Lk)


def output_offset(Lk: int, causal: bool) -> int:
    """Index into the full linear convolution where the output starts (0 causal, Lk//2 centred)."""
    return 0 if causal else Lk // 2


def fftconv_reference(
    u: torch.Tensor,
    k: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    gate: torch.Tensor | None = None,
    causal: bool = True,
) -> torch.Tensor:
    """Linear (never circular) convolution of ``u`` with ``k`` through ``torch.fft``.

    Args:
        u: ``(B, C, L)``.
        k: ``(C, Lk)``, ``Lk <= L``.
        D: ``(C,)`` skip weight or None.
        gate: ``(B, C, L)`` or None, multiplies the output after the skip.

    Returns:
        ``(B, C, L)`` in ``u.dtype`` (half inputs are computed in float32).
    """
    L, Lk = u.shape[-1], k.shape[-1]
    n = fft_size(L, Lk)
    work = torch.promote_types(u.dtype, torch.float32)
    uf = torch.fft.rfft(u.to(work), n=n)
    kf = torch.fft.rfft(k.to(work), n=n)
    full = torch.fft.irfft(uf * kf, n=n)
    off = output_offset(Lk, causal)
    y = full[..., off : off + L]
    if D is not None:
        y = y + D.to(work).unsqueeze(-1) * u.to(work)
    if gate is not None:
        y = y * gate.to(work)
    return y.to(u.dtype)
