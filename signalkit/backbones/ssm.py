"""State-space family: Mamba-style selective SSM scanning the flattened grid in several orders.

A scan order is ``(perm, flips)``: permute the grid axes by ``perm`` (outermost first), reverse
the axes in ``flips``, then flatten row-major into one sequence that the selective scan runs over
forward. Default orders:

* non-causal: 1-D forward + backward; 2-D/3-D row-major and column-major (reversed axis order),
  each forward and backward (4 scans);
* causal: only orders with grid axis 0 outermost and not flipped, so the flattened sequence holds
  all of step ``t`` before step ``t + 1`` and the (forward) scan never sees the future:
  1-D forward; 2-D time-major with the inner axis forward and reversed; 3-D time-major row-major
  and time-major column-major reversed.

The orders' outputs are merged by averaging (``merge="mean"``) or a learned softmax-weighted sum
(``merge="learned"``), then gated by ``silu(z)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError
from signalkit.kernels import dwconv, selective_scan

from .common import Backbone, channels_last_linear, check_kernel
from .registry import register_backbone

Order = tuple[tuple[int, ...], tuple[int, ...]]


def default_orders(ndim: int, causal: bool) -> list[Order]:
    """Scan orders ``(perm, flips)`` for a grid of ``ndim`` axes (see module docstring)."""
    ident = tuple(range(ndim))
    if causal:
        if ndim == 1:
            return [((0,), ())]
        if ndim == 2:
            return [((0, 1), ()), ((0, 1), (1,))]
        return [((0, 1, 2), ()), ((0, 2, 1), (1, 2))]
    if ndim == 1:
        return [((0,), ()), ((0,), (0,))]
    rev = tuple(reversed(ident))
    return [(ident, ()), (ident, ident), (rev, ()), (rev, ident)]


def check_orders(orders: Sequence[Order], ndim: int, causal: bool) -> list[Order]:
    """Validate user orders; causal orders must keep axis 0 outermost and unflipped."""
    out = []
    for perm, flips in orders:
        perm, flips = tuple(int(a) for a in perm), tuple(int(a) for a in flips)
        if sorted(perm) != list(range(ndim)) or any(not 0 <= f < ndim for f in flips):
            raise ConfigError(f"backbone: scan order {perm, flips} is not valid for ndim={ndim}")
        if causal and (perm[0] != 0 or 0 in flips):
            raise ConfigError(f"backbone: scan order {perm, flips} breaks causality along axis 0")
        out.append((perm, flips))
    if not out:
        raise ConfigError("backbone: at least one scan order is needed")
    return out


def flatten_order(x: torch.Tensor, order: Order) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``(B, C, *grid) -> (B, C, L)`` in the given scan order, plus the permuted grid shape."""
    perm, flips = order
    if flips:
        x = x.flip([2 + a for a in flips])
    x = x.permute(0, 1, *[2 + a for a in perm])
    return x.reshape(x.shape[0], x.shape[1], -1), tuple(x.shape[2:])


def unflatten_order(y: torch.Tensor, order: Order, pshape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`flatten_order`."""
    perm, flips = order
    y = y.reshape(y.shape[0], y.shape[1], *pshape)
    inv = [0] * len(perm)
    for i, a in enumerate(perm):
        inv[a] = i
    y = y.permute(0, 1, *[2 + i for i in inv])
    return y.flip([2 + a for a in flips]) if flips else y


class ScanCore(nn.Module):
    """One selective-scan direction: short causal conv, input-dependent dt/B/C, scan.

    ``forward(u (Bt, E, L)) -> (Bt, E, L)`` (the skip ``D * u`` included, no gate). With
    ``d_conv=0`` there is no short conv (and no activation) before the scan.
    """

    def __init__(self, d_inner: int, d_state: int, dt_rank: int, d_conv: int, backend: str | None,
                 dt_min: float = 1e-3, dt_max: float = 0.1) -> None:
        super().__init__()
        self.d_state, self.dt_rank, self.backend = d_state, dt_rank, backend
        self.d_conv = d_conv
        if d_conv > 0:
            self.conv_weight = nn.Parameter(torch.randn(d_inner, d_conv) / math.sqrt(d_conv))
            self.conv_bias = nn.Parameter(torch.zeros(d_inner))
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=False)
        nn.init.uniform_(self.dt_proj.weight, -dt_rank**-0.5, dt_rank**-0.5)
        dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))

    def params(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Input-dependent ``delta (Bt, E, L)``, ``B (Bt, N, L)``, ``C (Bt, N, L)`` from ``u (Bt, E, L)``."""
        proj = self.x_proj(u.transpose(1, 2))  # (Bt, L, R + 2N)
        dt, Bm, Cm = proj.split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = self.dt_proj(dt).transpose(1, 2)
        return delta, Bm.transpose(1, 2), Cm.transpose(1, 2)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if self.d_conv > 0:
            u = dwconv(u, self.conv_weight, self.conv_bias, axis=-1, causal=True, activation="silu",
                       backend=self.backend)
        delta, Bm, Cm = self.params(u)
        A = -torch.exp(self.A_log.float())
        return selective_scan(u, delta, A, Bm.contiguous(), Cm.contiguous(), self.D.float(), None,
                              self.dt_bias.float(), delta_softplus=True, backend=self.backend)


class SSMMixer(nn.Module):
    """Mamba-style selective SSM over the flattened grid, several scan orders; ``(B, D, *grid) -> same``.

    Args:
        d_state: SSM state size N.
        expand: inner width factor (E = expand * D).
        d_conv: short causal conv width along the scanned sequence.
        dt_rank: rank of the step projection (default ``ceil(D / 16)``).
        orders: scan orders ``[[perm, flips], ...]`` (default: :func:`default_orders`).
        merge: ``"mean"`` or ``"learned"``.
        dt_min, dt_max: range of the initial steps (log-uniform); ``1 / (dt |A|)`` is a channel's
            memory in steps at initialisation.
    """

    def __init__(
        self, dim: int, ndim: int, *, d_state: int = 16, expand: int = 2, d_conv: int = 4,
        dt_rank: int | None = None, orders: Sequence[Order] | None = None, merge: str = "mean",
        causal: bool = False, backend: str | None = None, dt_min: float = 1e-3, dt_max: float = 0.1,
    ) -> None:
        super().__init__()
        if not 0 < dt_min <= dt_max:
            raise ConfigError(f"backbone: need 0 < dt_min <= dt_max, got {dt_min}, {dt_max}")
        if d_state < 1 or expand < 1:
            raise ConfigError(f"backbone: d_state and expand must be >= 1, got {d_state}, {expand}")
        check_kernel("d_conv", d_conv)
        if merge not in ("mean", "learned"):
            raise ConfigError(f"backbone: merge must be 'mean' or 'learned', got {merge!r}")
        self.orders = check_orders(orders, ndim, causal) if orders is not None else default_orders(ndim, causal)
        E = expand * dim
        R = dt_rank or math.ceil(dim / 16)
        self.in_proj = nn.Linear(dim, 2 * E)
        self.cores = nn.ModuleList(ScanCore(E, d_state, R, d_conv, backend, dt_min, dt_max) for _ in self.orders)
        self.merge_logits = nn.Parameter(torch.zeros(len(self.orders))) if merge == "learned" else None
        self.out_proj = nn.Linear(E, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, z = channels_last_linear(x, self.in_proj).chunk(2, dim=1)
        if self.merge_logits is None:
            weights = [1.0 / len(self.orders)] * len(self.orders)
        else:
            weights = list(self.merge_logits.softmax(0).unbind(0))
        y = None
        for w, order, core in zip(weights, self.orders, self.cores):
            seq, pshape = flatten_order(u, order)
            out = unflatten_order(core(seq), order, pshape) * w
            y = out if y is None else y + out
        return channels_last_linear(y * F.silu(z), self.out_proj)


SSM_SIZES: dict[str, dict] = {  # create_backbone("ssm", size=...)
    "tiny": {"dim": 64, "depth": 4, "d_state": 16, "expand": 2, "d_conv": 4, "merge": 'mean', "mlp_ratio": 0.0},
    "small": {"dim": 128, "depth": 8, "d_state": 16, "expand": 2, "d_conv": 4, "merge": 'mean', "mlp_ratio": 2.0},
    "base": {"dim": 256, "depth": 12, "d_state": 16, "expand": 2, "d_conv": 4, "merge": 'learned', "mlp_ratio": 2.0},
}


@register_backbone("ssm", sizes=SSM_SIZES)
class SSMBackbone(Backbone):
    """Selective state-space backbone (Mamba/Vim/VMamba-style multi-order scans).

    Family kwargs: ``d_state``, ``expand``, ``d_conv``, ``dt_rank``, ``orders``, ``merge``, ``dt_min``,
    ``dt_max``, ``mlp_ratio`` (default 2.0; 0 gives pure Mamba blocks without a separate MLP).
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, d_state: int = 16, expand: int = 2, d_conv: int = 4,
        dt_rank: int | None = None, orders: Sequence[Order] | None = None, merge: str = "mean",
        mlp_ratio: float = 2.0, dt_min: float = 1e-3, dt_max: float = 0.1,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: SSMMixer(
                dim, ndim, d_state=d_state, expand=expand, d_conv=d_conv, dt_rank=dt_rank, orders=orders,
                merge=merge, causal=causal, backend=backend, dt_min=dt_min, dt_max=dt_max,
            ),
            mlp_ratio=mlp_ratio,
        )
