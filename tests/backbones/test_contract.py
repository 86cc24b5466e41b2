"""Every registered backbone x ndim {1,2,3} x causal: forward/backward, causality, reparam."""

from __future__ import annotations

import pytest
import torch

from signalkit.backbones import create_backbone
from signalkit.backbones.registry import _REGISTRY

from tests.support import DIM, SHAPES, SMALL

# the shared N-dimensional backbones (defined in signalkit.backbones), whatever else the collected test
# modules have imported; ``convlstm`` only takes (time, height, width) grids (tested in tests/models/test_video.py);
# ``identity`` mixes nothing (tested in tests/tokenizers/test_sensor_filter.py)
NAMES = sorted(n for n, b in _REGISTRY.items() if b.__module__.startswith("signalkit.backbones.")
               and not n.startswith("_") and n not in ("convlstm", "identity"))


def build(name: str, ndim: int, causal: bool, **kw):
    return create_backbone(name, dim=DIM, depth=2, ndim=ndim, causal=causal, **{**SMALL.get(name, {}), **kw})


@pytest.mark.parametrize("causal", [False, True], ids=["noncausal", "causal"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name", NAMES)
def test_forward_backward(name, ndim, causal):
    m = build(name, ndim, causal, drop_path=0.1)
    assert (m.dim, m.ndim, m.causal) == (DIM, ndim, causal)
    x = torch.randn(6, DIM, *SHAPES[ndim], requires_grad=True)
    y = m(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    grads = [p.grad for p in m.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    dead = [n for n, p in m.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead, f"parameters without gradient: {dead}"


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name", NAMES)
def test_causal_perturbation(name, ndim):
    """Perturbing inputs at indices > t along axis 0 leaves outputs at <= t unchanged (eval, float64)."""
    m = build(name, ndim, True).double().eval()
    x = torch.randn(2, DIM, *SHAPES[ndim], dtype=torch.float64)
    T = x.shape[2]
    with torch.no_grad():
        y = m(x)
        for t in (0, T // 2, T - 2):
            x2 = x.clone()
            x2[:, :, t + 1 :] += 3.0 * torch.randn_like(x2[:, :, t + 1 :])
            y2 = m(x2)
            assert (y2[:, :, : t + 1] - y[:, :, : t + 1]).abs().max() < 1e-6, f"leak at t={t}"
            assert (y2[:, :, t + 1 :] - y[:, :, t + 1 :]).abs().max() > 1e-3  # the future does change


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_causal_gradient_train_mode(name, ndim):
    """In training mode too (batch statistics!) outputs at <= t get no gradient from inputs > t."""
    m = build(name, ndim, True).train()
    x = torch.randn(3, DIM, *SHAPES[ndim], requires_grad=True)
    t = x.shape[2] // 2
    m(x)[:, :, : t + 1].sum().backward()
    g = x.grad.abs()
    assert g[:, :, t + 1 :].max() <= 1e-6 * g[:, :, : t + 1].max()


@pytest.mark.parametrize("causal", [False, True], ids=["noncausal", "causal"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("name", NAMES)
def test_reparameterize_keeps_outputs(name, ndim, causal):
    m = build(name, ndim, causal)
    with torch.no_grad():  # move norm statistics/affines away from their init
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
        m.train()
        for _ in range(3):
            m(torch.randn(2, DIM, *SHAPES[ndim]) * 2 + 0.5)
    m.eval()
    x = torch.randn(2, DIM, *SHAPES[ndim])
    with torch.no_grad():
        y0 = m(x)
        m.reparameterize()
        y1 = m(x)
    rel = ((y1 - y0).norm() / y0.norm()).item()
    assert rel < 1e-5, rel
    # no branch norms survive the merge
    assert not any(type(mod).__name__ == "BranchNorm" for mod in m.modules())


@pytest.mark.parametrize("name", NAMES)
def test_noncausal_models_see_the_future(name):
    """Sanity check of the causality tests: without causal=True the future does leak."""
    m = build(name, 2, False).double().eval()
    x = torch.randn(2, DIM, *SHAPES[2], dtype=torch.float64)
    x2 = x.clone()
    x2[:, :, 5:] += 3.0 * torch.randn_like(x2[:, :, 5:])
    with torch.no_grad():
        assert (m(x2)[:, :, :5] - m(x)[:, :, :5]).abs().max() > 1e-4
