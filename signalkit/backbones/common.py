"""Building blocks shared by every backbone family.

Tensors are channels-first tokens ``(B, D, *grid)`` with 1, 2 or 3 grid axes. Grid axis ``i``
(``0 <= i < ndim``) is tensor dim ``2 + i``; we address it with the negative index ``i - ndim``
so that the same code serves every ``ndim``. Grid axis 0 is the causal (time) axis when a
backbone is built with ``causal=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from signalkit.errors import ConfigError, ModelError
from signalkit.kernels import dwconv


def grid_dim(axis: int, ndim: int) -> int:
    """Negative tensor dim of grid axis ``axis`` in a ``(B, D, *grid)`` tensor with ``ndim`` grid axes."""
    return axis - ndim


def channels_last_linear(x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
    """Apply ``linear`` over the channel dim of ``x (B, D, *grid)`` -> ``(B, D_out, *grid)``."""
    return linear(x.movedim(1, -1)).movedim(-1, 1)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel dim of ``(B, D, *grid)`` at every grid position.

    Statistics are per position, so it never mixes positions (safe along a causal axis).
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.movedim(1, -1), (x.shape[1],), self.weight, self.bias, self.eps)
        return y.movedim(-1, 1)


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample with probability ``p``."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Mlp(nn.Module):
    """Pointwise FFN over channels: ``Linear(D, r D) -> GELU -> Linear(r D, D)`` at every position."""

    def __init__(self, dim: int, ratio: float = 4.0) -> None:
        super().__init__()
        hidden = max(1, int(round(dim * ratio)))
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, *grid) -> (B, D, *grid)``."""
        return self.fc2(F.gelu(self.fc1(x.movedim(1, -1)))).movedim(-1, 1)


class SeparableDWConv(nn.Module):
    """Separable depthwise convolution: one ``(D, k)`` kernel per grid axis, applied in turn.

    Cost ``O(ndim * k)`` per channel and position instead of ``O(k ** ndim)``. Grid axis 0 is
    causal (all padding on the left) when ``causal``; the others use "same" padding.
    ``axes`` selects which grid axes to convolve (default: all).
    """

    def __init__(
        self,
        dim: int,
        ndim: int,
        kernel_size: int,
        *,
        dilation: int = 1,
        causal: bool = False,
        axes: Sequence[int] | None = None,
        bias: bool = True,
        activation: str | None = None,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.dim, self.ndim, self.kernel_size = dim, ndim, int(kernel_size)
        self.dilation, self.causal, self.backend = int(dilation), causal, backend
        self.axes = tuple(range(ndim)) if axes is None else tuple(axes)
        self.activation = activation
        n = len(self.axes)
        w = torch.randn(n, dim, self.kernel_size) / self.kernel_size**0.5
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(n, dim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, *grid) -> (B, D, *grid)``."""
        for j, ax in enumerate(self.axes):
            act = self.activation if j == len(self.axes) - 1 else None
            x = dwconv(
                x,
                self.weight[j],
                None if self.bias is None else self.bias[j],
                axis=grid_dim(ax, self.ndim),
                dilation=self.dilation,
                causal=self.causal and ax == 0,
                activation=act,
                backend=self.backend,
            )
        return x

    def extra_repr(self) -> str:
        return f"dim={self.dim}, k={self.kernel_size}, dilation={self.dilation}, axes={self.axes}, causal={self.causal}"


class Block(nn.Module):
    """Pre-norm residual block: ``x + dp(mixer(norm(x)))``, then ``x + dp(mlp(norm(x)))``."""

    def __init__(self, dim: int, mixer: nn.Module, mlp_ratio: float = 4.0, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(dim)
        self.mixer = mixer
        self.norm2 = ChannelLayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio) if mlp_ratio > 0 else None
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.mixer(self.norm1(x)))
        if self.mlp is not None:
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class Backbone(nn.Module):
    """Stack of pre-norm residual blocks mapping ``(B, D, *grid) -> (B, D, *grid)``.

    Subclasses pass ``make_mixer(layer_index) -> nn.Module``. Attributes ``dim``, ``ndim``,
    ``causal`` describe the contract; ``causal=True`` makes grid axis 0 causal.
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        ndim: int,
        causal: bool,
        drop_path: float,
        make_mixer: Callable[[int], nn.Module],
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        check_common(dim=dim, depth=depth, ndim=ndim, drop_path=drop_path, mlp_ratio=mlp_ratio)
        self.dim, self.depth, self.ndim, self.causal = int(dim), int(depth), int(ndim), bool(causal)
        rates = [drop_path * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            Block(dim, make_mixer(i), mlp_ratio=mlp_ratio, drop_path=rates[i]) for i in range(depth)
        )
        self.norm = ChannelLayerNorm(dim)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ModelError unless ``x`` is ``(B, dim, *grid)`` with ``ndim`` grid axes."""
        if x.dim() != 2 + self.ndim or x.shape[1] != self.dim:
            raise ModelError(
                f"{type(self).__name__}: expected tokens (B, D={self.dim}, *grid) with {self.ndim} "
                f"grid axes, got shape {tuple(x.shape)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, *grid) -> (B, D, *grid)``."""
        self.check_input(x)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameters (optionally only those with ``requires_grad``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def reparameterize(self) -> "Backbone":
        """Fold every re-parameterisable submodule into its inference form (in place); returns self."""
        for m in list(self.modules()):
            if m is not self and callable(getattr(m, "reparameterize", None)):
                m.reparameterize()
        return self

    def extra_repr(self) -> str:
        return f"dim={self.dim}, depth={self.depth}, ndim={self.ndim}, causal={self.causal}"


def check_common(**kw: float) -> None:
    """Validate the common constructor arguments; raise ConfigError naming the bad key."""
    if int(kw["dim"]) < 1:
        raise ConfigError(f"backbone: dim must be >= 1, got {kw['dim']!r}")
    if int(kw["depth"]) < 1:
        raise ConfigError(f"backbone: depth must be >= 1, got {kw['depth']!r}")
    if kw["ndim"] not in (1, 2, 3):
        raise ConfigError(f"backbone: ndim must be 1, 2 or 3, got {kw['ndim']!r}")
    if not 0.0 <= float(kw["drop_path"]) < 1.0:
        raise ConfigError(f"backbone: drop_path must be in [0, 1), got {kw['drop_path']!r}")
    if float(kw["mlp_ratio"]) < 0:
        raise ConfigError(f"backbone: mlp_ratio must be >= 0, got {kw['mlp_ratio']!r}")


def check_kernel(name: str, k: int, *, odd: bool = False, max_size: int = 255) -> int:
    """Validate a kernel size kwarg; raise ConfigError naming it."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= max_size or (odd and k % 2 == 0):
        need = "an odd int" if odd else "an int"
        raise ConfigError(f"backbone: {name} must be {need} in 1..{max_size}, got {k!r}")
    return k


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one forward pass on a zero input of ``input_shape`` (torch.utils.flop_counter).

    Counts matmuls and convolutions (not FFTs or elementwise ops), so FFT mixers are undercounted.
    """
    from torch.utils.flop_counter import FlopCounterMode

    p = next(model.parameters(), None)
    x = torch.zeros(*input_shape, device=p.device if p is not None else "cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(x)
    finally:
        model.train(was_training)
    return int(fc.get_total_flops())


def __getattr__(name: str):
    if name == "ChannelNorm":  # renamed: datamodules.windows had a different ChannelNorm (kept for one release)
        import warnings

        warnings.warn("signalkit.backbones.common.ChannelNorm is now ChannelLayerNorm", DeprecationWarning, stacklevel=2)
        return ChannelLayerNorm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
