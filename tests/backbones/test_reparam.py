"""BranchNorm: the fused (F.batch_norm) and explicit paths agree with nn.BatchNorm semantics."""

from __future__ import annotations

import torch

from signalkit.backbones.reparam import BranchNorm


def _pair(causal: bool):
    norm = BranchNorm(5, causal=causal)
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 2.0, 5))
        norm.bias.copy_(torch.linspace(-1.0, 1.0, 5))
        norm.running_mean.copy_(torch.linspace(-0.2, 0.3, 5))
        norm.running_var.copy_(torch.linspace(0.7, 1.5, 5))
    bn = torch.nn.BatchNorm2d(5, momentum=0.1)
    bn.load_state_dict({k: v for k, v in norm.state_dict().items()}, strict=False)
    return norm, bn


def test_noncausal_training_is_batchnorm():
    norm, bn = _pair(causal=False)
    x = torch.randn(3, 5, 4, 6) * 2 + 1
    torch.testing.assert_close(norm.train()(x), bn.train()(x))
    torch.testing.assert_close(norm.running_mean, bn.running_mean)
    torch.testing.assert_close(norm.running_var, bn.running_var)  # unbiased batch variance
    torch.testing.assert_close(norm.eval()(x), bn.eval()(x))


def test_causal_training_uses_the_running_statistics_held_before_the_call():
    norm, bn = _pair(causal=True)
    x = torch.randn(3, 5, 4, 6) * 2 + 1
    expected = bn.eval()(x)  # normalised with the statistics held before this batch
    torch.testing.assert_close(norm.train()(x), expected)
    bn.train()(x)  # ... which are then updated exactly as BatchNorm updates them
    torch.testing.assert_close(norm.running_mean, bn.running_mean)
    torch.testing.assert_close(norm.running_var, bn.running_var)


def test_one_value_per_channel_takes_the_explicit_path():
    """A batch with one value per channel cannot use F.batch_norm (it raises); the explicit path runs."""
    norm, _ = _pair(causal=True)
    before = norm.running_var.clone()
    x = torch.randn(1, 5, 1, 1)
    y = norm.train()(x)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(norm.running_var, before * 0.9)  # the batch variance of 1 value is 0
