"""Backbones: tokens ``(B, D, *grid) -> features (B, D, *grid)`` for 1-, 2- and 3-D grids.

Families (all registered by name, built with :func:`create_backbone`):

* large-kernel: ``large_kernel``, ``lka``, ``replk``, ``pfg``
* frequency: ``afno``, ``gfnet``, ``hyena``
* state-space: ``ssm``, ``convssm``

``causal=True`` makes grid axis 0 causal. Every convolution, FFT convolution, AFNO MLP and scan
goes through :mod:`signalkit.kernels` with the ``backend`` given to the constructor.
"""

from __future__ import annotations

from . import large_kernel  # noqa: F401  (registers)
from .common import Backbone, count_flops
from .registry import create_backbone, list_backbones, register_backbone

for _mod in ("pfg", "frequency", "hyena", "ssm", "convssm"):
    try:
        __import__(f"{__name__}.{_mod}")
    except ModuleNotFoundError as _e:  # family not written yet
        if _e.name != f"{__name__}.{_mod}":
            raise

__all__ = ["Backbone", "count_flops", "create_backbone", "list_backbones", "register_backbone"]
