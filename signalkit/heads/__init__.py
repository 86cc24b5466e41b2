"""Heads: decoding, forecasting and reconstruction, registered by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from signalkit.errors import ConfigError
from signalkit.heads.decoding import DecodingHead

HEADS: dict[str, Callable[..., nn.Module]] = {"decoding": DecodingHead}


# modality modules that register themselves on import (absent ones are skipped)
_OPTIONAL: tuple[str, ...] = (
    "signalkit.heads.reconstruction",
    "signalkit.heads.volume",
    "signalkit.heads.forecast_field",
    "signalkit.heads.frames",
)


def _import_optional() -> None:
    import importlib

    for module in _OPTIONAL:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def register_head(name: str, cls: Callable[..., nn.Module]) -> None:
    """Register a head class under ``name`` (used by model configs)."""
    HEADS[name] = cls


def create_head(name: str, tokenizer: nn.Module | None = None, **kwargs) -> nn.Module:
    """Build a registered head; :class:`ConfigError` for unknown names or arguments.

    Heads whose constructor takes a ``tokenizer`` argument (to return to signal space with
    ``tokenizer.untokenize``) receive the model's tokenizer.
    """
    _import_optional()
    if name not in HEADS:
        raise ConfigError(f"model.head.name: unknown head {name!r} (known: {', '.join(sorted(HEADS))})")
    if "tokenizer" in inspect.signature(HEADS[name]).parameters:
        kwargs["tokenizer"] = tokenizer
    try:
        return HEADS[name](**kwargs)
    except TypeError as err:
        raise ConfigError(f"model.head: {err}") from None


__all__ = ["DecodingHead", "HEADS", "create_head", "register_head"]
