"""Heads: decoding, forecasting and reconstruction, registered by name (``decoding``,
``reconstruction``, ``untokenize`` (old name ``unpatch``), ``forecast_field``, ``frames``)."""

from __future__ import annotations

from signalkit.heads import forecast_field, frames, reconstruction, volume  # noqa: F401  (register)
from signalkit.heads.decoding import DecodingHead
from signalkit.heads.registry import HEADS, create_head, register_head

__all__ = ["DecodingHead", "HEADS", "create_head", "register_head"]
