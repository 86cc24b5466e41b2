"""PyTorch reference (and CPU path) of the Mamba-1 selective scan (``selective_scan_ref`` semantics)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def expand_groups(BC: torch.Tensor, Dm: int) -> torch.Tensor:
    """``(Bt, N, L)`` or ``(Bt, G, N, L)`` -> ``(Bt, Dm, N, L)`` (channel ``d`` uses group ``d // (Dm // G)``)."""
    if BC.dim() == 3:
        return BC.unsqueeze(1).expand(BC.shape[0], Dm, *BC.shape[1:])
    G = BC.shape[1]
    return BC.repeat_interleave(Dm // G, dim=1)


def scan_inputs(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    delta_bias: torch.Tensor | None,
    delta_softplus: bool,
) -> tuple[torch.dtype, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(work dtype, u, dt, A)`` of every PyTorch path: the working precision (float32, or float64
    when any of ``u, delta, A, B, C`` is), ``u``/``A`` in it and ``dt = delta + delta_bias`` (then
    ``softplus`` when ``delta_softplus``) ``(Bt, Dm, L)``."""
    work = torch.promote_types(u.dtype, torch.float32)
    for t in (delta, A, B, C):
        work = torch.promote_types(work, t.dtype)
    u, delta, A = u.to(work), delta.to(work), A.to(work)
    if delta_bias is not None:
        delta = delta + delta_bias.to(work).unsqueeze(-1)
    return work, u, F.softplus(delta) if delta_softplus else delta, A


def scan_output(y: torch.Tensor, u: torch.Tensor, D: torch.Tensor | None, z: torch.Tensor | None,
                dtype: torch.dtype) -> torch.Tensor:
    """``(y + D u) * silu(z)`` (each term only when given) in ``dtype``; ``y, u (Bt, Dm, L)`` in the
    working precision."""
    if D is not None:
        y = y + D.to(y.dtype).unsqueeze(-1) * u
    if z is not None:
        y = y * F.silu(z.to(y.dtype))
    return y.to(dtype)


def selective_scan_reference(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> torch.Tensor:
    """Sequential selective scan; computes in float32 (float64 if given), returns ``u.dtype``.

    Args:
        u, delta: ``(Bt, Dm, L)``.
        A: ``(Dm, N)`` real.
        B, C: ``(Bt, N, L)`` or ``(Bt, G, N, L)`` with ``Dm % G == 0``.
        D: ``(Dm,)`` or None. z: ``(Bt, Dm, L)`` or None. delta_bias: ``(Dm,)`` or None.

    Returns:
        y ``(Bt, Dm, L)``:
        ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t``, ``y_t = <C_t, h_t> + D u_t``, ``y *= silu(z)``,
        with ``dt = softplus(delta + delta_bias)`` when ``delta_softplus`` else ``delta + delta_bias``.
    """
    dtype_in = u.dtype
    work, u, delta, A = scan_inputs(u, delta, A, B, C, delta_bias, delta_softplus)
    Bt, Dm, L = u.shape
    Bx = expand_groups(B.to(work), Dm)  # (Bt, Dm, N, L)
    Cx = expand_groups(C.to(work), Dm)
    dA = torch.exp(delta.unsqueeze(2) * A.unsqueeze(-1))  # (Bt, Dm, N, L)
    dBu = (delta * u).unsqueeze(2) * Bx  # (Bt, Dm, N, L)
    h = u.new_zeros(Bt, Dm, A.shape[1])
    ys = []
    # unbind once: indexing [..., t] inside the loop makes autograd build a full-size gradient
    # per step (an O(L^2) backward); unbind's backward is a single stack
    for a_t, bu_t, c_t in zip(dA.unbind(-1), dBu.unbind(-1), Cx.unbind(-1)):
        h = a_t * h + bu_t
        ys.append((h * c_t).sum(-1))
    return scan_output(torch.stack(ys, dim=-1), u, D, z, dtype_in)
