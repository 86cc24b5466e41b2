"""Tokenizers: ``Batch -> tokens (B, D, *grid)``, registered by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from signalkit.registry import build_registered, import_optional
from signalkit.tokenizers.sensor import SensorTokenizer

TOKENIZERS: dict[str, Callable[..., nn.Module]] = {"sensor": SensorTokenizer}


# modality modules that register themselves on import (absent ones are skipped)
_OPTIONAL: tuple[str, ...] = (
    "signalkit.tokenizers.volume",
    "signalkit.tokenizers.field",
    "signalkit.tokenizers.frames",
)


def register_tokenizer(name: str, cls: Callable[..., nn.Module]) -> None:
    """Register a tokenizer class under ``name`` (used by model configs)."""
    TOKENIZERS[name] = cls


def create_tokenizer(name: str, **kwargs) -> nn.Module:
    """Build a registered tokenizer; :class:`ConfigError` for unknown names or arguments."""
    import_optional(_OPTIONAL)
    return build_registered(TOKENIZERS, name, "tokenizer", "tokenizer", **kwargs)


__all__ = ["SensorTokenizer", "TOKENIZERS", "create_tokenizer", "register_tokenizer"]
