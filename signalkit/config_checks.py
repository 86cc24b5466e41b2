"""Checks of command-line values before anything runs: one line naming the key, exit 2.

* :func:`split_replacements` takes the overrides Hydra must not parse or merge: a path key
  (``data.store=k(1).zarr``, ``output_dir=``, ``ckpt_path=`` ...) keeps its value verbatim, and a
  mapping or list value of an existing key (``data.events={left: 0, right: 1}``, ``data.events=[a, b]``)
  replaces that value instead of being merged into it (Hydra merges dicts, so an experiment's
  labels stayed, and refuses a list where the experiment has a mapping).
* :func:`check_values` compares each given value with the packaged default of its key: a
  number where the config has a number (``trainer.max_epochs=abc`` is refused), plus the ranges
  in :data:`RANGES` (``data.batch_size=0``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from signalkit.errors import ConfigError

# keys whose value is a path: never parsed by Hydra's grammar (parentheses, quotes, commas, '=')
PATH_KEYS = ("data.store", "output_dir", "ckpt_path", "model.pretrained", "source", "store")

# key -> (kind, lower bound, lower bound included); kind "int" or "float"; None: number or null
RANGES: dict[str, tuple[str, float, bool]] = {
    "data.batch_size": ("int", 1, True),
    "data.num_workers": ("int", 0, True),
    "trainer.max_epochs": ("int", -1, True),
    "trainer.max_steps": ("int", -1, True),
    "trainer.num_nodes": ("int", 1, True),
    "trainer.log_every_n_steps": ("int", 1, True),
    "trainer.gradient_clip_val": ("float", 0, True),
    "task.lr": ("float", 0, False),
    "task.weight_decay": ("float", 0, True),
    "jobs": ("int", 1, True),
    "seed": ("int", 0, True),
    "data.window_s": ("float", 0, False),
    "reader.preprocess.l_freq": ("float", 0, True),
    "reader.preprocess.h_freq": ("float", 0, False),
    "reader.preprocess.notch": ("float", 0, False),
    "reader.preprocess.resample": ("float", 0, False),
}
_MISSING = object()


def _parse(override: str):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides([override])[0]


def split_replacements(overrides: Sequence[str]) -> tuple[list[str], list[tuple[str, Any]]]:
    """``(overrides for Hydra, [(key, value) set after composing])`` (see module docstring)."""
    hydra, later = [], []
    for item in overrides:
        key, sep, value = item.partition("=")
        if sep and key in PATH_KEYS:
            later.append((key, None if value in ("null", "~") else value))
            continue
        if sep and not key.startswith(("+", "~")) and value.lstrip().startswith(("{", "[")):
            try:
                parsed = _parse(item)
                val = parsed.value()
            except Exception:
                hydra.append(item)  # Hydra reports the syntax error with its own words
                continue
            if isinstance(val, (dict, list)):
                later.append((key, val))
                continue
        hydra.append(item)
    return hydra, later


def apply_replacements(cfg: DictConfig, later: Sequence[tuple[str, Any]]) -> None:
    """Set each ``(key, value)`` of :func:`split_replacements` in ``cfg`` (a full replacement)."""
    for key, value in later:
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key, default=None) if parent_key else cfg
        if not isinstance(parent, DictConfig) or leaf not in parent.keys():  # `???` values exist too
            raise ConfigError(f"{key}: no such config key")
        OmegaConf.update(cfg, key, value, merge=False, force_add=True)


def _number(key: str, value: Any, kind: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value) if kind == "float" else int(value)
            except ValueError:
                pass
            else:
                return value
        want = "an integer" if kind == "int" else "a number"
        raise ConfigError(f"{key}: expected {want}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    if kind == "int" and value != int(value):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    return value


def check_values(cfg: DictConfig, base: DictConfig | None, keys: Sequence[str]) -> None:
    """Refuse a given value of the wrong type or out of range (see module docstring)."""
    for key in keys:
        value = OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False)
        if value is _MISSING:
            continue
        rule = RANGES.get(key)
        if OmegaConf.is_config(value):
            default = None if base is None else OmegaConf.select(base, key, default=None, throw_on_missing=False)
            if rule is not None or isinstance(default, (bool, int, float)):
                what = "a list" if OmegaConf.is_list(value) else "a mapping"
                raise ConfigError(f"{key}: expected a {'number' if rule is None or rule[0] == 'float' else 'whole number'}"
                                  f", got {what}")
            continue
        if rule is not None:
            if value is None and key.startswith("reader.preprocess."):
                continue
            if key == "trainer.max_epochs" and value is None:
                continue
            kind, low, closed = rule
            number = _number(key, value, kind)
            if number < low or (number == low and not closed):
                bound = f">= {low:g}" if closed else f"> {low:g}"
                raise ConfigError(f"{key}: must be {bound}, got {value!r}")
            continue
        default = _MISSING if base is None else OmegaConf.select(base, key, default=_MISSING, throw_on_missing=False)
        if default is _MISSING or default is None or value is None or OmegaConf.is_config(default):
            continue
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{key}: expected true or false, got {value!r}")
        elif isinstance(default, int):
            _number(key, value, "int")
        elif isinstance(default, float):
            _number(key, value, "float")


def value_keys(overrides: Sequence[str]) -> list[str]:
    """The config keys set by value overrides (``a.b=1``, ``+a.b=1``; not group choices)."""
    keys = []
    for item in overrides:
        key, sep, _ = item.partition("=")
        key = key.lstrip("+~")
        if sep and "." in key or key in RANGES:
            keys.append(key)
    return keys


__all__ = ["PATH_KEYS", "RANGES", "apply_replacements", "check_values", "split_replacements", "value_keys"]
