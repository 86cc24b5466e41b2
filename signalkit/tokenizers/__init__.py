"""Tokenizers: ``Batch -> tokens (B, D, *grid)``, registered by name (``sensor``, ``volume``, ``field``,
``frames``)."""

from __future__ import annotations

from signalkit.tokenizers import field, frames, volume, voxels  # noqa: F401  (register)
from signalkit.tokenizers.registry import TOKENIZERS, create_tokenizer, register_tokenizer
from signalkit.tokenizers.sensor import SensorTokenizer
from signalkit.tokenizers.sensor_bandpower import SensorBandPowerTokenizer
from signalkit.tokenizers.sensor_erp import SensorERPTokenizer
from signalkit.tokenizers.sensor_filter import SensorFilterTokenizer

__all__ = ["SensorBandPowerTokenizer", "SensorERPTokenizer", "SensorFilterTokenizer", "SensorTokenizer", "TOKENIZERS", "create_tokenizer", "register_tokenizer"]
