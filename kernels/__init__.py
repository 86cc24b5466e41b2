"""signalkit kernels: depthwise long conv, FFT conv, AFNO spectral MLP, selective scan.

Every op takes ``backend="auto" | "torch" | "triton"`` (None reads ``$SIGNALKIT_KERNEL_BACKEND``,
default ``"auto"``: Triton for CUDA tensors, PyTorch otherwise). Triton is imported lazily, only
when the Triton backend runs, so importing this package is cheap and works without triton.
"""

from __future__ import annotations

from signalkit.errors import KernelError

from .backend import BACKENDS, ENV_VAR, interpret_mode, resolve_backend
from .afno import afno_mlp, afno_mlp_reference
from .dwconv import dwconv, dwconv_reference
from .fftconv import fftconv, fftconv_reference
from .selective_scan import selective_scan, selective_scan_reference

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "KernelError",
    "afno_mlp",
    "afno_mlp_reference",
    "dwconv",
    "dwconv_reference",
    "fftconv",
    "fftconv_reference",
    "interpret_mode",
    "resolve_backend",
    "selective_scan",
    "selective_scan_reference",
]
