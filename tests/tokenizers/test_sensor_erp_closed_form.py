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


def _old_fitted_filters(tok, mask, pos):
    """fitted_filters on another montage as it was before the spacing was cached (recomputed per call)."""
    import torch.nn.functional as F

    n, b, c = int(tok.fit_count), mask.shape[0], mask.shape[1]
    f, fpos = tok.fit_filters[:, :n].to(pos.dtype), tok.fit_pos[:n].to(pos.dtype)
    known, fknown = pos.abs().sum(-1) > 0, fpos.abs().sum(-1) > 0
    by_index = torch.zeros(tok.dim, c, dtype=pos.dtype)
    by_index[:, :min(c, n)] = f[:, :min(c, n)]
    fp, ff = fpos[fknown], f[:, fknown]
    nn_d = torch.cdist(fp, fp).fill_diagonal_(float("inf")).min(1).values.median()
    d = torch.cdist(pos, fp[None].expand(b, -1, -1))
    k = (-d.square() / (2 * nn_d.square() + 1e-12)).softmax(-1)
    same = d.min(-1, keepdim=True).values < 1e-3 * nn_d
    k = torch.where(same, F.one_hot(d.argmin(-1), d.shape[-1]).to(k.dtype), k)
    out = torch.where(known[:, None, :], torch.einsum("sj,bcj->bsc", ff, k), by_index[None].expand(b, -1, -1))
    return out * mask[:, None, :].to(out.dtype)


def test_spacing_is_computed_once_per_fit_and_a_loaded_model_maps_onto_another_montage_the_same(monkeypatch):
    """The fitted montage's nearest-neighbour distance is computed with the fit (not per forward); the filters
    on another montage are bit for bit the per-call recomputation's, before and after a state-dict round trip,
    and a tokenizer that had cached another fit's distance gives the loaded fit's filters."""
    from signalkit.tokenizers import sensor_erp

    calls = []
    real = sensor_erp.median_nearest_distance
    monkeypatch.setattr(sensor_erp, "median_nearest_distance", lambda p: calls.append(len(p)) or real(p))
    x, y, pos, _ = _erp()
    pos[5] = 0.0  # a fitted channel without a position: left out of the distance
    tok = create_tokenizer("sensor_erp", dim=3, n_tokens=8, dropout=0.0).eval()
    tok.fit_closed_form(_batches(x, y, pos), num_classes=2)
    assert calls == [11]
    fp = pos[pos.abs().sum(-1) > 0]
    ref_d = np.median([np.sort(np.linalg.norm(fp.numpy()[:, None] - fp.numpy()[None], axis=-1), 1)[:, 1]])
    np.testing.assert_allclose(float(tok.fit_spacing(torch.float32)), ref_d, rtol=1e-6)
    # another montage: 9 channels, one without a position, one padded in the second window
    g = torch.Generator().manual_seed(1)
    other = torch.randn(4, 9, 3, generator=g) * 0.05
    other[:, 7] = 0.0
    other[:, 2] = pos[3]  # at a fitted sensor: that sensor's filter
    mask = torch.ones(4, 9, dtype=torch.bool)
    mask[1, 8] = False
    batch = {"x": torch.randn(4, 9, 64, generator=g), "pos": other, "ch_mask": mask,
             "ch_type": torch.zeros(4, 9, dtype=torch.long)}
    outs = {dt: tok.fitted_filters(mask, other.to(dt)) for dt in (torch.float32, torch.float64)}
    with torch.no_grad():
        tokens = tok(batch)
        tok(batch)
    assert calls == [11, 11]  # float64 once, then nothing more per forward
    for dt, out in outs.items():
        assert torch.equal(out, _old_fitted_filters(tok, mask, other.to(dt)))
    np.testing.assert_allclose(outs[torch.float32][:, :, 2].detach().numpy(),
                               tok.fit_filters[:, 3].detach().expand(4, 3).numpy(), atol=1e-6)
    # a state-dict round trip into a tokenizer that had fitted (and cached) another montage
    fresh = create_tokenizer("sensor_erp", dim=3, n_tokens=8, dropout=0.0).eval()
    fresh.fit_closed_form(_batches(x, y, pos * 2.0), num_classes=2)
    assert not torch.equal(fresh.fitted_filters(mask, other), outs[torch.float32])
    fresh.load_state_dict(tok.state_dict())
    for dt, out in outs.items():
        assert torch.equal(fresh.fitted_filters(mask, other.to(dt)), out)
    with torch.no_grad():
        assert torch.equal(fresh(batch), tokens)
    assert torch.equal(fresh.fit_spacing(torch.float32), tok.fit_spacing(torch.float32))
    assert calls == [11, 11, 11, 11, 11]  # the other fit, then float32 and float64 once after the load
