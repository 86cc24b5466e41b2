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


def _synthetic_erp(seed: int = 0, n: int = 240, c: int = 16, t: int = 64):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    bump = np.exp(-0.5 * ((np.arange(t) - 20) / 3.0) ** 2)
    topo = np.zeros(c)
    topo[:4] = 1.0
    x = rng.standard_normal((n, c, t)) + rng.standard_normal((n, c, 1)) * 3.0
    x += (2 * y - 1)[:, None, None] * 0.6 * topo[None, :, None] * bump[None, None, :]
    pos = torch.from_numpy(rng.standard_normal((c, 3)).astype(np.float32) * 0.1)
    items = [{"x": torch.from_numpy(x[i].astype(np.float32)), "pos": pos, "ch_type": torch.zeros(c, dtype=torch.long),
              "y": int(y[i])} for i in range(n)]
    return items, y


def test_lda_readout_start_matches_sklearn_and_then_learns():
    """The default eeg_erp (readout: lda) through DecodingTask + Lightning on the synthetic ERP: right after
    the closed-form start the head gives sklearn's shrinkage-LDA decision on the same tokens, and after
    3 epochs of fine-tuning the held-out accuracy is >= 0.85 (the Bayes accuracy of this task is ~0.99)."""
    import lightning as L
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from torch.utils.data import DataLoader

    from signalkit.datamodules.collate import collate_sensor
    from signalkit.models import model_config
    from signalkit.tasks import DecodingTask
    from signalkit.tasks.ridge_decoding import readout_inputs

    L.seed_everything(0, verbose=False)
    items, y = _synthetic_erp()
    train, test = items[:160], items[160:]
    task = DecodingTask(model=model_config("eeg_erp", num_classes=2), data_contract={"sfreq": 128.0},
                        lr=1e-3, weight_decay=0.0, warmup_epochs=0)
    assert task.model.head.readout == "lda"
    loader = DataLoader(train, batch_size=16, shuffle=False, collate_fn=collate_sensor)
    task.fit_lda_readout(loader)
    feats, ys, _ = readout_inputs(task.model, loader)
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(feats, ys)
    task.eval()
    with torch.no_grad():
        pred = task.model(collate_sensor(train)).argmax(-1).numpy()
    np.testing.assert_array_equal(pred, ref.predict(feats))
    # the BatchNorm statistics were set from the training tokens (per-filter mean 0, variance 1 after it)
    tok = task.model.tokenizer
    with torch.no_grad():
        z = tok(collate_sensor(train))
    np.testing.assert_allclose(z.mean((0, 2)).numpy(), tok.norm.bias.detach().numpy(), atol=1e-4)

    task = DecodingTask(model=model_config("eeg_erp", num_classes=2), data_contract={"sfreq": 128.0},
                        lr=1e-3, weight_decay=0.0, warmup_epochs=0)
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, DataLoader(train, batch_size=16, shuffle=True, collate_fn=collate_sensor))
    task.eval()
    with torch.no_grad():
        acc = float((task.model(collate_sensor(test)).argmax(-1).numpy() == y[160:]).mean())
    assert acc >= 0.85, acc


@pytest.mark.parametrize("key,value", [("readout", "svm"), ("readout_scale", 0.0), ("readout_lr_scale", -1.0)])
def test_bad_readout_config_names_the_key(key, value):
    from signalkit.models import create_model

    with pytest.raises(ConfigError, match=f"model.head.{key}"):
        create_model("eeg_erp", head={key: value})


def test_oscillatory_default_has_no_closed_form_start():
    from signalkit.models import create_model

    assert create_model("eeg_decoder").head.readout is None
