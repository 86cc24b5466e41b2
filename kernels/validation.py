"""Input checks shared by the kernel ops; every failure is a :class:`KernelError` naming the argument."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from signalkit.errors import KernelError


def check_tensor(
    op: str,
    name: str,
    t: object,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    complex_: bool = False,
) -> torch.Tensor:
    """Check that ``t`` is a floating (or complex) tensor of the given rank and shape.

    ``shape`` entries that are ``None`` are not checked.
    """
    if not isinstance(t, torch.Tensor):
        raise KernelError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if complex_:
        if not t.is_complex():
            raise KernelError(f"{op}: {name} must be a complex tensor, got {t.dtype}")
    elif not t.is_floating_point():
        raise KernelError(f"{op}: {name} must be a floating-point tensor, got {t.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.dim() not in allowed:
            raise KernelError(
                f"{op}: {name} must have {' or '.join(map(str, allowed))} dims, "
                f"got shape {tuple(t.shape)}"
            )
    if shape is not None:
        ok = len(shape) == t.dim() and all(s is None or s == d for s, d in zip(shape, t.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise KernelError(f"{op}: {name} must have shape {want}, got {tuple(t.shape)}")
    return t


def check_same_device(op: str, **tensors: torch.Tensor | None) -> None:
    """All given tensors live on one device."""
    items = [(k, v) for k, v in tensors.items() if v is not None]
    dev = items[0][1].device
    for k, v in items[1:]:
        if v.device != dev:
            raise KernelError(f"{op}: {k} is on {v.device} but {items[0][0]} is on {dev}")


def check_same_dtype(op: str, **tensors: torch.Tensor | None) -> None:
    """All given tensors share one dtype."""
    items = [(k, v) for k, v in tensors.items() if v is not None]
    dt = items[0][1].dtype
    for k, v in items[1:]:
        if v.dtype != dt:
            raise KernelError(f"{op}: {k} has dtype {v.dtype} but {items[0][0]} has {dt}")
