"""sensor_erp's closed-form spatial filters (spatial_init=lda): against sklearn's shrinkage LDA, montage
reordering, the Lightning start, and the errors for windows it cannot fit on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.tokenizers import create_tokenizer
from signalkit.tokenizers.sensor_erp import decimate_mean, remove_window_mean


def _erp(seed: int = 0, n: int = 200, c: int = 12, t: int = 64):
    """Two classes, a +/- bump at sample 20 on channels 0-3 with a fixed topography, in noise and offsets."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    bump = np.exp(-0.5 * ((np.arange(t) - 20) / 3.0) ** 2)
    topo = np.zeros(c)
    topo[:4] = [1.0, 0.8, -0.6, 0.4]
    x = rng.standard_normal((n, c, t)) + rng.standard_normal((n, c, 1)) * 3.0
    x += (2 * y - 1)[:, None, None] * 0.7 * topo[None, :, None] * bump[None, None, :]
    pos = rng.standard_normal((c, 3)) * 0.05
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y), torch.from_numpy(pos.astype(np.float32)), topo


def _batches(x, y, pos, size=50):
    n, c = x.shape[0], x.shape[1]
    return [{"x": x[i:i + size], "y": y[i:i + size], "pos": pos.expand(min(size, n - i), c, 3),
             "ch_type": torch.zeros(min(size, n - i), c, dtype=torch.long)} for i in range(0, n, size)]


def test_filters_span_the_leading_subspace_of_sklearn_shrinkage_lda():
    """Two classes: the class-centred weight maps are +/- half sklearn's ``coef_`` reshaped ``(C, P)``, so
    the filters are its leading left singular vectors (up to sign)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    x, y, pos, _ = _erp()
    tok = create_tokenizer("sensor_erp", dim=3, n_tokens=8, dropout=0.0)
    assert tok.closed_form
    tok.fit_closed_form(_batches(x, y, pos), num_classes=2)
    feats = decimate_mean(remove_window_mean(x.double()), 8).reshape(len(x), -1).numpy()
    coef = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(feats, y.numpy()).coef_[0]
    u = np.linalg.svd(coef.reshape(12, 8), full_matrices=False)[0][:, :3].T  # (3, C)
    ours = tok.fit_filters[:, :12].detach().double().numpy()
    np.testing.assert_allclose(np.abs(np.einsum("sc,sc->s", ours, u)), 1.0, atol=1e-4)
    # the filters the tokenizer applies are these alone (keyed and index filters set to 0)
    w = tok.spatial_filters(_batches(x, y, pos)[0]).detach().numpy()
    np.testing.assert_allclose(w[0], ours, atol=1e-6)
    assert int(tok.fit_count) == 12 and torch.equal(tok.fit_pos[:12], pos)


def test_leading_filter_recovers_the_evoked_topography():
    x, y, pos, topo = _erp(n=400)
    tok = create_tokenizer("sensor_erp", dim=2, n_tokens=8, dropout=0.0)
    tok.fit_closed_form(_batches(x, y, pos), num_classes=2)
    # the LDA filter is whitened (it undoes the noise), so compare the pattern: filter times the noise covariance
    f = tok.fit_filters[0, :12].detach().double().numpy()
    v = remove_window_mean(x.double()).numpy()
    cov = np.einsum("nct,ndt->cd", v, v) / (v.shape[0] * v.shape[2])
    pattern = cov @ f
    cosine = abs(pattern @ topo) / (np.linalg.norm(pattern) * np.linalg.norm(topo))
    assert cosine > 0.95, cosine


def test_reordered_montage_gets_the_same_filters_and_another_montage_is_interpolated():
    x, y, pos, _ = _erp()
    tok = create_tokenizer("sensor_erp", dim=3, n_tokens=8, dropout=0.0).eval()
    tok.fit_closed_form(_batches(x, y, pos), num_classes=2)
    b = _batches(x, y, pos)[0]
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    bp = {"x": b["x"][:, perm], "pos": b["pos"][:, perm], "ch_type": b["ch_type"][:, perm]}
    np.testing.assert_allclose(tok.spatial_filters(bp).detach().numpy(),
                               tok.spatial_filters(b).detach().numpy()[:, :, perm.numpy()], atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(tok(bp).numpy(), tok(b).numpy(), atol=1e-4)
    # a sensor between two fitted ones gets a kernel average of the fitted filters (finite, within their range)
    mid = ((pos[0] + pos[1]) / 2)[None]
    other = {"x": b["x"][:, :1], "pos": mid.expand(len(b["x"]), 1, 3), "ch_type": b["ch_type"][:, :1]}
    w = tok.spatial_filters(other).detach().numpy()[0, :, 0]
    f = tok.fit_filters[:, :12].detach().numpy()
    assert np.all(w <= f.max(1) + 1e-6) and np.all(w >= f.min(1) - 1e-6)


def test_decoding_task_fits_the_filters_when_training_starts_and_learns():
    """DecodingTask.on_train_start fits the filters (then the LDA read-out); 3 epochs later the held-out
    accuracy is >= 0.9 (the Bayes accuracy of this task is ~0.99)."""
    import lightning as L
    from torch.utils.data import DataLoader

    from signalkit.datamodules.collate import collate_sensor
    from signalkit.models import model_config
    from signalkit.tasks import DecodingTask

    L.seed_everything(0, verbose=False)
    x, y, pos, _ = _erp(n=240)
    items = [{"x": x[i], "pos": pos, "ch_type": torch.zeros(12, dtype=torch.long), "y": int(y[i])} for i in range(240)]
    task = DecodingTask(model=model_config("eeg_erp", num_classes=2), data_contract={"sfreq": 128.0},
                        lr=1e-3, weight_decay=0.0, warmup_epochs=0)
    assert int(task.model.tokenizer.fit_count) == 0
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, DataLoader(items[:160], batch_size=16, shuffle=True, collate_fn=collate_sensor))
    assert int(task.model.tokenizer.fit_count) == 12
    task.eval()
    with torch.no_grad():
        acc = float((task.model(collate_sensor(items[160:])).argmax(-1).numpy() == y[160:].numpy()).mean())
    assert acc >= 0.9, acc
    # the fitted montage travels with the weights (a checkpoint restores it)
    state = task.model.state_dict()
    fresh = DecodingTask(model=model_config("eeg_erp", num_classes=2), data_contract={"sfreq": 128.0}).model
    fresh.load_state_dict(state)
    assert int(fresh.tokenizer.fit_count) == 12 and torch.equal(fresh.tokenizer.fit_pos, task.model.tokenizer.fit_pos)


def test_mixed_montages_and_single_class_are_refused_naming_the_key():
    x, y, pos, _ = _erp(n=100)
    tok = create_tokenizer("sensor_erp", dim=3, n_tokens=8)
    batches = _batches(x, y, pos)
    batches[1]["pos"] = batches[1]["pos"] + 0.01
    with pytest.raises(ConfigError, match="model.tokenizer.spatial_init"):
        tok.fit_closed_form(batches, num_classes=2)
    with pytest.raises(ConfigError, match="fewer than 2 classes"):
        tok.fit_closed_form(_batches(x, torch.zeros_like(y), pos), num_classes=2)
    with pytest.raises(ConfigError, match="model.tokenizer.spatial_init"):
        create_tokenizer("sensor_erp", spatial_init="xdawn")
    assert not create_tokenizer("sensor_erp", spatial_init=None).closed_form
