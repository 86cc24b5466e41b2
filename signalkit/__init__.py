"""signalkit: deep learning on neural and scientific signals.

The public API is imported lazily so that ``import signalkit`` stays fast
(readers, models and Lightning are only loaded when first used).
"""

from __future__ import annotations

import importlib
from typing import Any

from signalkit.version import __version__

_LAZY = {
    "open_store": "signalkit.store",
    "ingest": "signalkit.store",
    "read_recording": "signalkit.io",
    "create_model": "signalkit.models",
    "list_models": "signalkit.models",
    "SignalModel": "signalkit.models",
    "SignalEnsemble": "signalkit.ensemble",
    "save_pretrained": "signalkit.pretrained",
    "from_pretrained": "signalkit.pretrained",
    "create_backbone": "signalkit.backbones",
    "list_backbones": "signalkit.backbones",
    "create_task": "signalkit.tasks",
    "create_datamodule": "signalkit.datamodules",
    "SignalkitError": "signalkit.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'signalkit' has no attribute {name!r}")
