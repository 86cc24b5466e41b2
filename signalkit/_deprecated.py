"""Old import paths of moved modules (kept for one release).

A shim module at the old path calls :func:`moved`, which warns once with a
:class:`DeprecationWarning` naming the new path and replaces the shim in ``sys.modules`` by the
new module, so ``from old.path import name`` (public or private) and monkeypatching keep working
on the one real module.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType


def moved(old: str, new: str) -> ModuleType:
    """Warn that ``old`` moved to ``new``; make ``old`` an alias of ``new`` and return it."""
    warnings.warn(f"{old} moved to {new}; the old path is deprecated and will be removed in the next release",
                  DeprecationWarning, stacklevel=3)
    module = importlib.import_module(new)
    sys.modules[old] = module
    return module
