"""Hyena: gated long FFT convolution along grid axis 0 with implicit (MLP-generated) kernels.

The long convolution runs along the first grid axis; the other grid axes are flattened into the
batch. It is linear (zero padded, never circular) and causal by construction with
``fftconv(causal=True)``. With ``causal=False`` it is bidirectional: a causal kernel on the
sequence plus a second causal kernel on the reversed sequence, so every position sees the whole
sequence on both sides (a centred kernel of length <= L would only reach L/2 each way).

Also provides :class:`AxisLongConv`, the causal long convolution along axis 0 that the frequency
family uses when ``causal=True``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from signalkit.errors import ConfigError
from signalkit.kernels import fftconv

from .common import Backbone, SeparableDWConv, channels_last_linear, check_kernel
from .registry import register_backbone


def to_sequences(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``(B, C, T, *S) -> (B * prod(S), C, T)`` and the permuted shape needed to undo it."""
    xt = x.movedim(2, -1)  # (B, C, *S, T)
    shape = tuple(xt.shape)
    B, C, T = shape[0], shape[1], shape[-1]
    seq = xt.movedim(1, -2).reshape(-1, C, T)  # (B, *S, C, T) -> (B*S, C, T)
    return seq, shape


def from_sequences(y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`to_sequences`: ``(B * prod(S), C, T) -> (B, C, T, *S)``."""
    B, C, *S, T = shape
    return y.reshape(B, *S, C, T).movedim(-2, 1).movedim(-1, 2)


def long_conv(
    u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None, gate: torch.Tensor | None, causal: bool,
    backend: str | None,
) -> torch.Tensor:
    """``(Bt, C, L)`` long conv through ``fftconv``: causal with ``k (C, L)``, or bidirectional with
    ``k (2C, L)`` (first half forward, second half on the reversed sequence); gate and skip fused."""
    if causal:
        return fftconv(u, k, D, gate=gate, causal=True, backend=backend)
    C = u.shape[1]
    fwd = fftconv(u, k[:C], D, gate=gate, causal=True, backend=backend)
    g = None if gate is None else gate.flip(-1)
    bwd = fftconv(u.flip(-1), k[C:], None, gate=g, causal=True, backend=backend)
    return fwd + bwd.flip(-1)


class ImplicitFilter(nn.Module):
    """Smooth implicit long kernel ``k[c, s] = MLP(pos(s))[c] * exp(-a_c s / L)`` (Hyena).

    Positional features are ``[r, sin(2 pi f r), cos(2 pi f r)]`` for ``f = 1..bands`` with the
    relative offset ``r = s / L``; the MLP uses sine activations; decay rates ``a_c`` are spread
    over channels so the kernel falls to 1% after 30%..150% of the sequence. Each channel's kernel
    is divided by the norm of its window, so output scales do not grow with the length.
    """

    def __init__(self, channels: int, *, hidden: int = 32, bands: int = 8, omega: float = 1.0) -> None:
        super().__init__()
        self.channels, self.omega = channels, omega
        self.register_buffer("freqs", torch.arange(1, bands + 1, dtype=torch.float32), persistent=False)
        self.fc1 = nn.Linear(1 + 2 * bands, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, channels)
        target = math.log(1e-2)
        self.register_buffer(
            "decay", torch.linspace(abs(target) / 1.5, abs(target) / 0.3, channels), persistent=False
        )

    def forward(self, L: int) -> torch.Tensor:
        """Causal kernel ``(channels, L)`` for a sequence of length ``L`` (offsets 0..L-1)."""
        s = torch.arange(L, device=self.freqs.device, dtype=torch.float32)
        r = (s / L).unsqueeze(-1)  # (L, 1)
        ang = 2 * math.pi * r * self.freqs
        z = torch.cat([r, ang.sin(), ang.cos()], dim=-1)
        h = torch.sin(self.omega * self.fc1(z))
        h = torch.sin(self.omega * self.fc2(h))
        k = self.fc3(h).t()  # (C, L)
        window = torch.exp(-self.decay[:, None] * r.t())  # (C, L)
        return k * window / window.norm(dim=1, keepdim=True)


class AxisLongConv(nn.Module):
    """Depthwise long convolution along grid axis 0 via ``fftconv`` with an implicit kernel.

    ``(B, D, T, *S) -> (B, D, T, *S)``; causal (``y[t]`` sees ``x[<= t]``) or bidirectional.
    """

    def __init__(self, dim: int, *, causal: bool = True, hidden: int = 32, bands: int = 8,
                 backend: str | None = None) -> None:
        super().__init__()
        self.causal, self.backend = causal, backend
        self.filter = ImplicitFilter(dim if causal else 2 * dim, hidden=hidden, bands=bands)
        self.D = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, shape = to_sequences(x)
        k = self.filter(seq.shape[-1])
        return from_sequences(long_conv(seq, k, self.D, None, self.causal, self.backend), shape)


class HyenaMixer(nn.Module):
    """Hyena operator of order ``N``: ``y = x_N * (h_N conv (... x_1 * (h_1 conv v)))``.

    ``(B, D, *grid) -> (B, D, *grid)``. ``v, x_1..x_N`` come from a 1x1 projection followed by a
    short separable depthwise conv (causal along axis 0 when ``causal``); ``h_i`` are implicit long
    kernels along axis 0 applied with ``fftconv`` (gate and skip fused; two kernels, forward and
    on the reversed sequence, when not causal).
    """

    def __init__(
        self, dim: int, ndim: int, *, order: int = 2, short_kernel: int = 3, filter_hidden: int = 32,
        filter_bands: int = 8, causal: bool = False, backend: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(order, int) or order < 1:
            raise ConfigError(f"backbone: order must be an int >= 1, got {order!r}")
        check_kernel("short_kernel", short_kernel)
        self.dim, self.order, self.causal, self.backend = dim, order, causal, backend
        self.in_proj = nn.Linear(dim, (order + 1) * dim)
        self.short = SeparableDWConv((order + 1) * dim, ndim, short_kernel, causal=causal, backend=backend)
        self.dirs = 1 if causal else 2
        self.filter = ImplicitFilter(order * dim * self.dirs, hidden=filter_hidden, bands=filter_bands)
        self.D = nn.Parameter(torch.randn(order, dim) * 0.02)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.short(channels_last_linear(x, self.in_proj))
        v, *gates = z.split(self.dim, dim=1)
        v, shape = to_sequences(v)
        T = v.shape[-1]
        k = self.filter(T).view(self.order, self.dirs * self.dim, T)
        for i, g in enumerate(gates):
            g_seq, _ = to_sequences(g)
            v = long_conv(v, k[i], self.D[i], g_seq, self.causal, self.backend)
        return channels_last_linear(from_sequences(v, shape), self.out_proj)


HYENA_SIZES: dict[str, dict] = {  # create_backbone("hyena", size=...)
    "tiny": {"dim": 64, "depth": 4, "order": 2, "short_kernel": 3, "filter_hidden": 32, "filter_bands": 8, "mlp_ratio": 4.0},
    "small": {"dim": 128, "depth": 8, "order": 2, "short_kernel": 3, "filter_hidden": 64, "filter_bands": 8, "mlp_ratio": 4.0},
    "base": {"dim": 256, "depth": 12, "order": 2, "short_kernel": 3, "filter_hidden": 64, "filter_bands": 16, "mlp_ratio": 4.0},
}


@register_backbone("hyena", sizes=HYENA_SIZES)
class HyenaBackbone(Backbone):
    """Backbone of :class:`HyenaMixer` blocks (long FFT convolution along grid axis 0).

    Family kwargs: ``order``, ``short_kernel``, ``filter_hidden``, ``filter_bands``, ``mlp_ratio``.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, order: int = 2, short_kernel: int = 3, filter_hidden: int = 32,
        filter_bands: int = 8, mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: HyenaMixer(
                dim, ndim, order=order, short_kernel=short_kernel, filter_hidden=filter_hidden,
                filter_bands=filter_bands, causal=causal, backend=backend,
            ),
            mlp_ratio=mlp_ratio,
        )
