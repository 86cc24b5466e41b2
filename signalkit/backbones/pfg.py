"""Peripheral frequency gating (in the spirit of PFGNet): spatially adaptive band-pass mixing.

For each position the mixer blends ``S`` peripheral branches (separable large kernels of growing
size) with gates computed from a *local spectral cue*, the local high-pass energy
``e = box(|u - box(u)|)`` (how much detail there is around the position). Each branch subtracts a
learnable fraction of a small "centre" kernel response (centre suppression), so that
``periphery_s - alpha_s * centre`` is a difference of low-pass filters, i.e. a band-pass whose
band the gates select per position.

All convolutions (box filters included) go through :func:`signalkit.kernels.dwconv`; along a
causal grid axis 0 they are causal, and the gates are pointwise, so nothing leaks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError
from signalkit.kernels import dwconv

from .common import Backbone, SeparableDWConv, channels_last_linear, check_kernel, grid_dim
from .registry import register_backbone


class BoxFilter(nn.Module):
    """Fixed separable box (local mean) filter of width ``k`` along every grid axis (no parameters)."""

    def __init__(self, dim: int, ndim: int, k: int, *, causal: bool, backend: str | None) -> None:
        super().__init__()
        self.ndim, self.causal, self.backend = ndim, causal, backend
        self.register_buffer("weight", torch.full((dim, k), 1.0 / k), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, *grid) -> (B, D, *grid)``."""
        for ax in range(self.ndim):
            x = dwconv(
                x, self.weight.to(x.dtype), axis=grid_dim(ax, self.ndim), causal=self.causal and ax == 0,
                backend=self.backend,
            )
        return x


class PFGMixer(nn.Module):
    """Peripheral frequency-gated mixer; ``(B, D, *grid) -> (B, D, *grid)``.

    Args:
        kernel_sizes: peripheral kernel sizes, one branch each (<= 255).
        centre_kernel: size of the centre kernel whose response each branch suppresses.
        cue_kernel: width of the box filters computing the local high-pass energy cue.
        gate_groups: channels are split into this many groups, each with its own gates.
    """

    def __init__(
        self, dim: int, ndim: int, *, kernel_sizes: Sequence[int] = (7, 15, 31), centre_kernel: int = 3,
        cue_kernel: int = 3, gate_groups: int = 4, causal: bool = False, backend: str | None = None,
    ) -> None:
        super().__init__()
        ks = [check_kernel("kernel_sizes", int(k)) for k in kernel_sizes]
        if not ks:
            raise ConfigError("backbone: kernel_sizes must name at least one peripheral kernel")
        check_kernel("centre_kernel", centre_kernel)
        check_kernel("cue_kernel", cue_kernel)
        if gate_groups < 1 or dim % gate_groups:
            raise ConfigError(f"backbone: gate_groups={gate_groups} must divide dim={dim}")
        self.S, self.G = len(ks), gate_groups
        self.pw_in = nn.Linear(dim, dim)
        self.periphery = nn.ModuleList(
            SeparableDWConv(dim, ndim, k, causal=causal, backend=backend) for k in ks
        )
        self.centre = SeparableDWConv(dim, ndim, centre_kernel, causal=causal, backend=backend)
        # centre suppression strength per branch and channel, sigmoid(-2) ~ 0.12 at init
        self.suppress = nn.Parameter(torch.full((self.S, dim), -2.0))
        self.box = BoxFilter(dim, ndim, cue_kernel, causal=causal, backend=backend)
        self.gate = nn.Linear(2 * dim, self.S * self.G)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.pw_out = nn.Linear(dim, dim)

    def gates(self, u: torch.Tensor) -> torch.Tensor:
        """Per-position branch weights ``(B, S, G, *grid)`` (softmax over S) from local cues."""
        energy = self.box((u - self.box(u)).abs())  # local high-pass energy
        cue = torch.cat([energy, u], dim=1)
        g = channels_last_linear(cue, self.gate)
        B, _, *grid = g.shape
        return g.view(B, self.S, self.G, *grid).softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = F.gelu(channels_last_linear(x, self.pw_in))
        B, D, *grid = u.shape
        g = self.gates(u)
        c = self.centre(u)
        out = u.new_zeros(B, self.G, D // self.G, *grid)
        for s, branch in enumerate(self.periphery):
            alpha = torch.sigmoid(self.suppress[s]).view(1, D, *([1] * len(grid)))
            band = (branch(u) - alpha * c).view(B, self.G, D // self.G, *grid)
            out = out + g[:, s].unsqueeze(2) * band
        return channels_last_linear(out.view(B, D, *grid), self.pw_out)


PFG_SIZES: dict[str, dict] = {  # create_backbone("pfg", size=...)
    "tiny": {"dim": 64, "depth": 4, "kernel_sizes": [7, 15], "centre_kernel": 3, "cue_kernel": 3, "gate_groups": 4, "mlp_ratio": 4.0},
    "small": {"dim": 128, "depth": 8, "kernel_sizes": [7, 15, 31], "centre_kernel": 3, "cue_kernel": 3, "gate_groups": 4, "mlp_ratio": 4.0},
    "base": {"dim": 256, "depth": 12, "kernel_sizes": [7, 15, 31, 63], "centre_kernel": 3, "cue_kernel": 3, "gate_groups": 8, "mlp_ratio": 4.0},
}


@register_backbone("pfg", sizes=PFG_SIZES)
class PFGBackbone(Backbone):
    """Backbone of :class:`PFGMixer` blocks.

    Family kwargs: ``kernel_sizes``, ``centre_kernel``, ``cue_kernel``, ``gate_groups``, ``mlp_ratio``.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, kernel_sizes: Sequence[int] = (7, 15, 31), centre_kernel: int = 3,
        cue_kernel: int = 3, gate_groups: int = 4, mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: PFGMixer(
                dim, ndim, kernel_sizes=kernel_sizes, centre_kernel=centre_kernel, cue_kernel=cue_kernel,
                gate_groups=gate_groups, causal=causal, backend=backend,
            ),
            mlp_ratio=mlp_ratio,
        )
