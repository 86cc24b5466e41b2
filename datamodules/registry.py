"""The data-module registry: config names (``data.name: eeg``) -> LightningDataModule classes.

Every data module registers here under the name of its packaged config (``configs/data/<name>.yaml``);
:func:`signalkit.targets.build_target` builds a ``data`` node from its ``name``. An old config's
``data._target_`` is still accepted when it names a registered class
(:func:`signalkit.registry.class_paths`).
"""

from __future__ import annotations

from signalkit.registry import Registry

DATA_MODULES: Registry[type] = Registry("data module", "data", modules=("signalkit.datamodules",
                                                                         "signalkit.datamodules.fmri",
                                                                         "signalkit.datamodules.video"))


def create_datamodule(name: str, /, **kwargs) -> object:
    """The data module registered as ``name`` built with ``kwargs``; an unknown name or option is one
    :class:`~signalkit.errors.ConfigError` naming ``data``."""
    return DATA_MODULES.create(name, **kwargs)


__all__ = ["DATA_MODULES", "create_datamodule"]
