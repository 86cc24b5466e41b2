"""Compose configs from the packaged Hydra tree (``pkg://signalkit.configs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from signalkit.errors import ConfigError

CONFIG_MODULE = "signalkit.configs"


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

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base=None):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
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
    if isinstance(cfg, (DictConfig,)) or OmegaConf.is_config(cfg):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg
