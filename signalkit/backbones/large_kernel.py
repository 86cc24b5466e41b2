"""Large-kernel family: separable large depthwise kernels, LKA gating, reparam branches.

Registered names:

* ``large_kernel`` (default): RepLKNet-style large + small parallel separable kernels
  (re-parameterisable), used as a VAN-style multiplicative gate.
* ``lka``: VAN large-kernel attention: local depthwise -> dilated depthwise -> 1x1, as a gate.
* ``replk``: UniRepLKNet dilated reparam block: one large kernel plus small dilated branches, each
  with its own norm, merged into one kernel by ``reparameterize()``.
* ``pfg`` lives in :mod:`signalkit.backbones.pfg`.

Every depthwise conv is separable (one 1-D kernel per grid axis, ``O(ndim k)`` per channel) and
goes through :func:`signalkit.kernels.dwconv`; grid axis 0 is causal when ``causal=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError

from .common import Backbone, SeparableDWConv, channels_last_linear, check_kernel
from .registry import register_backbone
from .reparam import RepSeparableConv, default_branches


class LargeKernelMixer(nn.Module):
    """``pw_out(u * RepSep_{K, k}(u))`` with ``u = gelu(pw_in(x))``; ``(B, D, *grid) -> same``.

    The gate is a re-parameterisable separable conv with a large ``kernel_size`` branch and a
    parallel ``small_kernel`` branch (RepLKNet; ``None``: the large kernel alone, one norm per
    axis, cheaper to train). ``gate=False`` returns ``pw_out(RepSep(u))``.
    """

    def __init__(
        self, dim: int, ndim: int, *, kernel_size: int = 31, small_kernel: int | None = 5, gate: bool = True,
        causal: bool = False, backend: str | None = None,
    ) -> None:
        super().__init__()
        check_kernel("kernel_size", kernel_size, odd=True)
        if small_kernel is not None:
            check_kernel("small_kernel", small_kernel, odd=True)
        self.pw_in = nn.Linear(dim, dim)
        small = small_kernel is not None and small_kernel < kernel_size
        branches = [(kernel_size, 1)] + ([(small_kernel, 1)] if small else [])
        self.conv = RepSeparableConv(dim, ndim, branches, causal=causal, backend=backend)
        self.pw_out = nn.Linear(dim, dim)
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = F.gelu(channels_last_linear(x, self.pw_in))
        a = self.conv(u)
        return channels_last_linear(u * a if self.gate else a, self.pw_out)


class LKAMixer(nn.Module):
    """VAN large-kernel attention as a gate; ``(B, D, *grid) -> same``.

    ``attn = pw(dw_dilated(dw_local(u)))`` with separable kernels, ``out = pw_out(u * attn)``,
    ``u = gelu(pw_in(x))``. Receptive field per axis ``local_kernel + (kernel_size - 1) dilation``.
    """

    def __init__(
        self, dim: int, ndim: int, *, local_kernel: int = 5, kernel_size: int = 7, dilation: int = 3,
        causal: bool = False, backend: str | None = None,
    ) -> None:
        super().__init__()
        check_kernel("local_kernel", local_kernel)
        check_kernel("kernel_size", kernel_size)
        if not isinstance(dilation, int) or dilation < 1:
            raise ConfigError(f"backbone: dilation must be an int >= 1, got {dilation!r}")
        self.pw_in = nn.Linear(dim, dim)
        self.local = SeparableDWConv(dim, ndim, local_kernel, causal=causal, backend=backend)
        self.dilated = SeparableDWConv(dim, ndim, kernel_size, dilation=dilation, causal=causal, backend=backend)
        self.pw_attn = nn.Linear(dim, dim)
        self.pw_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = F.gelu(channels_last_linear(x, self.pw_in))
        attn = channels_last_linear(self.dilated(self.local(u)), self.pw_attn)
        return channels_last_linear(u * attn, self.pw_out)


class RepLKMixer(nn.Module):
    """UniRepLKNet dilated reparam block (separable) followed by a 1x1; ``(B, D, *grid) -> same``."""

    def __init__(
        self, dim: int, ndim: int, *, branches: Sequence[tuple[int, int]], causal: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.conv = RepSeparableConv(dim, ndim, branches, causal=causal, backend=backend)
        self.pw_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channels_last_linear(F.gelu(self.conv(x)), self.pw_out)


LARGE_KERNEL_SIZES: dict[str, dict] = {  # create_backbone("large_kernel", size=...)
    "tiny": {"dim": 64, "depth": 4, "kernel_size": 15, "small_kernel": 3, "mlp_ratio": 4.0},
    "micro": {"dim": 32, "depth": 1, "kernel_size": 31, "small_kernel": None, "mlp_ratio": 2.0},
    "small": {"dim": 128, "depth": 8, "kernel_size": 31, "small_kernel": 5, "mlp_ratio": 4.0},
    "base": {"dim": 256, "depth": 12, "kernel_size": 31, "small_kernel": 5, "mlp_ratio": 4.0},
}


@register_backbone("large_kernel", sizes=LARGE_KERNEL_SIZES)
class LargeKernelBackbone(Backbone):
    """Large-kernel backbone (default for EEG): blocks of :class:`LargeKernelMixer` + MLP.

    Family kwargs: ``kernel_size`` (odd, <= 255), ``small_kernel`` (odd, or ``None`` for no
    parallel branch), ``gate``, ``mlp_ratio``.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, kernel_size: int = 31, small_kernel: int | None = 5, gate: bool = True,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: LargeKernelMixer(
                dim, ndim, kernel_size=kernel_size, small_kernel=small_kernel, gate=gate, causal=causal,
                backend=backend,
            ),
            mlp_ratio=mlp_ratio,
        )


LKA_SIZES: dict[str, dict] = {  # create_backbone("lka", size=...)
    "tiny": {"dim": 64, "depth": 4, "local_kernel": 5, "kernel_size": 7, "dilation": 3, "mlp_ratio": 4.0},
    "small": {"dim": 128, "depth": 8, "local_kernel": 5, "kernel_size": 7, "dilation": 3, "mlp_ratio": 4.0},
    "base": {"dim": 256, "depth": 12, "local_kernel": 5, "kernel_size": 11, "dilation": 3, "mlp_ratio": 4.0},
}


@register_backbone("lka", sizes=LKA_SIZES)
class LKABackbone(Backbone):
    """VAN-style backbone: blocks of :class:`LKAMixer` + MLP.

    Family kwargs: ``local_kernel``, ``kernel_size``, ``dilation``, ``mlp_ratio``.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, local_kernel: int = 5, kernel_size: int = 7, dilation: int = 3,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: LKAMixer(
                dim, ndim, local_kernel=local_kernel, kernel_size=kernel_size, dilation=dilation,
                causal=causal, backend=backend,
            ),
            mlp_ratio=mlp_ratio,
        )


REPLK_SIZES: dict[str, dict] = {  # create_backbone("replk", size=...)
    "tiny": {"dim": 64, "depth": 4, "kernel_size": 13, "mlp_ratio": 4.0},
    "small": {"dim": 128, "depth": 8, "kernel_size": 13, "mlp_ratio": 4.0},
    "base": {"dim": 256, "depth": 12, "kernel_size": 31, "mlp_ratio": 4.0},
}


@register_backbone("replk", sizes=REPLK_SIZES)
class RepLKBackbone(Backbone):
    """UniRepLKNet-style backbone with re-parameterisable dilated branches.

    Family kwargs: ``kernel_size`` (odd; sets the default branch set) or explicit ``branches``
    ``[[k, dilation], ...]``, ``mlp_ratio``. Call ``reparameterize()`` before inference.
    """

    def __init__(
        self, dim: int = 64, depth: int = 4, ndim: int = 1, causal: bool = False, drop_path: float = 0.0,
        backend: str | None = None, *, kernel_size: int = 13,
        branches: Sequence[Sequence[int]] | None = None, mlp_ratio: float = 4.0,
    ) -> None:
        check_kernel("kernel_size", kernel_size, odd=True)
        br = default_branches(kernel_size) if branches is None else [(int(k), int(d)) for k, d in branches]
        super().__init__(
            dim, depth, ndim, causal, drop_path,
            lambda i: RepLKMixer(dim, ndim, branches=br, causal=causal, backend=backend),
            mlp_ratio=mlp_ratio,
        )
