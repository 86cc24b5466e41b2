"""Token-grid masks, their signal-space footprint and sparse (SparK) masking of backbone blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from signalkit.errors import ConfigError
from signalkit.masking import SparseMasking, block_mask, make_mask, random_mask, upsample_mask

pytestmark = pytest.mark.usefixtures("torch_seed")  # as in tests/pretrained/, where these started


def test_random_mask_count_and_shared_axis():
    g = torch.Generator().manual_seed(0)
    m = random_mask(5, (10, 4), 0.3, shared_axes=[1], generator=g)
    assert m.shape == (5, 10, 4) and m.dtype == torch.bool
    # 3 of 10 time positions masked per sample, the same for every virtual channel
    assert m[:, :, 0].sum(1).tolist() == [3] * 5
    assert bool((m == m[:, :, :1]).all())
    assert not bool((m[0] == m[1]).all() and (m[1] == m[2]).all())


def test_random_mask_keeps_one_visible():
    m = random_mask(2, (3,), 0.99)
    assert m.sum(1).tolist() == [2, 2]


def test_block_mask_is_contiguous_and_reaches_ratio():
    g = torch.Generator().manual_seed(1)
    m = block_mask(4, (40, 6), 0.5, block=[5, 1], shared_axes=[1], generator=g)
    for row in m[:, :, 0]:
        frac = row.float().mean().item()
        assert 0.5 <= frac < 0.5 + 5 / 40 + 1e-6
        # runs of masked positions come in multiples of whole blocks (length >= 5)
        runs, n = [], 0
        for v in row.tolist() + [False]:
            if v:
                n += 1
            elif n:
                runs.append(n)
                n = 0
        assert min(runs) >= 5


def test_unknown_mask_kind_and_ratio():
    with pytest.raises(ConfigError, match="task.mask"):
        make_mask("checkerboard", 1, (4,), 0.5)
    with pytest.raises(ConfigError, match="task.mask_ratio"):
        random_mask(1, (4,), 1.5)


def test_upsample_mask_patches_and_padding():
    # grid (P=3 time patches, S=2 virtual channels) over x (B, C=2, T=10): patch = ceil(10/3) = 4
    m = torch.tensor([[[False, False], [True, True], [False, False]]])
    w = upsample_mask(m, (1, 2, 10), [2, None])
    assert w.shape == (1, 1, 10)
    assert w[0, 0].int().tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    # a 2-D grid mapped to the last two dims of a (B, T, H, W) signal
    m2 = torch.zeros(1, 2, 2, dtype=torch.bool)
    m2[0, 1, 0] = True
    w2 = upsample_mask(m2, (1, 3, 4, 6), [2, 3])
    assert w2.shape == (1, 1, 4, 6)
    assert w2[0, 0].int().tolist() == [[0] * 6, [0] * 6, [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0]]
    # grid axes in the opposite order of the signal dims: axis 0 -> W (dim 3), axis 1 -> H (dim 2)
    m3 = torch.zeros(1, 2, 3, dtype=torch.bool)
    m3[0, 1, 0] = True
    w3 = upsample_mask(m3, (1, 1, 6, 4), [3, 2])
    assert w3.shape == (1, 1, 6, 4)
    assert w3[0, 0].int().tolist() == [[0, 0, 1, 1], [0, 0, 1, 1]] + [[0, 0, 0, 0]] * 4


class _Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Conv1d(2, 2, 5, padding=2) for _ in range(3)])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


def test_sparse_masking_zeroes_after_every_block():
    bb = _Backbone()
    sm = SparseMasking(bb)
    assert sm.n_hooks == 3
    seen = []
    bb.blocks[1].register_forward_pre_hook(lambda m, inp: seen.append(inp[0].clone()))
    x = torch.randn(1, 2, 9)
    keep = torch.ones(1, 1, 9)
    keep[..., 3:6] = 0
    with sm.active(keep):
        y = bb(x * keep)
    assert bool((seen[0][..., 3:6] == 0).all())  # block 0's output was re-masked
    assert bool((y[..., 3:6] == 0).all())
    y2 = bb(x * keep)  # hooks are inactive outside the context: the kernel fills the hole
    assert bool((y2[..., 3:6] != 0).any())
    sm.remove()
    assert sm.n_hooks == 0
