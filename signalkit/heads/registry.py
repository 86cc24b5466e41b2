"""Head registry (a :class:`signalkit.registry.Registry` keyed by the ``model.head`` config)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from signalkit.registry import Registry

HEADS: Registry[Callable[..., nn.Module]] = Registry("head", "model.head", wrap=(TypeError,))


def register_head(name: str, cls: Callable[..., nn.Module] | None = None, **kw: Any) -> Any:
    """Register a head class under ``name`` (used by model configs); a decorator without ``cls``."""
    return HEADS.register(name, cls, replace=cls is not None, **kw)


def create_head(name: str, tokenizer: nn.Module | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered head; :class:`ConfigError` for unknown names or arguments.

    Heads whose constructor takes a ``tokenizer`` argument (to return to signal space with
    ``tokenizer.untokenize``) receive the model's tokenizer.
    """
    if name in HEADS and "tokenizer" in inspect.signature(HEADS[name]).parameters:
        kwargs["tokenizer"] = tokenizer
    return HEADS.create(name, **kwargs)
