"""``RidgeDecodingTask`` writes exactly the fitted ridge into ``head.fc``; the read-out is the ridge of
the block-averaged masked voxels; the model saves, loads and predicts as any SignalModel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.heads.ridge import fit_ridge_classifier
from signalkit.models import model_config
from signalkit.tasks import RidgeDecodingTask

GRID = (3, 2, 2)


def make_task(k: int = 3, **kw) -> RidgeDecodingTask:
    cfg = model_config("fmri_ridge", num_classes=k, tokenizer={"volume_shape": list(GRID)})
    return RidgeDecodingTask(model=cfg, data_contract={"modality": "fmri"}, **kw)


def batches(n_batches: int = 4, b: int = 6, t: int = 3, k: int = 3, seed: int = 0) -> list[dict]:
    """Windows ``x (b, t, *GRID)`` of class ``y``, recording ``rec`` = batch number (one run each)."""
    g = torch.Generator().manual_seed(seed)
    patterns = torch.randn(k, *GRID, generator=g)
    mask = torch.ones(GRID, dtype=torch.bool)
    mask[0, 0, 0] = False
    out = []
    for r in range(n_batches):
        y = torch.arange(b) % k
        x = patterns[y][:, None] + 1.5 * torch.randn(b, t, *GRID, generator=g)
        out.append({"x": x, "y": y, "rec": torch.full((b,), r), "voxel_mask": mask.expand(b, *GRID)})
    return out


def test_head_fc_holds_exactly_the_fitted_ridge_of_the_block_averaged_voxels():
    task = make_task()
    data = batches()
    fit = task.fit_readout(data)
    fc = task.model.head.fc
    assert torch.equal(fc.weight.data, torch.from_numpy(fit.weight))
    assert torch.equal(fc.bias.data, torch.from_numpy(fit.bias))
    # the features: each voxel's mean over the window's frames, zero outside the mask; groups = runs
    x = np.concatenate([(d["x"].mean(1) * d["voxel_mask"]).reshape(len(d["y"]), -1).numpy() for d in data])
    y = np.concatenate([d["y"].numpy() for d in data])
    ref = fit_ridge_classifier(x, y, 3, groups=np.repeat(np.arange(4), 6))
    np.testing.assert_allclose(fit.weight, ref.weight, rtol=1e-5, atol=1e-6)
    assert fit.alpha_rel == ref.alpha_rel and fit.n_folds == 4
    assert np.all(fit.weight[:, 0] == 0)  # the masked voxel carries nothing
    # the model's logits are the read-out's scores
    logits = task.model(data[0]).detach().numpy()
    np.testing.assert_allclose(logits, x[:6] @ fit.weight.T + fit.bias, rtol=1e-4, atol=1e-5)
    assert task.ridge_info["train/ridge_inner_folds"] == 4.0 and task.ridge_info["train/ridge_windows"] == 24.0


def test_the_fitted_model_saves_loads_and_predicts(tmp_path):
    from signalkit.pretrained import from_pretrained, save_pretrained

    task = make_task()
    data = batches()
    task.fit_readout(data)
    save_pretrained(task.model, tmp_path / "m")
    loaded = from_pretrained(tmp_path / "m")
    torch.testing.assert_close(loaded(data[1]), task.model.eval()(data[1]))
    assert torch.equal(loaded.head.fc.weight, task.model.head.fc.weight)


def test_known_answer_above_chance():
    task = make_task()
    task.fit_readout(batches(seed=1))
    test = batches(n_batches=2, seed=1)[0]  # same patterns (seed), fresh noise is not needed: new draws below
    g = torch.Generator().manual_seed(99)
    patterns = torch.randn(3, *GRID, generator=torch.Generator().manual_seed(1))
    y = torch.arange(60) % 3
    test = {"x": patterns[y][:, None] + 1.5 * torch.randn(60, 3, *GRID, generator=g), "y": y}
    acc = (task.model.eval()(test).argmax(1) == y).float().mean().item()
    assert acc >= 0.8, acc  # chance 1/3; 11 informative voxels at SNR ~ 1.2 after the 3-frame average


def test_bad_configs_are_one_clear_error():
    with pytest.raises(ConfigError, match="task.class_weights"):
        make_task(class_weights=[1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="task.alphas"):
        make_task(alphas=[])
    cfg = model_config("fmri_ridge", num_classes=2, tokenizer={"volume_shape": list(GRID)})
    cfg["head"] = {"name": "volume_decoding"} if False else cfg["head"]
    with pytest.raises(ConfigError, match="training split has no windows"):
        make_task().fit_readout([])


def test_volume_samples_fit_each_frame_and_score_a_window_by_its_frames_mean_score():
    task = make_task(readout_samples="volume")
    data = batches(t=4)
    fit = task.fit_readout(data)
    # the examples: every frame of every window (masked voxels), blocks = windows, groups = runs
    frames = np.concatenate([(d["x"] * d["voxel_mask"][:, None]).reshape(6, 4, -1).numpy() for d in data])  # (24, 4, V)
    y = np.concatenate([d["y"].numpy() for d in data])
    ref = fit_ridge_classifier(frames.reshape(96, -1), np.repeat(y, 4), 3, groups=np.repeat(np.arange(4), 24),
                               blocks=np.repeat(np.arange(24), 4))
    np.testing.assert_allclose(fit.weight, ref.weight, rtol=1e-5, atol=1e-6)
    assert fit.alpha_rel == ref.alpha_rel and fit.cv_scores == ref.cv_scores and fit.n_folds == 4
    assert task.ridge_info["train/ridge_windows"] == 24.0 and task.ridge_info["train/ridge_examples"] == 96.0
    # not the block fit: 4x the examples, the within-block scatter enters the fit
    assert not np.allclose(fit.weight, make_task().fit_readout(data).weight, atol=1e-3)
    # a window's logits are the mean of its frames' scores (a linear read-out of the block average)
    logits = task.model.eval()(data[0]).detach().numpy()
    per_frame = frames[:6] @ fit.weight.T + fit.bias  # (6, 4, K)
    np.testing.assert_allclose(logits, per_frame.mean(1), rtol=1e-4, atol=1e-5)


def test_volume_samples_with_fold_mean_learn_a_known_answer():
    """3 classes, 11 informative voxels; each frame alone is weak (SNR ~ 0.5), the block average of 6
    frames strong: trained on single frames, a test window is classified by its frames' mean score."""
    k, t = 3, 6
    task = make_task(readout_samples="volume", readout_refit="fold_mean")
    patterns = torch.randn(k, *GRID, generator=torch.Generator().manual_seed(7))

    def windows(n: int, seed: int, rec: int) -> dict:
        g = torch.Generator().manual_seed(seed)
        y = torch.arange(n) % k
        x = 0.6 * patterns[y][:, None] + torch.randn(n, t, *GRID, generator=g)
        return {"x": x, "y": y, "rec": torch.full((n,), rec)}

    fit = task.fit_readout([windows(6, s, s) for s in range(5)])
    assert fit.n_folds == 5 and task.ridge_info["train/ridge_examples"] == 5 * 6 * t
    test = windows(90, 99, 0)
    acc = (task.model.eval()(test).argmax(1) == test["y"]).float().mean().item()
    frame_acc = (task.model({**test, "x": test["x"][:, :1]}).argmax(1) == test["y"]).float().mean().item()
    assert acc >= 0.75, acc  # chance 1/3
    assert frame_acc < acc - 0.1, (frame_acc, acc)  # measured 0.80 vs 0.99: one frame alone is weaker


def test_readout_options_are_one_clear_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"task.readout_samples: expected one of \['block', 'volume'\], got 'frames'"):
        make_task(readout_samples="frames")
    with pytest.raises(ConfigError, match=r"task.readout_refit: expected one of \['all', 'fold_mean'\], got 'best'"):
        make_task(readout_refit="best")
    task = make_task(readout_samples="volume")
    sensor = {"x": torch.zeros(6, 3, 10), "y": torch.arange(6) % 3}
    with pytest.raises(ConfigError, match=r"task.readout_samples=volume: needs volume windows"):
        task.fit_readout([sensor])
    # a model whose read-out input is not linear in the frames cannot score a window by its frames' mean
    tok = task.model.tokenizer
    plain = tok.forward
    tok.forward = lambda batch: plain(batch) ** 2
    with pytest.raises(ConfigError, match=r"task.readout_samples=volume: the read-out input of a window is not"):
        task.fit_readout(batches())
    tok.forward = plain
    task.fit_readout(batches())  # the plain tokenizer passes the check
