"""``voxel_mean``: each voxel's mean over the window, zero outside the mask, one 1-wide token per voxel."""

from __future__ import annotations

import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.tokenizers import create_tokenizer


def test_tokens_are_the_masked_block_averages():
    tok = create_tokenizer("voxel_mean", dim=1, volume_shape=[2, 3, 1])
    x = torch.randn(4, 5, 2, 3, 1)
    mask = torch.ones(4, 2, 3, 1, dtype=torch.bool)
    mask[:, 1, 2, 0] = False
    out = tok({"x": x, "voxel_mask": mask})
    assert out.shape == (4, 1, 6) and tok.n_tokens == 6
    expect = x.mean(1).reshape(4, 6)
    expect[:, 5] = 0
    torch.testing.assert_close(out[:, 0], expect)
    assert sum(p.numel() for p in tok.parameters()) == 0


def test_bad_width_or_grid_is_one_clear_error():
    with pytest.raises((ConfigError, TypeError), match="model.dim=1"):
        create_tokenizer("voxel_mean", dim=4, volume_shape=[2, 2, 2])
    tok = create_tokenizer("voxel_mean", dim=1, volume_shape=[2, 2, 2])
    with pytest.raises(ValueError, match="voxel_mean tokenizer"):
        tok({"x": torch.randn(1, 3, 2, 2, 3)})
