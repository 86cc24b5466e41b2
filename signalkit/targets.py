"""Building the ``data`` and ``task`` nodes of a config without running code named in it.

The packaged configs name their data module and task by registry name (``data.name: eeg``,
``task.name: decoding``: :data:`signalkit.datamodules.registry.DATA_MODULES`,
:data:`signalkit.tasks.registry.TASKS`). A config read back from disk (a checkpoint's
``signalkit_config``, a run folder) is data, not code: a ``_target_`` there could name any
callable (``builtins.open`` truncates a file, ``numpy.load(allow_pickle=True)`` unpickles).
So nothing here calls ``hydra.utils.instantiate``:

- a ``data`` (``task``) node is built from its ``name``; an older config's ``_target_`` is still
  accepted when it is the dotted path of a registered class (its module's path, or the
  ``signalkit.datamodules.<Class>`` / ``signalkit.tasks.<Class>`` re-export), nothing else;
- a ``_target_`` anywhere else, Hydra's other special keys (``_partial_``, ``_args_``, ...)
  and unresolved interpolations (``${...}``) in a stored config are refused;
- the class is then called with the node's plain values as keyword arguments.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from signalkit.errors import ConfigError, SignalkitError

TARGET = "_target_"
HYDRA_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")
KINDS = ("data", "task")


def _registry(kind: str):
    if kind == "data":
        from signalkit.datamodules.registry import DATA_MODULES

        return DATA_MODULES, "signalkit.datamodules"
    from signalkit.tasks.registry import TASKS

    return TASKS, "signalkit.tasks"


@functools.lru_cache(maxsize=None)
def _target_classes(kind: str) -> dict[str, type]:
    from signalkit.registry import class_paths

    return class_paths(*_registry(kind))


def allowed_targets(kind: str) -> frozenset[str]:
    """The ``_target_`` strings an older config may carry for ``kind`` (data or task): the dotted
    paths of the registered classes."""
    return frozenset(_target_classes(kind))


def resolve_target(target: Any, kind: str, source: str) -> type:
    """The registered class an old config's ``<kind>._target_`` names; :class:`ConfigError` naming
    ``source`` and the key otherwise."""
    classes = _target_classes(kind)
    if not isinstance(target, str) or target not in classes:
        raise ConfigError(f"{source}{kind}._target_: {target!r} is not one of signalkit's {kind} classes "
                          f"(allowed: {', '.join(sorted(classes))}); configs never name other code")
    return classes[target]


def resolve_name(name: Any, kind: str, source: str) -> type:
    """The class registered as ``<kind>.name``; :class:`ConfigError` naming ``source`` and the key."""
    registry, _ = _registry(kind)
    if not isinstance(name, str):
        raise ConfigError(f"{source}{kind}.name: expected a {registry.kind} name "
                          f"(one of {', '.join(registry.names())}), got {name!r}")
    try:
        return registry.get_builder(name)
    except ConfigError as err:
        raise ConfigError(f"{source}{err}") from None


def node_class(node: Mapping[str, Any], kind: str, source: str = "") -> type:
    """The class a ``data``/``task`` node names, by ``name`` (or an old ``_target_``)."""
    has_name, has_target = "name" in node, TARGET in node
    if has_target:
        cls = resolve_target(node[TARGET], kind, source)  # a foreign target is refused by its name first
        if has_name:
            raise ConfigError(f"{source}{kind}: give {kind}.name or the older {kind}._target_, not both")
        return cls
    if not has_name:
        registry, _ = _registry(kind)
        raise ConfigError(f"{source}{kind}.name: missing (one of {', '.join(registry.names())})")
    return resolve_name(node["name"], kind, source)


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

    Allowed: ``data._target_`` and ``task._target_`` naming registered classes (older configs).
    Refused: any other
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
        if allow and isinstance(value, Mapping) and (TARGET in value or "name" in value):
            node_class(value, str(key), f"{source}: ")


def build_target(node: Any, kind: str, source: str = "", **extra: Any) -> Any:
    """``cls(**plain values of node, **extra)`` for the class ``node.name`` registers (or an older
    config's allow-listed ``node._target_``).

    Errors a user can cause (unknown target, wrong argument) become one :class:`ConfigError`
    naming ``<kind>``; the class's own :class:`SignalkitError` passes through unchanged.
    """
    from signalkit.config import to_plain

    plain = to_plain(node)
    if not isinstance(plain, Mapping):
        raise ConfigError(f"{source}{kind}: expected a config mapping with a name, got {type(plain).__name__}")
    plain = dict(plain)
    found = find_code(plain, kind, allow_root_target=True) or find_code(extra, kind)
    if found:
        raise ConfigError(f"{source}{found}: only {kind}._target_ may name a class, and only one of signalkit's")
    cls = node_class(plain, kind, source)
    plain.pop(TARGET, None)
    plain.pop("name", None)
    from signalkit.registry import check_kwargs

    registry, _ = _registry(kind)
    # a key the class does not take (BaseTask's options included) is named before anything is built
    check_kwargs(cls, {**plain, **extra}, f"{source}{kind}", f"{registry.kind} {cls.__name__!r}", fixed=tuple(extra))
    try:
        return cls(**plain, **extra)
    except Exception as err:  # the class's own errors pass; a wrong argument names the node
        if isinstance(err, SignalkitError) or err.__class__.__module__.startswith("signalkit"):
            raise
        raise ConfigError(f"{source}{kind}: {err}") from None
