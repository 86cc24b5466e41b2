"""Tokenizers: ``Batch -> tokens (B, D, *grid)``, registered by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from signalkit.errors import ConfigError
from signalkit.tokenizers.sensor import SensorTokenizer

TOKENIZERS: dict[str, Callable[..., nn.Module]] = {"sensor": SensorTokenizer}


# modality modules that register themselves on import (absent ones are skipped)
_OPTIONAL: tuple[str, ...] = (
    "signalkit.tokenizers.volume",
    "signalkit.tokenizers.field",
    "signalkit.tokenizers.frames",
)


def _import_optional() -> None:
    import importlib

    for module in _OPTIONAL:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def register_tokenizer(name: str, cls: Callable[..., nn.Module]) -> None:
    """Register a tokenizer class under ``name`` (used by model configs)."""
    TOKENIZERS[name] = cls


def create_tokenizer(name: str, **kwargs) -> nn.Module:
    """Build a registered tokenizer; :class:`ConfigError` for unknown names or arguments."""
    _import_optional()
    if name not in TOKENIZERS:
        raise ConfigError(f"model.tokenizer.name: unknown tokenizer {name!r} (known: {', '.join(sorted(TOKENIZERS))})")
    try:
        return TOKENIZERS[name](**kwargs)
    except TypeError as err:
        raise ConfigError(f"model.tokenizer: {err}") from None


__all__ = ["SensorTokenizer", "TOKENIZERS", "create_tokenizer", "register_tokenizer"]
