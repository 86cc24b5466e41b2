"""Volume tokenizer, unpatch head, fMRI model configs, FC baseline, data module batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.baselines import fc_baseline, fc_features
from signalkit.datamodules.fmri import FMRIDataModule
from signalkit.errors import ConfigError
from signalkit.models import create_model
from signalkit.recording import CH_TYPES
from signalkit.store import open_store
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


@pytest.mark.parametrize("name", ["fmri_volume", "fmri_forecaster", "fmri_decoder"])
def test_volume_models_build_and_run(name):
    model = create_model(name, dim=16, depth=1, tokenizer={"time_patch": 4} if name == "fmri_volume" else {})
    x = torch.randn(2, 4, 9, 6, 5)
    out = model({"x": x})
    assert out.shape == ((2, 2) if name == "fmri_decoder" else x.shape)
    if name == "fmri_forecaster":  # causal in time: the last frame cannot change earlier outputs
        model.eval()
        x2 = x.clone()
        x2[:, -1] += 5.0
        with torch.no_grad():
            a, b = model({"x": x}), model({"x": x2})
        torch.testing.assert_close(a[:, :-1], b[:, :-1])
        assert not torch.allclose(a[:, -1], b[:, -1])


def test_region_decoder_uses_sensor_tokenizer_with_region_type(synthetic):
    dm = FMRIDataModule(synthetic["store"], mode="region", window_s=16, tmin_s=4, events=["faces", "houses"],
                        split={"by": "subject", "fractions": [0.5, 0.25, 0.25]})
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    ds = open_store(synthetic["store"])[dm.datasets["train"].recordings[0]]
    assert batch["x"].shape[1:] == (16, 8)  # 16 box regions x 8 frames
    torch.testing.assert_close(batch["pos"][0], torch.tensor(ds["region_pos"].values / 1000.0, dtype=torch.float32))
    assert (batch["ch_type"] == CH_TYPES.index("region")).all()
    model = create_model("fmri_region_decoder", dim=16, depth=1)
    assert model(batch).shape == (len(batch["y"]), 2)


def test_volume_batches_targets_and_normalisation(synthetic):
    dm = FMRIDataModule(synthetic["store"], window_s=16, stride_s=16, horizon=2,
                        split={"by": "subject", "fractions": [0.5, 0.25, 0.25]})
    dm.setup()
    ds = dm.datasets["train"]
    rid = ds.recordings[0]
    raw = open_store(synthetic["store"])[rid]["signal"].values
    z = (raw - raw.mean(0)) / raw.std(0)
    item = ds[1]
    np.testing.assert_allclose(item["x"].numpy(), z[8:16], atol=1e-4)
    np.testing.assert_allclose(item["y"].numpy(), z[16:18], atol=1e-4)
    assert item["voxel_mask"].all() and "voxel_mean" not in item  # baselines stay with the run statistics
    vmean, gmean = ds.run_baselines(torch.tensor([0, 0]))
    assert vmean.shape == (2, *raw.shape[1:]) and float(vmean.abs().max()) < 1e-5 and float(gmean.abs().max()) == 0
    contract = dm.data_contract()
    assert contract["grid"] == [12, 8, 6] and contract["n_frames"] == 8 and contract["tr"] == 2.0


def test_decoding_windows_follow_events(synthetic):
    dm = FMRIDataModule(synthetic["store"], window_s=16, tmin_s=4, events={"faces": 0, "houses": 1})
    dm.setup()
    ds = open_store(synthetic["store"])["sub-01_task-blocks_bold"]
    rows = dm.index[dm.index["recording"] == "sub-01_task-blocks_bold"]
    onsets = ds["event_onset_s"].values
    labels = [str(v) for v in ds["event_label"].values]
    assert rows["start"].tolist() == [int(round((o + 4) / 2)) for o in onsets]
    assert rows["target"].tolist() == [0 if lab == "faces" else 1 for lab in labels]
    assert dm.num_classes == 2 and dm.class_names == ["faces", "houses"]


def test_region_mode_needs_an_atlas(tmp_path):
    import nibabel as nib

    from signalkit.store import ingest

    path = tmp_path / "run.nii"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).standard_normal((4, 3, 2, 10)).astype(np.float32), np.eye(4)), str(path))
    ingest([str(path)], str(tmp_path / "s.zarr"), "fmri", {"tr": 2.0}, progress=False)
    with pytest.raises(ConfigError, match=r"^data\.mode: recording run .* has no 'region_signal'"):
        FMRIDataModule(str(tmp_path / "s.zarr"), mode="region").setup()


def test_fc_features_are_fisher_z_correlations():
    x = np.random.default_rng(0).standard_normal((3, 5, 40))
    feats = fc_features(x)
    iu = np.triu_indices(5, k=1)
    expected = np.stack([np.arctanh(np.corrcoef(w)[iu]) for w in x])
    np.testing.assert_allclose(feats, expected, atol=1e-10)


def test_fc_baseline_separates_coupled_from_uncoupled_windows():
    rng = np.random.default_rng(1)

    def windows(n):
        x = rng.standard_normal((n, 4, 30))
        y = np.arange(n) % 2
        x[y == 1, 1] = x[y == 1, 0] + 0.3 * rng.standard_normal((int(y.sum()), 30))  # regions 0-1 coupled
        return x, y

    result = fc_baseline(*windows(40), *windows(20))
    assert result["accuracy"] >= 0.95


def test_forecast_rollout_starts_with_the_last_position():
    from signalkit.models import model_config
    from signalkit.tasks.fmri import FMRIForecastingTask

    cfg = model_config("fmri_forecaster", dim=16, depth=1)
    task = FMRIForecastingTask(cfg).eval()
    batch = {"x": torch.randn(2, 4, 6, 5, 4)}
    steps = task.forecast(batch, 3)
    assert steps.shape == (2, 3, 6, 5, 4)
    with torch.no_grad():
        torch.testing.assert_close(steps[:, 0], task.model(batch)[:, -1])


def test_volume_model_without_time_patch_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^model\.tokenizer: time_patch is null"):
        create_model("fmri_volume", dim=16, depth=1)
