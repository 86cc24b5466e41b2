"""Backbone registry: ``register_backbone``, ``create_backbone``, ``list_backbones``, ``backbone_sizes``.

``BACKBONES`` is a :class:`signalkit.registry.Registry`; every family module registers its
builders with ``@register_backbone(name, sizes=...)``, the named sizes (timm-style: ``tiny``,
``small``, ``base``, ...) written beside the family: ``create_backbone("afno", size="base")``.
A size gives defaults only: keyword arguments given explicitly win over it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch.nn as nn

from signalkit.errors import ConfigError
from signalkit.registry import Registry

BACKBONES: Registry[Callable[..., nn.Module]] = Registry("backbone", "model.backbone")
_REGISTRY = BACKBONES  # old name (a mapping name -> builder), kept for one release
F = TypeVar("F", bound=Callable[..., nn.Module])

COMMON_KWARGS = ("dim", "depth", "ndim", "causal", "drop_path", "backend")


def register_backbone(name: str, sizes: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[[F], F]:
    """Class/function decorator registering a backbone builder under ``name``.

    The builder must accept ``dim, depth, ndim, causal, drop_path, backend`` plus its own
    keyword-only family arguments. ``sizes``: ``{size name: {keyword: value}}``.
    """
    return BACKBONES.register(name, sizes={k: dict(v) for k, v in (sizes or {}).items()})


def list_backbones() -> list[str]:
    """Sorted names of every registered backbone."""
    return BACKBONES.names()


def backbone_sizes(name: str) -> dict[str, dict[str, Any]]:
    """``{size: keyword arguments}`` of backbone ``name`` (``{}`` for a backbone without named sizes)."""
    return {k: dict(v) for k, v in BACKBONES.meta(name).get("sizes", {}).items()}


def size_value(name: str, size: str, key: str) -> Any:
    """The value of ``key`` in backbone ``name``'s named ``size`` (the family's default for a key the
    size does not set), for the ``model/backbone/<family>.yaml`` files
    (``kernel_size: ${sk.backbone_size:${.name},${.size},kernel_size}``).

    Raises:
        ConfigError: unknown backbone, size or key, naming ``model.backbone.<key>``.
    """
    import inspect

    table = backbone_sizes(name)
    if size not in table:
        raise ConfigError(f"model.backbone.size: unknown size {size!r} for backbone {name!r} "
                          f"(known: {', '.join(table) or 'none'})")
    if key in table[size]:
        return copy.deepcopy(table[size][key])
    param = inspect.signature(BACKBONES.get_builder(name)).parameters.get(key)
    if param is None or param.default is inspect.Parameter.empty:
        raise ConfigError(f"model.backbone.{key}: backbone {name!r} has no option {key!r}")
    return param.default


def sized_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A backbone config (``{"name", "size"?, ...}``) with its ``size`` expanded: the size's keyword
    arguments under the explicit ones, ``size`` removed. Configs without ``size`` are returned as given.

    Raises:
        ConfigError: unknown backbone or size (naming ``model.backbone.size``).
    """
    cfg = dict(config)
    size = cfg.pop("size", None)
    if size is None:
        return cfg
    table = backbone_sizes(str(cfg.get("name")))
    if size not in table:
        raise ConfigError(f"model.backbone.size: unknown size {size!r} for backbone {cfg.get('name')!r} "
                          f"(known: {', '.join(table) or 'none'})")
    return {"name": cfg["name"], **table[size], **{k: v for k, v in cfg.items() if k != "name"}}


def create_backbone(
    name: str,
    *,
    size: str | None = None,
    dim: int | None = None,
    depth: int | None = None,
    ndim: int = 1,
    causal: bool = False,
    drop_path: float = 0.0,
    backend: str | None = None,
    **family_kwargs: Any,
) -> nn.Module:
    """Build the backbone registered as ``name``: tokens ``(B, dim, *grid) -> (B, dim, *grid)``.

    Args:
        name: a name from :func:`list_backbones`.
        size: a named size of the family (:func:`backbone_sizes`); its values are defaults for
            the arguments not given here.
        dim: token width D (default: the size's, else 64).
        depth: number of residual blocks (default: the size's, else 4).
        ndim: number of grid axes (1, 2 or 3).
        causal: make grid axis 0 causal (output at t sees inputs at <= t only).
        drop_path: maximum stochastic-depth rate (linearly increasing over blocks).
        backend: kernel backend passed to every op (``None | "auto" | "torch" | "triton"``).
        **family_kwargs: the family's own options (see the class docstrings).

    Raises:
        ConfigError: unknown name, unknown keyword or invalid value.
    """
    given = {k: v for k, v in {"dim": dim, "depth": depth}.items() if v is not None}
    if size is not None:
        sized = sized_config({"name": name, "size": size, **given, **family_kwargs})
        sized.pop("name")
        dim, depth = sized.pop("dim", None), sized.pop("depth", None)
        family_kwargs = sized
    dim = 64 if dim is None else dim
    depth = 4 if depth is None else depth
    BACKBONES.check(name, family_kwargs, fixed=COMMON_KWARGS)
    if backend not in (None, "auto", "torch", "triton"):
        raise ConfigError(f"model.backbone.backend: must be auto, torch or triton, got {backend!r}")
    return BACKBONES.create(name, dim=dim, depth=depth, ndim=ndim, causal=causal, drop_path=drop_path,
                            backend=backend, **family_kwargs)
