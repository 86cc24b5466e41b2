"""PyTorch reference (and CPU path) of the AFNO block-diagonal complex MLP (FourCastNet AFNO2D)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _bmm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``(..., nb, i) x (nb, i, o) -> (..., nb, o)``."""
    return torch.einsum("...bi,bio->...bo", x, w)


def afno_mlp_reference(
    xf: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    *,
    sparsity_threshold: float = 0.01,
) -> torch.Tensor:
    """AFNO spectral MLP, exactly as FourCastNet's ``AFNO2D.forward`` between the two FFTs.

    Args:
        xf: complex ``(..., C)``, ``C = nb * bs``.
        w1: ``(2, nb, bs, bs * hf)``; b1: ``(2, nb, bs * hf)``; w2: ``(2, nb, bs * hf, bs)``;
            b2: ``(2, nb, bs)``. Index 0 is the real part, 1 the imaginary part.

    Returns:
        complex ``(..., C)``.
    """
    nb, bs = w1.shape[1], w1.shape[2]
    xr = torch.view_as_real(xf)
    work = torch.promote_types(torch.promote_types(xr.dtype, w1.dtype), torch.float32)
    xr = xr.to(work)
    x = xr.reshape(*xr.shape[:-2], nb, bs, 2)
    re, im = x[..., 0], x[..., 1]
    w1, b1, w2, b2 = (t.to(work) for t in (w1, b1, w2, b2))
    o1r = F.relu(_bmm(re, w1[0]) - _bmm(im, w1[1]) + b1[0])
    o1i = F.relu(_bmm(im, w1[0]) + _bmm(re, w1[1]) + b1[1])
    o2r = _bmm(o1r, w2[0]) - _bmm(o1i, w2[1]) + b2[0]
    o2i = _bmm(o1i, w2[0]) + _bmm(o1r, w2[1]) + b2[1]
    out = torch.stack([o2r, o2i], dim=-1)
    out = F.softshrink(out, lambd=sparsity_threshold)
    out = out.reshape(*xr.shape[:-2], nb * bs, 2).to(torch.view_as_real(xf).dtype).contiguous()
    return torch.view_as_complex(out)
