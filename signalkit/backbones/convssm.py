"""ConvSSM: spatiotemporal state-space backbone for video / field sequences (in the spirit of ConvS5).

Grid axis 0 is time, the others are space. Each block runs a selective scan along time at every
spatial position (space flattened into the batch); spatial mixing enters through depthwise
convolutions over the space axes on the scan input (the "B" map) and on its readout (the "C"
map). As in ConvS5 the state transition is diagonal, so the scan is parallel over time and the
same model runs recurrently frame by frame with :meth:`ConvSSMBackbone.step` (long-horizon
rollout at constant memory). ``causal=False`` adds a backward scan along time (averaged).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError, ModelError

from .common import Backbone, SeparableDWConv, channels_last_linear, check_kernel
from .hyena import from_sequences, to_sequences
from .registry import register_backbone
from .ssm import ScanCore

State = list[torch.Tensor | None]


class ConvSSMMixer(nn.Module):
    """Spatiotemporal selective SSM mixer; ``(B, D, T, *S) -> (B, D, T, *S)``.

    Args:
        d_state: state size N per channel.
        expand: inner width factor E = expand * D.
        space_kernel: depthwise kernel size over each space axis (input and readout maps).
        dt_rank: rank of the step projection (default ``ceil(D / 16)``).
    """

    def __init__(
        self, dim: int, ndim: int, *, d_state: int = 16, expand: int = 1, space_kernel: int = 3,
        dt_rank: int | None = None, causal: bool = False, backend: str | None = None,
    ) -> None:
        super().__init__()
        if d_state < 1 or expand < 1:
            raise ConfigError(f"backbone: d_state and expand must be >= 1, got {d_state}, {expand}")
        check_kernel("space_kernel", space_kernel)
        E = expand * dim
        self.E, self.causal = E, causal
        space = tuple(range(1, ndim))
        self.in_proj = nn.Linear(dim, 2 * E)
        self.conv_in = SeparableDWConv(E, ndim, space_kernel, axes=space, activation="silu", backend=backend) if space else None
        self.conv_out = SeparableDWConv(E, ndim, space_kernel, axes=space, backend=backend) if space else None
        R = dt_rank or math.ceil(dim / 16)
        self.cores = nn.ModuleList(ScanCore(E, d_state, R, 0, backend) for _ in range(1 if causal else 2))
        self.out_proj = nn.Linear(E, dim)

    def _input(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v, z = channels_last_linear(x, self.in_proj).chunk(2, dim=1)
        return (self.conv_in(v) if self.conv_in is not None else F.silu(v)), z

    def _output(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.conv_out is not None:
            y = self.conv_out(y)
        return channels_last_linear(y * F.silu(z), self.out_proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, z = self._input(x)
        seq, shape = to_sequences(v)  # (B * S, E, T)
        y = self.cores[0](seq)
        if not self.causal:
            y = 0.5 * (y + self.cores[1](seq.flip(-1)).flip(-1))
        return self._output(from_sequences(y, shape), z)

    def step(self, x_t: torch.Tensor, h: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step: ``x_t (B, D, *S)``, state ``h (B * prod(S), E, N)`` or None -> ``(y_t, h)``."""
        if not self.causal:
            raise ModelError("ConvSSM.step needs a causal model (causal=True)")
        core = self.cores[0]
        v, z = self._input(x_t)
        B, E, *S = v.shape
        u = v.movedim(1, -1).reshape(-1, E, 1)  # (B*S, E, 1)
        delta, Bm, Cm = core.params(u)
        dt = F.softplus(delta[..., 0] + core.dt_bias)  # (B*S, E)
        A = -torch.exp(core.A_log)
        if h is None:
            h = u.new_zeros(u.shape[0], E, A.shape[1])
        h = torch.exp(dt.unsqueeze(-1) * A) * h + (dt * u[..., 0]).unsqueeze(-1) * Bm[..., 0].unsqueeze(1)
        y = (h * Cm[..., 0].unsqueeze(1)).sum(-1) + core.D * u[..., 0]
        y = y.reshape(B, *S, E).movedim(-1, 1)
        return self._output(y, z), h


CONVSSM_SIZES: dict[str, dict] = {  # create_backbone("convssm", size=...)
    "tiny": {"dim": 64, "depth": 4, "d_state": 16, "expand": 1, "space_kernel": 3, "mlp_ratio": 2.0},
    "small": {"dim": 128, "depth": 6, "d_state": 16, "expand": 1, "space_kernel": 5, "mlp_ratio": 2.0},
    "base": {"dim": 256, "depth": 8, "d_state": 32, "expand": 2, "space_kernel": 5, "mlp_ratio": 2.0},
}


@register_backbone("convssm", sizes=CONVSSM_SIZES)
class ConvSSMBackbone(Backbone):
    """Spatiotemporal ConvSSM backbone; grid axis 0 is time. Recurrent rollout with :meth:`step`.

    Family kwargs: ``d_state``, ``expand``, ``space_kernel``, ``dt_rank``, ``mlp_ratio``.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 3, causal: bool = True, drop_path: float = 0.0,
        backend: str | None = None, *, d_state: int = 16, expand: int = 1, space_kernel: int = 3,
        dt_rank: int | None = None, mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: ConvSSMMixer(
                dim, ndim, d_state=d_state, expand=expand, space_kernel=space_kernel, dt_rank=dt_rank,
                causal=causal, backend=backend,
            ),
            mlp_ratio=mlp_ratio,
        )

    def step(self, x_t: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Recurrent step: one frame ``x_t (B, D, *S)`` -> features ``(B, D, *S)`` and the new state.

        Equals ``forward`` on the whole sequence, frame by frame (eval mode, ``causal=True``).
        ``state`` is None at the start, then what the previous call returned.
        """
        if not self.causal:
            raise ModelError("ConvSSMBackbone.step needs causal=True")
        if x_t.dim() != 1 + self.ndim or x_t.shape[1] != self.dim:
            raise ModelError(f"ConvSSMBackbone.step: expected a frame (B, {self.dim}, *space), got {tuple(x_t.shape)}")
        state = list(state) if state is not None else [None] * len(self.blocks)
        for i, blk in enumerate(self.blocks):
            y, state[i] = blk.mixer.step(blk.norm1(x_t), state[i])
            x_t = x_t + blk.drop_path(y)
            if blk.mlp is not None:
                x_t = x_t + blk.drop_path(blk.mlp(blk.norm2(x_t)))
        return self.norm(x_t), state
