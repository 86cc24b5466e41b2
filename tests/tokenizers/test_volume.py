"""Volume tokenizer: identity round trip on both grids, raster order of the tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.tokenizers.volume import VolumeTokenizer


def _identity_tokenizer(patch, time_patch, grid):
    tok = VolumeTokenizer(dim=time_patch * int(np.prod(patch)), patch_size=patch, time_patch=time_patch, grid=grid)
    with torch.no_grad():
        for lin in (tok.embed, tok.unpatch):
            lin.weight.copy_(torch.eye(lin.weight.shape[0]))
            lin.bias.zero_()
        tok.pos_mlp[-1].weight.zero_()
        tok.pos_mlp[-1].bias.zero_()
    return tok


@pytest.mark.parametrize("grid,time_patch,t", [("time_space", 2, 5), ("space", 3, 3)])
def test_volume_tokenizer_roundtrip_and_grid(grid, time_patch, t):
    x = torch.randn(2, t, 7, 5, 3)
    tok = _identity_tokenizer((2, 2, 2), time_patch, grid)
    tokens = tok({"x": x})
    if grid == "time_space":
        assert tok.grid_ndim == 2 and tokens.shape == (2, tok.dim, 3, 4 * 3 * 2)
    else:
        assert tok.grid_ndim == 3 and tokens.shape == (2, tok.dim, 4, 3, 2)
    torch.testing.assert_close(tok.untokenize(tokens, {"x": x}), x)


def test_volume_tokens_keep_raster_order():
    x = torch.zeros(1, 1, 4, 2, 2)
    x[0, 0, 2:, 0, 1] = 1.0  # voxels of spatial patch (1, 0, 1) with 2x1x1 patches
    tok = _identity_tokenizer((2, 1, 1), 1, "time_space")
    tokens = tok({"x": x})[0, :, 0]  # (D, N)
    hot = tokens.abs().sum(0).nonzero().flatten().tolist()
    assert hot == [1 * 2 * 2 + 0 * 2 + 1]
