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
