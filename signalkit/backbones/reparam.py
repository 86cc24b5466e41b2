"""Re-parameterisable depthwise branches (UniRepLKNet's dilated reparam block, per grid axis).

During training a :class:`RepDWConv` runs several parallel depthwise kernels ``(k_i, d_i)`` along
one grid axis, each followed by its own :class:`BranchNorm`, and sums them. ``reparameterize()``
folds every norm into its kernel, expands dilated kernels to dense ones and adds all branches
into a single ``(D, K)`` kernel (``K = max (k_i - 1) d_i + 1``): inference outputs are unchanged.

Causality. A BatchNorm in training mode normalises with statistics of the current batch, which
include positions in the future of the causal axis: a leak. With ``causal=True`` the norm instead
normalises with its *running* statistics from previous steps (they are updated after use and never
receive gradients), so an output at ``t`` depends on inputs at ``<= t`` only, in training and in
evaluation; the fold is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError
from signalkit.kernels import dwconv

from .common import grid_dim


class BranchNorm(nn.Module):
    """Per-channel BatchNorm over ``(B, *grid)`` of a ``(B, D, *grid)`` tensor, foldable into a conv.

    ``causal=False``: standard BatchNorm (batch statistics in training, running ones in eval).
    ``causal=True``: always normalises with the running statistics held before this call
    (see module docstring), then updates them from the batch without gradient.
    """

    def __init__(self, dim: int, causal: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.causal, self.momentum, self.eps = causal, momentum, eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def _shape(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return v.view(1, -1, *([1] * (x.dim() - 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, *grid) -> (B, D, *grid)``."""
        fused = x.dtype == self.running_mean.dtype and x.numel() > x.shape[1]  # F.batch_norm can run
        if self.training and not self.causal and fused:  # standard BatchNorm, one fused pass
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                True, self.momentum, self.eps)
        dims = [0, *range(2, x.dim())]
        if self.training:
            if self.causal:
                mean, var = self.running_mean.clone(), self.running_var.clone()
            else:
                mean, var = x.mean(dims), x.var(dims, unbiased=False)
            with torch.no_grad():  # running statistics from this batch (unbiased variance)
                if fused:
                    F.batch_norm(x.detach(), self.running_mean, self.running_var, None, None,
                                 True, self.momentum, self.eps)
                else:
                    bm = x.mean(dims) if self.causal else mean.detach()
                    bv = x.var(dims, unbiased=x.numel() > x.shape[1])
                    self.running_mean.lerp_(bm.to(self.running_mean.dtype), self.momentum)
                    self.running_var.lerp_(bv.to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight * torch.rsqrt(var + self.eps)
        shift = self.bias - mean * scale
        return x * self._shape(scale, x) + self._shape(shift, x)

    def fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference-time ``(scale (D,), shift (D,))`` so that ``norm(y) = scale * y + shift``."""
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        return scale, self.bias - self.running_mean * scale


def dense_kernel(w: torch.Tensor, dilation: int) -> torch.Tensor:
    """Expand a dilated ``(D, k)`` kernel into the equivalent dense ``(D, (k - 1) d + 1)`` kernel."""
    if dilation == 1:
        return w
    D, k = w.shape
    out = w.new_zeros(D, (k - 1) * dilation + 1)
    out[:, ::dilation] = w
    return out


class RepDWConv(nn.Module):
    """Parallel depthwise kernels along ONE grid axis, each with its own norm; mergeable.

    Args:
        dim: channels D.
        ndim: number of grid axes.
        axis: the grid axis convolved (0 is causal when ``causal``).
        branches: ``[(kernel_size, dilation), ...]``; kernel sizes odd, the first one the largest
            effective size ``(k - 1) d + 1``.
        causal: causal padding along axis 0 and causal norms (see module docstring).
        backend: kernel backend for ``dwconv``.
    """

    def __init__(
        self,
        dim: int,
        ndim: int,
        axis: int,
        branches: Sequence[tuple[int, int]],
        *,
        causal: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.dim, self.ndim, self.axis, self.backend = dim, ndim, axis, backend
        self.causal_axis = causal and axis == 0
        self.branches = [(int(k), int(d)) for k, d in branches]
        for k, d in self.branches:
            if k < 1 or k % 2 == 0 or d < 1:
                raise ConfigError(f"backbone: reparam branches need odd kernel sizes and dilations >= 1, got {branches}")
        self.size = max((k - 1) * d + 1 for k, d in self.branches)
        if self.size > 255:
            raise ConfigError(f"backbone: reparam effective kernel {self.size} exceeds 255 (branches {branches})")
        self.weights = nn.ParameterList(nn.Parameter(torch.randn(dim, k) / k**0.5) for k, _ in self.branches)
        self.norms = nn.ModuleList(BranchNorm(dim, causal=causal) for _ in self.branches)
        self.merged: nn.Parameter | None = None
        self.merged_bias: nn.Parameter | None = None

    def _conv(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, d: int) -> torch.Tensor:
        return dwconv(
            x, w, b, axis=grid_dim(self.axis, self.ndim), dilation=d,
            causal=self.causal_axis, backend=self.backend,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, *grid) -> (B, D, *grid)``."""
        if self.merged is not None:
            return self._conv(x, self.merged, self.merged_bias, 1)
        out = None
        for (k, d), w, norm in zip(self.branches, self.weights, self.norms):
            y = norm(self._conv(x, w, None, d))
            out = y if out is None else out + y
        return out

    @torch.no_grad()
    def merged_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The single ``(D, K)`` kernel and ``(D,)`` bias equal to the sum of the eval-mode branches."""
        K = self.size
        kernel = self.weights[0].new_zeros(self.dim, K)
        bias = self.weights[0].new_zeros(self.dim)
        for (k, d), w, norm in zip(self.branches, self.weights, self.norms):
            scale, shift = norm.fold()
            dense = dense_kernel(w * scale[:, None], d)
            pad = K - dense.shape[1]
            # causal padding aligns kernels at their right end, "same" padding at their centre
            left = pad if self.causal_axis else pad // 2
            kernel[:, left : left + dense.shape[1]] += dense
            bias += shift
        return kernel, bias

    def reparameterize(self) -> None:
        """Merge every branch into one kernel (in place); outputs in eval mode are unchanged."""
        if self.merged is not None:
            return
        kernel, bias = self.merged_kernel()
        self.merged = nn.Parameter(kernel)
        self.merged_bias = nn.Parameter(bias)
        self.weights = nn.ParameterList()
        self.norms = nn.ModuleList()

    def extra_repr(self) -> str:
        state = "merged" if self.merged is not None else f"branches={self.branches}"
        return f"dim={self.dim}, axis={self.axis}, size={self.size}, {state}"


class RepSeparableConv(nn.Sequential):
    """A :class:`RepDWConv` along every grid axis in turn (separable N-D, ``O(ndim K)`` per channel)."""

    def __init__(
        self,
        dim: int,
        ndim: int,
        branches: Sequence[tuple[int, int]],
        *,
        causal: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__(*(RepDWConv(dim, ndim, a, branches, causal=causal, backend=backend) for a in range(ndim)))


def default_branches(kernel_size: int) -> list[tuple[int, int]]:
    """UniRepLKNet-style branch set for a large kernel: the large kernel plus small dilated ones."""
    table = {
        3: [(3, 1)],
        5: [(5, 1), (3, 1)],
        7: [(7, 1), (5, 1), (3, 2)],
        9: [(9, 1), (5, 1), (5, 2), (3, 3)],
        11: [(11, 1), (5, 1), (5, 2), (3, 3), (3, 4)],
        13: [(13, 1), (5, 1), (7, 2), (3, 3), (3, 4), (3, 5)],
    }
    if kernel_size in table:
        return table[kernel_size]
    return [(kernel_size, 1), (5, 1), (7, 2), (5, 3), (3, 4), (3, 5)]
