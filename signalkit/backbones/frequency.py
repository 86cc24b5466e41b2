"""Frequency family: AFNO (block-diagonal spectral MLP) and GFNet (learned global filter).

Non-causal: FFT (``torch.fft.rfftn``) over every grid axis, mix in the frequency domain, inverse
FFT. This is a global, circular token mixer.

Causal (``causal=True``): an FFT along grid axis 0 would let every time step see the future.
So the spectral mixing is restricted to the NON-causal axes ``1..ndim-1`` (applied to each time
step independently), preceded by a causal implicit long convolution along axis 0
(:class:`~signalkit.backbones.hyena.AxisLongConv`, linear, zero padded, through ``fftconv``).
For a 1-D causal grid there is no non-causal axis: the AFNO MLP then acts per position (channel
mixing only) and the GFNet filter degenerates to a per-channel scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError
from signalkit.kernels import afno_mlp

from .common import Backbone
from .hyena import AxisLongConv
from .registry import register_backbone


def spectral_axes(x: torch.Tensor, causal: bool) -> list[int]:
    """Tensor dims the FFT may mix: every grid axis, or all but grid axis 0 when causal."""
    return list(range(3 if causal else 2, x.dim()))


def mode_mask(shape: list[int], last_full: int, fraction: float, device: torch.device) -> torch.Tensor:
    """Boolean mask over an rfftn spectrum keeping the lowest ``fraction`` of |frequencies| per axis."""
    mask = torch.ones(shape, dtype=torch.bool, device=device)
    for i, n in enumerate(shape):
        full = last_full if i == len(shape) - 1 else n
        f = torch.fft.rfftfreq(full, device=device) if i == len(shape) - 1 else torch.fft.fftfreq(full, device=device)
        keep = f.abs() <= 0.5 * fraction + 1e-9
        mask &= keep.view(*([1] * i), n, *([1] * (len(shape) - i - 1)))
    return mask


class AFNOMixer(nn.Module):
    """Adaptive Fourier neural operator mixer; ``(B, D, *grid) -> (B, D, *grid)``.

    Args:
        num_blocks: block-diagonal blocks ``nb`` of the complex MLP (must divide D).
        hidden_factor: hidden width factor of each block.
        sparsity_threshold: soft-shrinkage lambda.
        modes: keep only the lowest ``modes`` fraction of frequencies per axis (None = all).
    """

    def __init__(
        self, dim: int, ndim: int, *, num_blocks: int = 8, hidden_factor: int = 1,
        sparsity_threshold: float = 0.01, modes: float | None = None, causal: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        if num_blocks < 1 or dim % num_blocks:
            raise ConfigError(f"backbone: num_blocks={num_blocks} must divide dim={dim}")
        if modes is not None and not 0.0 < float(modes) <= 1.0:
            raise ConfigError(f"backbone: modes must be a fraction in (0, 1] or null, got {modes!r}")
        nb, bs, hid = num_blocks, dim // num_blocks, (dim // num_blocks) * int(hidden_factor)
        # fan-in scaled (complex: real and imaginary parts each carry half the variance), so that
        # spectra survive the soft shrinkage at init whatever the block size
        self.w1 = nn.Parameter(torch.randn(2, nb, bs, hid) / math.sqrt(2 * bs))
        self.b1 = nn.Parameter(0.02 * torch.randn(2, nb, hid))
        self.w2 = nn.Parameter(torch.randn(2, nb, hid, bs) / math.sqrt(2 * hid))
        self.b2 = nn.Parameter(0.02 * torch.randn(2, nb, bs))
        self.threshold, self.modes = float(sparsity_threshold), modes
        self.causal, self.backend = causal, backend
        self.time = AxisLongConv(dim, causal=True, backend=backend) if causal else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time is not None:
            x = self.time(x)
        axes = spectral_axes(x, self.causal)
        work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        if not axes:  # 1-D causal: the spectral MLP acts per position
            y = afno_mlp(torch.complex(work, torch.zeros_like(work)).movedim(1, -1), self.w1, self.b1,
                         self.w2, self.b2, sparsity_threshold=self.threshold, backend=self.backend)
            return y.real.movedim(-1, 1).to(x.dtype)
        xf = torch.fft.rfftn(work, dim=axes, norm="ortho").movedim(1, -1)
        yf = afno_mlp(xf, self.w1, self.b1, self.w2, self.b2, sparsity_threshold=self.threshold,
                      backend=self.backend)
        if self.modes is not None:
            mask = mode_mask(list(yf.shape[-1 - len(axes) : -1]), x.shape[-1], float(self.modes), x.device)
            yf = yf * mask.unsqueeze(-1)
        y = torch.fft.irfftn(yf.movedim(-1, 1), s=[x.shape[a] for a in axes], dim=axes, norm="ortho")
        return y.to(x.dtype)


class GlobalFilterMixer(nn.Module):
    """GFNet global filter; ``(B, D, *grid) -> (B, D, *grid)``.

    A learned complex filter of nominal grid ``filter_size`` per spectral axis; for another grid
    the filter is resampled (real and imaginary parts, linear interpolation on the fftshifted
    spectrum) to the input's rfft shape.
    """

    def __init__(
        self, dim: int, ndim: int, *, filter_size: int = 16, causal: bool = False, backend: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(filter_size, int) or filter_size < 2:
            raise ConfigError(f"backbone: filter_size must be an int >= 2, got {filter_size!r}")
        n = ndim - 1 if causal else ndim
        self.nominal = [filter_size] * n
        fshape = [filter_size] * (n - 1) + [filter_size // 2 + 1] if n else []
        w = torch.zeros(dim, *fshape, 2)
        w[..., 0] = 1.0  # identity filter at init, plus noise
        self.weight = nn.Parameter(w + 0.02 * torch.randn_like(w))
        self.causal = causal
        self.time = AxisLongConv(dim, causal=True, backend=backend) if causal else None

    def filter_for(self, spec_shape: list[int]) -> torch.Tensor:
        """Complex filter ``(D, *spec_shape)`` resampled from the learned one if needed."""
        w = self.weight
        if list(w.shape[1:-1]) != spec_shape:
            n = len(spec_shape)
            full_axes = list(range(1, n))  # all spectral axes but the rfft one (dims of w[..., c])
            w = torch.fft.fftshift(w, dim=full_axes) if full_axes else w
            w = w.movedim(-1, 1).reshape(1, -1, *w.shape[1:-1])  # (1, D*2, *fshape)
            mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[n]
            w = F.interpolate(w, size=spec_shape, mode=mode, align_corners=True)
            w = w.reshape(self.weight.shape[0], 2, *spec_shape).movedim(1, -1)
            w = torch.fft.ifftshift(w, dim=full_axes) if full_axes else w
        return torch.view_as_complex(w.contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time is not None:
            x = self.time(x)
        axes = spectral_axes(x, self.causal)
        work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        if not axes:
            return (work * self.weight[..., 0].view(1, -1, 1)).to(x.dtype)
        xf = torch.fft.rfftn(work, dim=axes, norm="ortho")
        filt = self.filter_for(list(xf.shape[3 if self.causal else 2 :]))
        if self.causal:
            filt = filt.unsqueeze(1)  # broadcast over time
        y = torch.fft.irfftn(xf * filt.to(xf.dtype), s=[x.shape[a] for a in axes], dim=axes, norm="ortho")
        return y.to(x.dtype)


AFNO_SIZES: dict[str, dict] = {  # create_backbone("afno", size=...)
    "tiny": {"dim": 64, "depth": 4, "num_blocks": 4, "hidden_factor": 1, "sparsity_threshold": 0.01, "modes": None, "mlp_ratio": 4.0},
    "small": {"dim": 256, "depth": 8, "num_blocks": 8, "hidden_factor": 1, "sparsity_threshold": 0.01, "modes": None, "mlp_ratio": 4.0},
    "base": {"dim": 512, "depth": 12, "num_blocks": 8, "hidden_factor": 1, "sparsity_threshold": 0.01, "modes": None, "mlp_ratio": 4.0},
}


@register_backbone("afno", sizes=AFNO_SIZES)
class AFNOBackbone(Backbone):
    """AFNO backbone (FourCastNet-style token mixer).

    Family kwargs: ``num_blocks``, ``hidden_factor``, ``sparsity_threshold``, ``modes``, ``mlp_ratio``.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, num_blocks: int = 8, hidden_factor: int = 1,
        sparsity_threshold: float = 0.01, modes: float | None = None, mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: AFNOMixer(
                dim, ndim, num_blocks=num_blocks, hidden_factor=hidden_factor,
                sparsity_threshold=sparsity_threshold, modes=modes, causal=causal, backend=backend,
            ),
            mlp_ratio=mlp_ratio,
        )


GFNET_SIZES: dict[str, dict] = {  # create_backbone("gfnet", size=...)
    "tiny": {"dim": 64, "depth": 4, "filter_size": 16, "mlp_ratio": 4.0},
    "small": {"dim": 128, "depth": 8, "filter_size": 16, "mlp_ratio": 4.0},
    "base": {"dim": 256, "depth": 12, "filter_size": 32, "mlp_ratio": 4.0},
}


@register_backbone("gfnet", sizes=GFNET_SIZES)
class GFNetBackbone(Backbone):
    """GFNet backbone (learned global filters). Family kwargs: ``filter_size``, ``mlp_ratio``."""

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, filter_size: int = 16, mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: GlobalFilterMixer(dim, ndim, filter_size=filter_size, causal=causal, backend=backend),
            mlp_ratio=mlp_ratio,
        )
