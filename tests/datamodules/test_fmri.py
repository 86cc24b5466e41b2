"""fMRI data module: volume batches, targets and normalisation, event windows, region mode errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.datamodules.fmri import FMRIDataModule
from signalkit.errors import ConfigError
from signalkit.store import open_store


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
