"""ReconstructionTask: loss on masked positions only, no leakage, and it learns."""

from __future__ import annotations

import math

import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.tasks import ReconstructionTask

from tests.support import sensor_batch, tiny_config

pytestmark = pytest.mark.usefixtures("torch_seed")  # as in tests/pretrained/, where these started

REC_HEAD = {"name": "reconstruction", "decoder_depth": 1, "kernel_size": 3}


def _task(**kw) -> ReconstructionTask:
    return ReconstructionTask(model=tiny_config(REC_HEAD), mask="block", mask_ratio=0.5, mask_block=[2, 1], **kw)


def test_mask_footprint_and_masked_only_loss(names19):
    task = _task()
    batch = sensor_batch(names19, b=2, t=160)  # 10 time patches of 16 samples
    g = torch.Generator().manual_seed(0)
    pred, mask, weight = task.reconstruct(batch, generator=g)
    assert pred.shape == batch["x"].shape and mask.shape == (2, 10, 4)
    # the signal-space weight is exactly the masked time patches, on every channel
    expected = mask[:, :, 0].repeat_interleave(16, dim=1)[:, None, :].float()
    assert torch.equal(weight, expected.expand_as(weight))
    assert 0.5 <= mask[:, :, 0].float().mean().item() <= 0.7


def test_masked_input_does_not_leak(names19):
    """Changing the signal inside masked patches changes nothing: the model never sees it."""
    task = _task().eval()
    batch = sensor_batch(names19, b=2, t=160)
    mask = task.draw_mask(2, (10, 4), torch.Generator().manual_seed(3))
    pred, _, weight = task.reconstruct(batch, mask=mask)
    poked = dict(batch, x=batch["x"] + 5.0 * weight * torch.randn_like(batch["x"]))
    pred2, _, _ = task.reconstruct(poked, mask=mask)
    torch.testing.assert_close(pred, pred2, rtol=0, atol=1e-5)
    # and the signal outside the mask does matter
    pred3, _, _ = task.reconstruct(dict(batch, x=batch["x"] + (1 - weight) * torch.randn_like(batch["x"])), mask=mask)
    assert (pred3 - pred).abs().max() > 1e-3


def test_sparse_masking_keeps_masked_features_empty(names19):
    """With sparse masking the backbone output at masked positions is input-independent."""
    batch_a, batch_b = sensor_batch(names19, seed=1), sensor_batch(names19, seed=2)
    mask = torch.zeros(3, 10, 4, dtype=torch.bool)
    mask[:, 3:7] = True
    for sparse, constant in ((True, True), (False, False)):
        task = _task(sparse=sparse).eval()
        feats = []
        for batch in (batch_a, batch_b):
            tokens = task.model.tokenizer(batch)
            keep = (~mask)[:, None].float()
            if task.sparse is not None:
                with task.sparse.active(keep):
                    feats.append(task.model.backbone(tokens * keep))
            else:
                feats.append(task.model.backbone(tokens * keep))
        same = torch.allclose(feats[0][:, :, 3:7], feats[1][:, :, 3:7], atol=1e-5)
        assert same is constant, f"sparse={sparse}"


def test_reconstruction_learns_a_rhythm(names19):
    """Masked patches of a shared 10 Hz rhythm are predicted far better than zeros after training."""
    torch.manual_seed(0)
    task = _task()
    t = torch.arange(160) / 160.0

    def batch(n: int, seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)
        phase = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
        gains = torch.linspace(0.5, 1.5, len(names19))[None, :, None]
        b = sensor_batch(names19, b=n, seed=seed)
        b["x"] = math.sqrt(2) * gains * torch.sin(2 * math.pi * 10 * t + phase) + 0.1 * b["x"]
        return b

    opt = torch.optim.AdamW(task.parameters(), lr=3e-3)
    for step in range(60):
        b = batch(8, step)
        pred, _, w = task.reconstruct(b)
        loss = ((pred - b["x"]) ** 2 * w).sum() / w.expand_as(b["x"]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    task.eval()
    with torch.no_grad():
        b = batch(32, 10_000)
        pred, _, w = task.reconstruct(b, generator=torch.Generator().manual_seed(0))
        w = w.expand_as(b["x"])
        nmse = (((pred - b["x"]) ** 2) * w).sum() / ((b["x"] ** 2) * w).sum()
    print(f"masked nmse {nmse:.3f}")
    assert nmse < 0.5, f"masked nmse {nmse:.3f}"


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="task.mask:"):
        ReconstructionTask(model=tiny_config(REC_HEAD), mask="grid")
    with pytest.raises(ConfigError, match="task.mask_ratio"):
        ReconstructionTask(model=tiny_config(REC_HEAD), mask_ratio=0.0)
    with pytest.raises(ConfigError, match="task.signal_dims"):
        ReconstructionTask(model=tiny_config(REC_HEAD), signal_dims=[2])


def test_spectral_term_is_phase_invariant_and_masked():
    from signalkit.tasks.reconstruction import spectral_loss

    t = torch.arange(64) / 160.0
    x = torch.sin(2 * math.pi * 10 * t)[None, None].repeat(2, 3, 1)
    shifted = torch.sin(2 * math.pi * 10 * t + 1.3)[None, None].repeat(2, 3, 1)
    w = torch.zeros_like(x)
    w[..., 32:] = 1.0
    # two whole periods per 32-sample patch: a phase shift leaves the power spectrum (almost) unchanged
    assert spectral_loss(shifted, x, w, dim=2, patch=32) < 0.05 * spectral_loss(torch.zeros_like(x), x, w, dim=2, patch=32)
    assert ((shifted - x) ** 2 * w).sum() / w.sum() > 0.5
    # segments outside the mask do not count
    y = x.clone()
    y[..., :32] = 0
    assert spectral_loss(y, x, w, dim=2, patch=32) == 0
