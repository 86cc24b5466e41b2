"""Compose configs from the packaged Hydra tree (``pkg://signalkit.configs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from signalkit.errors import ConfigError

CONFIG_MODULE = "signalkit.configs"


def _backbone_size(name: str, size: str, key: str) -> Any:
    """``${sk.backbone_size:<family>,<size>,<key>}``: a value of a backbone's named size in code."""
    from signalkit.backbones.registry import size_value

    return size_value(str(name), str(size), str(key))


_WARNED: set[str] = set()


def _deprecated_backbone(old: str, size: str) -> str:
    """``${sk.deprecated_backbone:<old name>,<size>}``: warn that ``model/backbone=<old>`` is deprecated."""
    import warnings

    if old in _WARNED:
        return str(size)
    _WARNED.add(old)
    family = str(old)[: -len(str(size)) - 1]
    warnings.warn(f"model/backbone={old} is deprecated and will be removed in the next release; use "
                  f"model/backbone={family} model.backbone.size={size}", DeprecationWarning, stacklevel=2)
    return str(size)


# the resolvers the packaged configs use (model/backbone/<family>.yaml); registered once per process
RESOLVERS = {"sk.backbone_size": _backbone_size, "sk.deprecated_backbone": _deprecated_backbone}
for _name, _fn in RESOLVERS.items():
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _fn)


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with Hydra overrides (``key=value`` strings).

    Errors in the overrides (unknown key, unknown group option, bad syntax) become one
    :class:`ConfigError` line naming the key.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from signalkit.config_checks import apply_replacements, check_values, split_replacements, value_keys

    hydra_overrides, later = split_replacements(overrides)
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base=None):
            cfg = hydra_compose(config_name=config_name, overrides=hydra_overrides)
            apply_replacements(cfg, later)  # paths verbatim, mappings replaced (not merged)
            keys = value_keys(overrides)
            if keys:  # each given value against the packaged default of its key
                groups = [o for o in hydra_overrides if "." not in o.partition("=")[0]]
                base = hydra_compose(config_name=config_name, overrides=groups)
                check_values(cfg, base, keys)
            return cfg
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(_one_line(err)) from None


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    if "Could not override" in text and "Key '" in text:
        key = text.split("Could not override '")[1].split("'")[0]
        return f"{key}: no such config key ({text.split('. ')[0]})"
    if "Could not find" in text:
        return text.split("Available options")[0].strip().rstrip(".") + " (see `signalkit train --help`)"
    return text


def to_plain(cfg: Any) -> Any:
    """A resolved plain-Python copy (dicts/lists/scalars) of an OmegaConf node."""
    from omegaconf.errors import InterpolationResolutionError

    if isinstance(cfg, (DictConfig,)) or OmegaConf.is_config(cfg):
        try:
            return OmegaConf.to_container(cfg, resolve=True)
        except InterpolationResolutionError as err:  # a resolver's own ConfigError, in its words
            cause: BaseException | None = err
            while cause is not None and not isinstance(cause, ConfigError):
                cause = cause.__cause__ or cause.__context__
            if cause is not None:
                raise ConfigError(str(cause)) from None
            raise
    return cfg
