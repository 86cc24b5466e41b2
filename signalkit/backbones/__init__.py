"""Backbones: tokens ``(B, D, *grid) -> features (B, D, *grid)`` for 1-, 2- and 3-D grids.

Families (all registered by name, built with :func:`create_backbone`):

* large-kernel: ``large_kernel``, ``lka``, ``replk``, ``pfg``
* frequency: ``afno``, ``gfnet``, ``hyena``
* state-space: ``ssm``, ``convssm``
* recurrent: ``convlstm`` (video baseline)
* none: ``identity`` (for tokenizers that extract the features themselves)

Named sizes beside each family: ``create_backbone("afno", size="base")``, :func:`backbone_sizes`.
``causal=True`` makes grid axis 0 causal. Every convolution, FFT convolution, AFNO MLP and scan
goes through :mod:`signalkit.kernels` with the ``backend`` given to the constructor.
"""

from __future__ import annotations

from . import convlstm, convssm, frequency, hyena, identity, large_kernel, pfg, ssm  # noqa: F401  (register)
from .common import Backbone, count_flops
from .registry import backbone_sizes, create_backbone, list_backbones, register_backbone

__all__ = ["Backbone", "backbone_sizes", "count_flops", "create_backbone", "list_backbones", "register_backbone"]
