"""Forecasting end to end: train through the CLI config, WB2 metrics.json, predict zarr, maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from signalkit.metrics import weather as wm
from signalkit.store import open_store
from tests.support import SYN_SPLIT


@pytest.fixture(scope="module")
def trained(synthetic_store, tmp_path_factory) -> Path:
    """A small forecaster trained on drifting waves + diurnal cycle (8 x 12 grid, 6 h step)."""
    from signalkit.training import train

    out = tmp_path_factory.mktemp("wxrun")
    train(["experiment=weather/regional", f"data.store={synthetic_store}", *SYN_SPLIT,
           "data.lead_times=[6,12]", "data.rollout_steps=2", "task.rollout_steps=2", "task.rollout_start_epoch=3",
           "model.dim=16", "model.backbone.depth=2", "model.backbone.num_blocks=2", "trainer.max_epochs=6",
           "task.lr=3e-3", "trainer.enable_progress_bar=false", f"output_dir={out}"])
    return out


def test_model_beats_persistence_on_drifting_waves(trained):
    m = json.loads((trained / "metrics.json").read_text())
    for lead in (6, 12):
        assert m[f"test/t2m/rmse@{lead}h"] < 0.7 * m[f"test/t2m/rmse_persistence@{lead}h"], m
    assert m["test/t2m/acc@6h"] > m["test/t2m/acc_persistence@6h"]
    assert "test/t2m/rmse_climatology@6h" in m and "test/t2m/bias@6h" in m


def test_predict_writes_the_scored_forecasts(trained, synthetic_store, tmp_path):
    from signalkit.cli import main
    from signalkit.plot_weather import plot_forecast_zarr

    m = json.loads((trained / "metrics.json").read_text())
    out = tmp_path / "fc.zarr"
    assert main(["predict", f"ckpt_path={m['best_checkpoint']}", f"output={out}"]) == 0
    fc = xr.open_zarr(out, consolidated=False)["forecast"]
    assert fc.dims == ("init_time", "lead_time", "variable", "lat", "lon")
    assert list(fc["lead_time"].values / np.timedelta64(1, "h")) == [6.0, 12.0]
    rec = open_store(synthetic_store)["synthetic_t2m"]
    truth = rec["signal"].sel(variable="t2m")
    mask = rec["mask"].values
    assert np.isnan(fc.values[..., mask]).all() and np.isfinite(fc.values[..., ~mask]).all()
    w = wm.area_weights(rec["lat"].values, rec.sizes["lon"], mask)
    for j, lead in enumerate((6, 12)):
        valid = fc["init_time"].values + np.timedelta64(lead, "h")
        obs = truth.sel(time=valid).values
        score = wm.rmse(fc.isel(lead_time=j).sel(variable="t2m").values, obs, w)
        assert score == pytest.approx(m[f"test/t2m/rmse@{lead}h"], rel=1e-4)  # physical units, same inits
    fig = plot_forecast_zarr(str(out), synthetic_store, init_index=0, lead_index=1, path=str(tmp_path / "m.png"))
    assert len(fig.axes) >= 3 and (tmp_path / "m.png").stat().st_size > 0


def test_splits_do_not_overlap(synthetic_store):
    from signalkit.datamodules import WeatherDataModule

    dm = WeatherDataModule(synthetic_store, split={"train": ["2017-01-01", "2017-01-06"],
                                                   "val": ["2017-01-07", "2017-01-08"],
                                                   "test": ["2017-01-09", "2017-01-10"]},
                           history=2, step_hours=6, lead_times=[6, 12], rollout_steps=2)
    dm.setup()
    times = dm.times[0]
    used = {}
    for stage, ds in dm.datasets.items():
        idx = ds.index[:, 1][:, None] + 6 * np.arange(-1, ds.k + 1)[None]
        used[stage] = set(times[idx.ravel()].tolist())
    assert not used["train"] & used["val"] and not used["val"] & used["test"] and not used["train"] & used["test"]
    s = dm.split_summary()
    assert s["test"]["first"] == "2017-01-09T06:00:00" and s["test"]["last"] == "2017-01-10T11:00:00"
    assert dm.norm.std[0] > 0 and len(dm.climatology.keys) == 24


def test_streamed_statistics_match_in_memory(synthetic_store):
    from signalkit.datamodules import WeatherDataModule
    from signalkit.datamodules.weather_windows import TrainingStats

    dm = WeatherDataModule(synthetic_store, split={"train": ["2017-01-01", "2017-01-06"],
                                                   "val": ["2017-01-07", "2017-01-08"],
                                                   "test": ["2017-01-09", "2017-01-10"]},
                           history=2, step_hours=6, lead_times=[6])
    dm.setup()
    small = TrainingStats(1, ~dm.mask, dm.step)
    dm._accumulate(small, 0, dm.ranges["train"], block=7)  # blocks smaller than the step overlap
    x = open_store(synthetic_store)["synthetic_t2m"]["signal"].values[: 6 * 24].astype(np.float64)
    land = x[:, 0][:, ~dm.mask]
    np.testing.assert_allclose(small.normalizer().mean, [land.mean()], rtol=1e-6)
    np.testing.assert_allclose(small.normalizer().std, [land.std()], rtol=1e-5)
    d = (land[6:] - land[:-6]) / land.std()
    np.testing.assert_allclose(small.normalizer().diff_std, [np.sqrt((d**2).mean())], rtol=1e-5)
    times = dm.times[0][: 6 * 24]
    by_hand = wm.climatology_at(wm.climatology(np.nan_to_num(x), times), times)  # hour-of-day means
    np.testing.assert_allclose(small.climatology().at(times), by_hand, rtol=1e-6)
    np.testing.assert_allclose(dm.climatology.at(times), by_hand, rtol=1e-6)


def test_metrics_baselines_match_a_hand_computation(trained, synthetic_store):
    """Every baseline in metrics.json, recomputed with numpy from the store on the same init times:
    persistence, the hour-of-day climatology of the training days, anomaly persistence and the
    per-grid-point least-squares regression on the last two anomalies and the damped anomaly
    persistence ``c(t+L) + alpha a(t)`` (both fitted on the training days)."""
    m = json.loads((trained / "metrics.json").read_text())
    rec = open_store(synthetic_store)["synthetic_t2m"]
    x = np.nan_to_num(rec["signal"].values[:, 0].astype(np.float64))
    times = rec["time"].values
    mask = rec["mask"].values
    w = wm.area_weights(rec["lat"].values, rec.sizes["lon"], mask)
    day = times.astype("datetime64[D]")
    hours = times.astype("datetime64[h]").astype(np.int64) % 24
    train = day <= np.datetime64("2017-01-06")
    clim = np.stack([x[train & (hours == h)].mean(0) for h in range(24)])[hours]  # c(t), (T, H, W)
    a = x - clim

    def inits(first: str, last: str) -> np.ndarray:  # inputs t-6 h, t and targets to t+12 h inside the days
        i = np.arange(6, len(times) - 12)
        inside = (day >= np.datetime64(first)) & (day <= np.datetime64(last))
        return i[inside[i - 6] & inside[i + 12]]

    tr, te = inits("2017-01-01", "2017-01-06"), inits("2017-01-09", "2017-01-10")
    for lead in (6, 12):
        o = x[te + lead]
        expected = {
            "persistence": wm.rmse(x[te], o, w),
            "climatology": wm.rmse(clim[te + lead], o, w),
            "anomaly_persistence": wm.rmse(x[te] + clim[te + lead] - clim[te], o, w),
        }
        lin = np.zeros_like(o)
        for i, j in zip(*np.nonzero(~mask)):
            design = np.stack([a[tr, i, j], a[tr - 6, i, j], np.ones(len(tr))], 1)
            coef = np.linalg.lstsq(design, a[tr + lead, i, j], rcond=None)[0]
            lin[:, i, j] = np.stack([a[te, i, j], a[te - 6, i, j], np.ones(len(te))], 1) @ coef
        expected["linear"] = wm.rmse(lin + clim[te + lead], o, w)
        alpha = (a[tr] * a[tr + lead]).sum(0) / np.where(mask, 1.0, (a[tr] ** 2).sum(0))  # through the origin
        expected["damped_anomaly_persistence"] = wm.rmse(alpha * a[te] + clim[te + lead], o, w)
        for name, value in expected.items():
            assert m[f"test/t2m/rmse_{name}@{lead}h"] == pytest.approx(float(value), rel=2e-3), (name, lead)
        assert m[f"test/t2m/rmse_linear@{lead}h"] < m[f"test/t2m/rmse_persistence@{lead}h"]
