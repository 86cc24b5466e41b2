"""The band-power tokenizer (sensor_bandpower): FIR design, closed-form CSP, a synthetic band-power task, config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.tokenizers.sensor_bandpower import SensorBandPowerTokenizer, csp_filters, fir_bandpass, sphere_centre


def test_fir_matches_scipy_firwin():
    from scipy.signal import firwin

    ours = fir_bandpass(8.0, 30.0, 160.0, 81)
    ref = firwin(81, [8.0, 30.0], pass_zero=False, fs=160.0)
    assert np.abs(ours - ref).max() < 1e-10


def test_csp_matches_scipy_generalised_eigenvectors():
    from scipy.linalg import eigh

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5, 200))
    c1, c2 = a @ a.T / 200, b @ b.T / 200
    w = csp_filters(np.stack([c1, c2]), 2, 0.0)
    vals, vecs = eigh(c1, c2)  # the textbook CSP: power ratio of class 1 over class 2, largest either way
    order = np.argsort(-np.abs(np.log(vals)))[:2]
    ref = vecs[:, order].T
    ref = ref / np.sqrt(np.einsum("sd,de,se->s", ref, (c1 + c2) / 2, ref))[:, None]
    assert np.allclose(np.abs(np.einsum("sd,sd->s", w, ref)) / np.einsum("sd,sd->s", ref, ref), 1.0, atol=1e-8)


def test_csp_ranks_by_the_power_ratio_either_way():
    """Direction 0 carries 4x class 0's power, direction 1 3x class 1's: the first filter is direction 0
    (ratio 4 beats 3), though against the average (4 / 2.5 = 1.6 vs 1 / 2 = 0.5) direction 1 looks larger."""
    c1, c2 = np.diag([4.0, 1.0, 1.0]), np.diag([1.0, 3.0, 1.0])
    w = csp_filters(np.stack([c1, c2]), 2, 0.0)
    assert np.argmax(np.abs(w[0])) == 0 and np.argmax(np.abs(w[1])) == 1
    three = csp_filters(np.stack([np.diag([6.0, 1.0, 1.0]), np.diag([1.0, 1.0, 1.0]), np.diag([1.0, 1.0, 1.0])]), 1, 0.0)
    assert np.argmax(np.abs(three[0])) == 0  # one class against the rest: 6 / 1


def test_sphere_centre_recovers_a_shifted_cap():
    rng = np.random.default_rng(1)
    u = rng.standard_normal((40, 3))
    u[:, 2] = np.abs(u[:, 2])
    pos = 0.09 * u / np.linalg.norm(u, axis=1, keepdims=True) + np.array([0.0, 0.01, 0.04])
    c = sphere_centre(torch.tensor(pos)[None], torch.ones(1, 40, dtype=torch.bool))
    assert torch.allclose(c[0], torch.tensor([0.0, 0.01, 0.04], dtype=c.dtype), atol=1e-6)


def _band_power_task(n=60, c=16, t=320, sfreq=160.0, seed=0):
    """Class 1 has a 12 Hz source on a few channels; both classes share a larger 2 Hz drift everywhere."""
    g = np.random.default_rng(seed)
    y = np.arange(n) % 2
    tt = np.arange(t) / sfreq
    x = g.standard_normal((n, c, t)) * 0.5
    x += 3.0 * np.sin(2 * np.pi * 2.0 * tt + g.uniform(0, 6, (n, c, 1)))
    x[y == 1, :3] += 0.8 * np.sin(2 * np.pi * 12.0 * tt + g.uniform(0, 6, ((y == 1).sum(), 1, 1)))
    ang = np.linspace(0, np.pi, c)
    pos = np.stack([0.09 * np.cos(ang), 0.09 * np.sin(ang) * 0.3, 0.09 * np.sin(ang)], -1)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y), torch.tensor(pos, dtype=torch.float32)


def test_closed_form_learns_a_band_power_task():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    x, y, pos = _band_power_task()
    tok = SensorBandPowerTokenizer(dim=4, filters=4, sfreq=160.0).eval()
    tr = {"x": x[:40], "pos": pos.expand(40, -1, -1), "y": y[:40]}
    te = {"x": x[40:], "pos": pos.expand(20, -1, -1)}
    tok.fit_closed_form([tr], 2)
    with torch.no_grad():
        fa, fb = tok.log_power(tr).flatten(1).numpy(), tok.log_power(te).flatten(1).numpy()
    acc = (LinearDiscriminantAnalysis().fit(fa, y[:40].numpy()).predict(fb) == y[40:].numpy()).mean()
    assert acc >= 0.9
    # the broadband log-variance of the channels (no band-pass) is dominated by the 2 Hz drift
    raw = torch.log(x.var(-1)).numpy()
    raw_acc = (LinearDiscriminantAnalysis().fit(raw[:40], y[:40].numpy()).predict(raw[40:]) == y[40:].numpy()).mean()
    assert raw_acc < acc


def test_task_trains_the_default_recipe_model_on_the_synthetic_task():
    import lightning as L
    from torch.utils.data import DataLoader

    from signalkit.datamodules.collate import collate_sensor
    from signalkit.models import model_config
    from signalkit.tasks import DecodingTask

    L.seed_everything(0, verbose=False)
    x, y, pos = _band_power_task()
    items = [{"x": x[i], "pos": pos, "ch_type": torch.zeros(16, dtype=torch.long), "y": int(y[i])} for i in range(60)]
    task = DecodingTask(model=model_config("eeg_bandpower", num_classes=2), data_contract={"sfreq": 160.0}, lr=1e-3)
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, DataLoader(items[:40], batch_size=16, shuffle=True, collate_fn=collate_sensor))
    task.eval()
    with torch.no_grad():
        pred = task.model(collate_sensor(items[40:])).argmax(-1)
    assert (pred == y[40:]).float().mean() >= 0.85


@pytest.mark.parametrize("kw, key", [({"sfreq": None}, "model.tokenizer.sfreq"),
                                     ({"bands": [[8.0, 90.0]]}, "model.tokenizer.bands"),
                                     ({"dim": 5}, "model.dim"),
                                     ({"shrinkage": 2.0}, "model.tokenizer.shrinkage"),
                                     ({"deep": {"nope": 1}}, "model.tokenizer.deep")])
def test_config_errors_name_the_key(kw, key):
    args = {"dim": 6, "sfreq": 160.0, **kw}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        SensorBandPowerTokenizer(**args)


def test_closed_form_refuses_a_single_class_naming_the_split():
    x, y, pos = _band_power_task(n=20)
    tok = SensorBandPowerTokenizer(dim=4, filters=4, sfreq=160.0)
    with pytest.raises(ConfigError, match=r"data\.split: .*fewer than 2 classes"):
        tok.fit_closed_form([{"x": x, "pos": pos.expand(20, -1, -1), "y": torch.zeros_like(y)}], 2)


def test_csp_without_shrinkage_on_a_rank_deficient_basis():
    """More basis columns than channels (the sphere basis) and shrinkage 0: filters, not a LinAlgError."""
    rng = np.random.default_rng(3)
    mix = rng.standard_normal((8, 4))  # 8 basis columns spanned by 4 channels
    covs = []
    for scale in (np.array([4.0, 1.0, 1.0, 1.0]), np.ones(4)):
        z = mix @ (scale[:, None] * rng.standard_normal((4, 500)))
        covs.append(z @ z.T / 500)
    w = csp_filters(np.stack(covs), 2, 0.0)
    assert w.shape == (2, 8) and np.isfinite(w).all()
    power = [np.einsum("d,de,e->", w[0], c, w[0]) for c in covs]
    assert power[0] / power[1] > 2.0  # the first filter finds the 4x source
