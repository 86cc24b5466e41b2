"""Backend selection shared by every kernel family.

``backend`` is ``"auto" | "torch" | "triton"`` (``None`` reads ``SIGNALKIT_KERNEL_BACKEND``,
default ``"auto"``). ``auto`` picks Triton for CUDA tensors of a Triton dtype (float32, float16,
bfloat16) and PyTorch otherwise. ``"triton"`` on CPU tensors is allowed only under
``TRITON_INTERPRET=1`` (which must be set before triton is first imported).
Triton itself is imported lazily, only when the Triton backend runs.
"""

from __future__ import annotations

import os

import torch

from signalkit.errors import KernelError

BACKENDS = ("auto", "torch", "triton")
ENV_VAR = "SIGNALKIT_KERNEL_BACKEND"
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def interpret_mode() -> bool:
    """True when ``TRITON_INTERPRET=1`` is set (Triton kernels may run on CPU tensors)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0", "false", "False")


def resolve_backend(backend: str | None, op: str, *tensors: torch.Tensor | None) -> str:
    """Return ``"torch"`` or ``"triton"`` for ``op`` called on ``tensors``.

    Args:
        backend: ``"auto" | "torch" | "triton"`` or ``None`` (use ``$SIGNALKIT_KERNEL_BACKEND``).
        op: name of the op, used in error messages.
        tensors: the op's tensor arguments (``None`` entries are ignored); the first one
            decides the device.

    Raises:
        KernelError: unknown backend name, or ``"triton"`` requested where it cannot run.
    """
    source = "backend"
    if backend is None:
        backend = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
        source = ENV_VAR
    if backend not in BACKENDS:
        raise KernelError(f"{op}: {source}={backend!r} is not one of {BACKENDS}")
    ts = [t for t in tensors if t is not None]
    ref = ts[0]
    if backend == "torch" or any(t.numel() == 0 for t in ts):
        return "torch"  # empty inputs never launch a kernel
    if backend == "auto":
        if ref.is_cuda and ref.dtype in TRITON_DTYPES and _triton_available():
            return "triton"
        return "torch"
    # explicit triton
    if not ref.is_cuda and not interpret_mode():
        raise KernelError(
            f"{op}: backend='triton' needs CUDA tensors (got device {ref.device}); "
            "set TRITON_INTERPRET=1 before importing triton to run the kernels on CPU"
        )
    if ref.dtype not in TRITON_DTYPES:
        raise KernelError(
            f"{op}: backend='triton' supports float32/float16/bfloat16, got {ref.dtype}; "
            "use backend='torch' for other dtypes"
        )
    if not _triton_available():
        raise KernelError(f"{op}: backend='triton' but triton is not installed")
    return "triton"


def _triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True
