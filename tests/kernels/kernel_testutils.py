"""Shared helpers for the kernel tests."""

from __future__ import annotations

import torch


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """``||out - ref|| / ||ref||`` (complex tensors compared through their real view)."""
    if out.is_complex():
        out, ref = torch.view_as_real(out), torch.view_as_real(ref)
    out, ref = out.double(), ref.double()
    den = ref.norm().item()
    num = (out - ref).norm().item()
    return num / den if den > 0 else num
