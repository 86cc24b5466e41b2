"""SensorERPTokenizer: mean removal + decimation against numpy, a synthetic ERP task, config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.tokenizers import create_tokenizer
from signalkit.tokenizers.sensor_erp import decimate_mean, remove_window_mean


def test_mean_removal_and_decimation_match_numpy():
    x = np.random.default_rng(0).standard_normal((2, 3, 32))
    ref = (x - x.mean(-1, keepdims=True)).reshape(2, 3, 8, 4).mean(-1)
    out = decimate_mean(remove_window_mean(torch.from_numpy(x)), 8).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)


def test_tokens_are_spatially_filtered_decimated_waveforms():
    torch.manual_seed(0)
    tok = create_tokenizer("sensor_erp", dim=4, n_tokens=8, dropout=0.0).eval()
    b, c, t = 2, 5, 32
    batch = {"x": torch.randn(b, c, t), "pos": torch.randn(b, c, 3) * 0.1, "ch_type": torch.zeros(b, c, dtype=torch.long)}
    w = tok.spatial_filters(batch).detach().numpy()  # (B, 4, C)
    v = np.einsum("bsc,bct->bst", w, batch["x"].numpy())
    v = (v - v.mean(-1, keepdims=True)).reshape(b, 4, 8, 4).mean(-1)
    bn = tok.norm
    ref = (v - bn.running_mean.numpy()[:, None]) / np.sqrt(bn.running_var.numpy()[:, None] + bn.eps)
    ref = ref * bn.weight.detach().numpy()[:, None] + bn.bias.detach().numpy()[:, None]
    np.testing.assert_allclose(tok(batch).detach().numpy(), ref, rtol=1e-4, atol=1e-5)


def test_learns_synthetic_erp():
    """Class-specific evoked waveform (a positive vs negative bump at 0.3 s on a few channels) in noise."""
    from signalkit.models import create_model

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n, c, t = 240, 16, 64
    y = rng.integers(0, 2, n)
    bump = np.exp(-0.5 * ((np.arange(t) - 20) / 3.0) ** 2)
    topo = np.zeros(c)
    topo[:4] = 1.0
    x = rng.standard_normal((n, c, t)) * 1.0 + rng.standard_normal((n, c, 1)) * 3.0  # noise + offsets
    x += (2 * y - 1)[:, None, None] * 0.6 * topo[None, :, None] * bump[None, None, :]
    pos = torch.from_numpy(rng.standard_normal((c, 3)).astype(np.float32) * 0.1)
    model = create_model("eeg_erp", num_classes=2)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)
    tr, te = slice(0, 160), slice(160, None)

    def batch(s):
        k = xt[s].shape[0]
        return {"x": xt[s], "pos": pos.expand(k, c, 3), "ch_type": torch.zeros(k, c, dtype=torch.long)}

    model.train()
    for _ in range(60):
        for i in range(0, 160, 32):
            s = slice(i, i + 32)
            loss = torch.nn.functional.cross_entropy(model(batch(s)), yt[s])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(batch(te)).argmax(-1) == yt[te]).float().mean().item()
    assert acc >= 0.85, acc


@pytest.mark.parametrize("key,value", [("dim", 0), ("n_tokens", 0), ("dropout", 1.5), ("sfreq", -1.0)])
def test_bad_config_names_the_key(key, value):
    with pytest.raises(ConfigError, match=f"model.tokenizer.{key}"):
        create_tokenizer("sensor_erp", **{key: value})
