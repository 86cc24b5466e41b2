"""State-space specifics: scan orders, ConvSSM recurrent rollout."""

from __future__ import annotations

import pytest
import torch

from signalkit.backbones import create_backbone
from signalkit.backbones.ssm import default_orders, flatten_order, unflatten_order
from signalkit.errors import ConfigError, ModelError


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("causal", [False, True])
def test_orders_round_trip_and_causal_layout(ndim, causal):
    shape = (3, 4, 5)[:ndim]
    x = torch.arange(2 * 3 * 60).float().reshape(2, 3, -1)[:, :, : torch.Size(shape).numel()].reshape(2, 3, *shape)
    t = torch.arange(shape[0]).view(-1, *([1] * (ndim - 1))).expand(shape).float()
    for order in default_orders(ndim, causal):
        seq, pshape = flatten_order(x, order)
        assert torch.equal(unflatten_order(seq, order, pshape), x)
        if causal:  # time index along the scan never decreases: step t entirely before t+1
            tseq, _ = flatten_order(t.expand(1, 1, *shape), order)
            assert (tseq.diff(dim=-1) >= 0).all()
    assert len(default_orders(ndim, causal)) == (1 if ndim == 1 else 2) * (1 if causal else 2) or ndim > 1


def test_non_causal_orders_are_rejected_for_causal_models():
    with pytest.raises(ConfigError, match="causality"):
        create_backbone("ssm", dim=8, depth=1, ndim=2, causal=True, orders=[[[1, 0], []]])
    with pytest.raises(ConfigError, match="causality"):
        create_backbone("ssm", dim=8, depth=1, ndim=1, causal=True, orders=[[[0], [0]]])


def test_learned_merge():
    m = create_backbone("ssm", dim=8, depth=1, ndim=2, merge="learned", d_state=4)
    x = torch.randn(2, 8, 4, 5)
    m(x).sum().backward()
    assert m.blocks[0].mixer.merge_logits.grad is not None


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_convssm_step_rollout_matches_forward(ndim):
    m = create_backbone("convssm", dim=16, depth=2, ndim=ndim, causal=True, d_state=4).eval()
    x = torch.randn(2, 16, 6, *(5, 7)[: ndim - 1])
    with torch.no_grad():
        y = m(x)
        state = None
        outs = []
        for t in range(x.shape[2]):
            y_t, state = m.step(x[:, :, t], state)
            outs.append(y_t)
    rel = ((torch.stack(outs, 2) - y).norm() / y.norm()).item()
    assert rel < 1e-5, rel


def test_convssm_step_needs_causal():
    m = create_backbone("convssm", dim=8, depth=1, ndim=3, causal=False, d_state=4)
    with pytest.raises(ModelError):
        m.step(torch.randn(1, 8, 4, 4))
