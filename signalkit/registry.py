"""Shared pieces of the name registries (tokenizers, heads, readers)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from signalkit.errors import ConfigError


def import_optional(modules: Iterable[str]) -> None:
    """Import modules that register themselves on import; skip those that do not exist.

    A module that exists but fails to import (a missing dependency inside it) still raises.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def build_registered(table: Mapping[str, Callable[..., Any]], name: str, section: str, kind: str,
                     **kwargs: Any) -> Any:
    """``table[name](**kwargs)``, with one :class:`ConfigError` naming ``model.<section>`` for an
    unknown name or a wrong argument."""
    if name not in table:
        raise ConfigError(f"model.{section}.name: unknown {kind} {name!r} (known: {', '.join(sorted(table))})")
    try:
        return table[name](**kwargs)
    except TypeError as err:
        raise ConfigError(f"model.{section}: {err}") from None
