"""Tokenizer registry (a :class:`signalkit.registry.Registry` keyed by the ``model.tokenizer`` config)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from signalkit.registry import Registry

TOKENIZERS: Registry[Callable[..., nn.Module]] = Registry("tokenizer", "model.tokenizer", wrap=(TypeError,))


def register_tokenizer(name: str, cls: Callable[..., nn.Module] | None = None) -> Any:
    """Register a tokenizer class under ``name`` (used by model configs); a decorator without ``cls``."""
    return TOKENIZERS.register(name, cls, replace=cls is not None)


def create_tokenizer(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered tokenizer; :class:`ConfigError` for unknown names or arguments."""
    return TOKENIZERS.create(name, **kwargs)
