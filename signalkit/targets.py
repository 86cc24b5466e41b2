"""Building the ``data`` and ``task`` nodes of a config without running code named in it.

The packaged configs name their data module and task with a Hydra ``_target_``
(``signalkit.datamodules.SignalDataModule``). A config read back from disk (a checkpoint's
``signalkit_config``, a run folder) is data, not code: a ``_target_`` there could name any
callable (``builtins.open`` truncates a file, ``numpy.load(allow_pickle=True)`` unpickles).
So nothing here calls ``hydra.utils.instantiate``:

- the ``_target_`` of a ``data`` (``task``) node must be one of the allow-list, the
  ``_target_`` strings of the packaged ``configs/data/*.yaml`` (``configs/task/*.yaml``);
  it must resolve to a ``LightningDataModule`` (``LightningModule``) class of ``signalkit``;
- a ``_target_`` anywhere else, Hydra's other special keys (``_partial_``, ``_args_``, ...)
  and unresolved interpolations (``${...}``) in a stored config are refused;
- the class is then called with the node's plain values as keyword arguments.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

from signalkit.errors import ConfigError, SignalkitError

TARGET = "_target_"
HYDRA_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")
KINDS = ("data", "task")


@functools.lru_cache(maxsize=None)
def allowed_targets(kind: str) -> frozenset[str]:
    """The ``_target_`` strings of the packaged ``configs/<kind>/*.yaml`` (``kind``: data or task)."""
    from importlib.resources import files

    import yaml

    out = set()
    for entry in (files("signalkit.configs") / kind).iterdir():
        if entry.name.endswith(".yaml"):
            node = yaml.safe_load(entry.read_text()) or {}
            if isinstance(node, dict) and isinstance(node.get(TARGET), str):
                out.add(node[TARGET])
    return frozenset(out)


def _base_class(kind: str) -> type:
    import lightning as L

    return L.LightningDataModule if kind == "data" else L.LightningModule


def resolve_target(target: Any, kind: str, source: str) -> type:
    """The class an allow-listed ``_target_`` names; :class:`ConfigError` (or the error type of
    ``source``'s caller) naming ``source`` and the key otherwise."""
    allowed = allowed_targets(kind)
    if not isinstance(target, str) or target not in allowed:
        raise ConfigError(f"{source}{kind}._target_: {target!r} is not one of signalkit's {kind} classes "
                          f"(allowed: {', '.join(sorted(allowed))}); configs never name other code")
    module, _, name = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"{source}{kind}._target_: cannot import {target!r} ({err})") from None
    if not (isinstance(obj, type) and issubclass(obj, _base_class(kind))
            and obj.__module__.startswith("signalkit.")):
        raise ConfigError(f"{source}{kind}._target_: {target!r} is not a signalkit {kind} class")
    return obj


def find_code(obj: Any, where: str = "", allow_root_target: bool = False,
              interpolations: bool = False) -> str | None:
    """The path of the first ``_target_``/Hydra special key (or ``${...}`` string when
    ``interpolations``) in a plain config ``obj``; None when there is none.

    ``allow_root_target`` lets the ``_target_`` of ``obj`` itself pass (checked by :func:`resolve_target`).
    """
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            path = f"{where}.{key}" if where else str(key)
            if str(key) in HYDRA_KEYS and not (allow_root_target and str(key) == TARGET):
                return path
            found = find_code(value, path, interpolations=interpolations)
            if found:
                return found
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            found = find_code(value, f"{where}[{i}]", interpolations=interpolations)
            if found:
                return found
    elif interpolations and isinstance(obj, str) and "${" in obj:
        return where
    return None


def check_stored_config(cfg: Any, source: str) -> None:
    """Refuse a config read from a file (checkpoint, run folder) that names code.

    Allowed: ``data._target_`` and ``task._target_`` from the allow-list. Refused: any other
    ``_target_`` or Hydra special key, and ``${...}`` interpolations (a stored config is
    written resolved). Raises :class:`ConfigError` naming ``source`` and the key.
    """
    from omegaconf import OmegaConf

    if OmegaConf.is_config(cfg):
        cfg = OmegaConf.to_container(cfg, resolve=False)
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"{source}: the stored config is not a mapping")
    for key, value in cfg.items():
        allow = str(key) in KINDS
        found = find_code(value, str(key), allow_root_target=allow, interpolations=True)
        if found is None and str(key) in HYDRA_KEYS:
            found = str(key)
        if found:
            what = "an interpolation" if not found.rsplit(".", 1)[-1].startswith("_") else "code"
            raise ConfigError(f"{source}: {found}: a stored config is plain data and never names {what} "
                              "(only data._target_/task._target_ of signalkit's own classes)")
        if allow and isinstance(value, Mapping) and TARGET in value:
            resolve_target(value[TARGET], str(key), f"{source}: ")


def build_target(node: Any, kind: str, source: str = "", **extra: Any) -> Any:
    """``cls(**plain values of node, **extra)`` for an allow-listed ``node._target_``.

    Errors a user can cause (unknown target, wrong argument) become one :class:`ConfigError`
    naming ``<kind>``; the class's own :class:`SignalkitError` passes through unchanged.
    """
    from signalkit.config import to_plain

    plain = to_plain(node)
    if not isinstance(plain, Mapping):
        raise ConfigError(f"{source}{kind}: expected a config mapping with a _target_, got {type(plain).__name__}")
    plain = dict(plain)
    found = find_code(plain, kind, allow_root_target=True) or find_code(extra, kind)
    if found:
        raise ConfigError(f"{source}{found}: only {kind}._target_ may name a class, and only one of signalkit's")
    cls = resolve_target(plain.pop(TARGET, None), kind, source)
    try:
        return cls(**plain, **extra)
    except Exception as err:  # the class's own errors pass; a wrong argument names the node
        if isinstance(err, SignalkitError) or err.__class__.__module__.startswith("signalkit"):
            raise
        raise ConfigError(f"{source}{kind}: {err}") from None
