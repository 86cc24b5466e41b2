"""`signalkit ingest fmri` from the command line; the fMRI experiment configs compose."""

from __future__ import annotations

import numpy as np

from signalkit.cli import main
from signalkit.store import open_store


def test_cli_ingest_folder_with_atlas_and_mask(synthetic, tmp_path, capsys):
    store = tmp_path / "cli.zarr"
    code = main(["ingest", "fmri", str(synthetic["root"] / "bids" / "func"), str(store),
                 f"atlas={synthetic['atlas']}", "preprocess.mask=auto", "preprocess.detrend=true"])
    assert code == 0, capsys.readouterr().err
    st = open_store(str(store))
    assert sorted(st) == [f"sub-0{i}_task-blocks_bold" for i in range(1, 5)]  # the atlas is not a run
    ds = st["sub-03_task-blocks_bold"]
    assert st.attrs["config"]["preprocess"]["mask"] == "auto" and ds["mask"].dtype == bool
    inside = ds["signal"].values[:, ds["mask"].values]
    np.testing.assert_allclose(inside.mean(axis=0), 0.0, atol=1e-3)  # detrended: zero mean per voxel
    assert ds["region_signal"].shape == (ds.sizes["time"], ds.sizes["region"]) and ds.attrs["subject"] == "03"


def test_experiment_configs_compose():
    from signalkit.config import compose

    for exp, task in [("decoding", "fmri_decoding"), ("forecasting", "fmri_forecasting"),
                      ("reconstruction", "fmri_reconstruction"), ("haxby", "fmri_ridge_decoding")]:
        cfg = compose("train", [f"experiment=fmri/{exp}", "data.store=x.zarr"])
        assert cfg.task.name == task and cfg.data.name == "fmri"
    cfg = compose("train", ["experiment=fmri/decoding", "data=fmri_region", "model=fmri_region_decoder"])
    assert cfg.data.mode == "region" and cfg.model.tokenizer.name == "sensor"
    assert compose("train", ["experiment=fmri/forecasting"]).model.causal is True
