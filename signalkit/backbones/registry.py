"""Backbone registry: ``register_backbone``, ``create_backbone``, ``list_backbones``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import torch.nn as nn

from signalkit.errors import ConfigError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
F = TypeVar("F", bound=Callable[..., nn.Module])

COMMON_KWARGS = ("dim", "depth", "ndim", "causal", "drop_path", "backend")


def register_backbone(name: str) -> Callable[[F], F]:
    """Class/function decorator registering a backbone builder under ``name``.

    The builder must accept ``dim, depth, ndim, causal, drop_path, backend`` plus its own
    keyword-only family arguments.
    """

    def deco(builder: F) -> F:
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise ValueError(f"backbone {name!r} is already registered to {_REGISTRY[name]!r}")
        _REGISTRY[name] = builder
        return builder

    return deco


def list_backbones() -> list[str]:
    """Sorted names of every registered backbone."""
    return sorted(_REGISTRY)


def _accepted(builder: Callable[..., Any]) -> tuple[set[str], bool]:
    params = inspect.signature(builder).parameters.values()
    names = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def create_backbone(
    name: str,
    *,
    dim: int = 64,
    depth: int = 4,
    ndim: int = 1,
    causal: bool = False,
    drop_path: float = 0.0,
    backend: str | None = None,
    **family_kwargs: Any,
) -> nn.Module:
    """Build the backbone registered as ``name``: tokens ``(B, dim, *grid) -> (B, dim, *grid)``.

    Args:
        name: a name from :func:`list_backbones`.
        dim: token width D.
        depth: number of residual blocks.
        ndim: number of grid axes (1, 2 or 3).
        causal: make grid axis 0 causal (output at t sees inputs at <= t only).
        drop_path: maximum stochastic-depth rate (linearly increasing over blocks).
        backend: kernel backend passed to every op (``None | "auto" | "torch" | "triton"``).
        **family_kwargs: the family's own options (see the class docstrings).

    Raises:
        ConfigError: unknown name, unknown keyword or invalid value.
    """
    if name not in _REGISTRY:
        raise ConfigError(
            f"model.backbone.name: unknown backbone {name!r}; available: {', '.join(list_backbones())}"
        )
    builder = _REGISTRY[name]
    accepted, var_kw = _accepted(builder)
    unknown = sorted(k for k in family_kwargs if k not in accepted)
    if unknown and not var_kw:
        extra = sorted(accepted - set(COMMON_KWARGS))
        raise ConfigError(
            f"model.backbone: unknown option(s) {unknown} for backbone {name!r}; "
            f"it accepts {extra}"
        )
    if backend not in (None, "auto", "torch", "triton"):
        raise ConfigError(f"model.backbone.backend: must be auto, torch or triton, got {backend!r}")
    try:
        return builder(
            dim=dim, depth=depth, ndim=ndim, causal=causal, drop_path=drop_path, backend=backend,
            **family_kwargs,
        )
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model.backbone: invalid options for backbone {name!r}: {e}") from e
