"""Heads: decoding, forecasting and reconstruction, registered by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from signalkit.heads.decoding import DecodingHead
from signalkit.registry import build_registered, import_optional

HEADS: dict[str, Callable[..., nn.Module]] = {"decoding": DecodingHead}


# modality modules that register themselves on import (absent ones are skipped)
_OPTIONAL: tuple[str, ...] = (
    "signalkit.heads.reconstruction",
    "signalkit.heads.volume",
    "signalkit.heads.forecast_field",
    "signalkit.heads.frames",
)


def register_head(name: str, cls: Callable[..., nn.Module]) -> None:
    """Register a head class under ``name`` (used by model configs)."""
    HEADS[name] = cls


def create_head(name: str, tokenizer: nn.Module | None = None, **kwargs) -> nn.Module:
    """Build a registered head; :class:`ConfigError` for unknown names or arguments.

    Heads whose constructor takes a ``tokenizer`` argument (to return to signal space with
    ``tokenizer.untokenize``) receive the model's tokenizer.
    """
    import_optional(_OPTIONAL)
    if name in HEADS and "tokenizer" in inspect.signature(HEADS[name]).parameters:
        kwargs["tokenizer"] = tokenizer
    return build_registered(HEADS, name, "head", "head", **kwargs)


__all__ = ["DecodingHead", "HEADS", "create_head", "register_head"]
