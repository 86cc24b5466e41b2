"""The task registry: config names (``task.name: decoding``) -> LightningModule task classes.

Every task class registers here under the name of its packaged config (``configs/task/<name>.yaml``)::

    @TASKS.register("decoding")
    class DecodingTask(BaseTask): ...

:func:`signalkit.targets.build_target` builds a ``task`` node from its ``name``; an old config's
``task._target_`` is still accepted when it names a registered class (:func:`signalkit.registry.class_paths`).
"""

from __future__ import annotations

from signalkit.registry import Registry

TASKS: Registry[type] = Registry("task", "task", modules=("signalkit.tasks",))


def create_task(name: str, /, **kwargs) -> object:
    """The task registered as ``name`` built with ``kwargs`` (``model=``, ``data_contract=``, ...);
    an unknown name or option is one :class:`~signalkit.errors.ConfigError` naming ``task``."""
    return TASKS.create(name, **kwargs)


__all__ = ["TASKS", "create_task"]
