"""``signalkit ingest fmri`` from the command line, region-mode signal-space models, figures."""

from __future__ import annotations

import numpy as np
import torch

from signalkit.cli import main
from signalkit.models import create_model
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


def test_unpatch_head_returns_regions_with_sensor_tokenizer(synthetic):
    from signalkit.datamodules.fmri import FMRIDataModule

    dm = FMRIDataModule(synthetic["store"], mode="region", window_s=16, stride_s=16, horizon=2)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    model = create_model("fmri_region_decoder", dim=16, depth=1, causal=True, head={"name": "unpatch"})
    out = model(batch)
    assert out.shape == batch["x"].shape and batch["y"].shape[1:] == (batch["x"].shape[1], 2)
    assert torch.isfinite(out).all()


def test_figures_render_headless(synthetic, tmp_path):
    from signalkit.plot_fmri import plot_orthogonal, plot_region_timeseries

    ds = open_store(synthetic["store"])["sub-01_task-blocks_bold"]
    fig = plot_orthogonal(ds["signal"], overlay=synthetic["maps"][0] > 0.5, path=tmp_path / "ortho.png")
    assert len(fig.axes) >= 3 and (tmp_path / "ortho.png").stat().st_size > 1000
    fig = plot_region_timeseries(ds, max_regions=4, path=tmp_path / "regions.png")
    assert len(fig.axes[0].lines) == 4 and len(fig.axes[0].patches) == ds.sizes["event"]


def test_experiment_configs_compose():
    from signalkit.config import compose

    for exp, task in [("decoding", "FMRIDecodingTask"), ("forecasting", "FMRIForecastingTask"),
                      ("reconstruction", "FMRIReconstructionTask")]:
        cfg = compose("train", [f"experiment=fmri/{exp}", "data.store=x.zarr"])
        assert cfg.task._target_.endswith(task) and cfg.data._target_.endswith("FMRIDataModule")
    cfg = compose("train", ["experiment=fmri/decoding", "data=fmri_region", "model=fmri_region_decoder"])
    assert cfg.data.mode == "region" and cfg.model.tokenizer.name == "sensor"
    assert compose("train", ["experiment=fmri/forecasting"]).model.causal is True
