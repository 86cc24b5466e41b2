"""The regional recipe end to end on an ERA5-like hourly month with sea points (seeded synthetic,
`signalkit.synthetic.weather.regional_land_sea`), a land-only variant (sea NaN, fixed in time) and
6-hourly data: ingest + train through the CLI; the gated model is level with or better than the best
statistical baseline at every lead (on the validation days by construction, on the test days here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signalkit.synthetic.weather import land_sea_mask, regional_land_sea

SPLIT = ["data.split.train=[2019-03-01,2019-03-20]", "data.split.val=[2019-03-21,2019-03-25]"]
BASELINES = ("persistence", "climatology", "anomaly_persistence", "linear", "damped_anomaly_persistence")
SMALL = ["model.dim=16", "model.backbone.depth=1", "model.backbone.num_blocks=1", "trainer.max_epochs=8",
         "callbacks.early_stopping.patience=2", "trainer.enable_progress_bar=false"]


def _run(tmp_path, name: str, test_days: str = "[2019-03-26,2019-03-31]", extra=(), **kw) -> dict:
    from signalkit.cli import main

    nc = tmp_path / f"{name}.nc"
    regional_land_sea(**kw).to_netcdf(nc)
    store, out = str(tmp_path / f"{name}.zarr"), tmp_path / f"{name}_run"
    assert main(["ingest", "weather", str(nc), store, "progress=false"]) == 0
    assert main(["train", "experiment=weather/regional", f"data.store={store}", f"output_dir={out}", *SPLIT,
                 f"data.split.test={test_days}", *SMALL, *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def _best(m: dict, lead: int) -> float:
    return min(m[f"test/t2m/rmse_{b}@{lead}h"] for b in BASELINES)


def test_generator_has_land_and_sea_with_their_own_diurnal_cycles():
    ds = regional_land_sea(n_days=4)
    x = ds["t2m"].values
    assert ds["t2m"].dims == ("valid_time", "latitude", "longitude") and ds["latitude"].values[0] > ds["latitude"].values[-1]
    land = land_sea_mask(*x.shape[1:])
    assert 0.2 < land.mean() < 0.5
    daily = x.reshape(4, 24, *x.shape[1:]).mean(0)  # mean day
    amp = daily.max(0) - daily.min(0)
    assert amp[land].mean() > 5 * amp[~land].mean()
    assert np.isnan(regional_land_sea(n_days=2, sea="nan")["t2m"].values[:, ~land]).all()
    with pytest.raises(ValueError, match="sea"):
        regional_land_sea(sea="land")


def test_gate_makes_the_model_level_with_the_best_baseline_on_the_validation_days(tmp_path):
    """Scored on the validation days themselves (test = val), the gated model cannot be worse than
    any baseline at any lead (the gate's guarantee), and the network alone is reported beside it."""
    m = _run(tmp_path, "sea_val", test_days="[2019-03-21,2019-03-25]")
    for lead in (6, 12, 18, 24):
        assert m[f"test/t2m/rmse@{lead}h"] <= _best(m, lead) * (1 + 1e-6), lead
        assert m[f"test/t2m/rmse@{lead}h"] <= m[f"test/t2m/rmse_network@{lead}h"] * (1 + 1e-6), lead
        assert 0.0 <= m[f"test/t2m/gate_weight@{lead}h"] <= 1.0


@pytest.mark.parametrize("sea,dt", [("values", 1), ("nan", 1), ("values", 6)])
def test_regional_recipe_end_to_end_with_sea_points(tmp_path, sea, dt):
    m = _run(tmp_path, f"{sea}{dt}", sea=sea, dt_hours=dt)
    for lead in (6, 12, 18, 24):
        assert np.isfinite(m[f"test/t2m/rmse@{lead}h"])
        assert m[f"test/t2m/rmse@{lead}h"] <= 1.02 * _best(m, lead), (lead, m)
    assert m["test/t2m/rmse@6h"] < 0.8 * m["test/t2m/rmse_persistence@6h"]


def test_several_fields_levels_and_static_fields_train_end_to_end(tmp_path):
    """t2m + temperature at 850 and 500 hPa + land-sea mask and orography: every variable is scored
    beside its own baselines and gated per variable."""
    import xarray as xr

    from signalkit.cli import main

    ds = regional_land_sea(n_days=31, n_lat=8, n_lon=10)
    land = land_sea_mask(8, 10)
    t2m = ds["t2m"]
    levels = xr.concat([t2m.roll(valid_time=2, roll_coords=False) - 8.0,
                        t2m.rolling(valid_time=6, min_periods=1).mean() - 30.0], dim="pressure_level")
    ds["t"] = levels.assign_coords(pressure_level=[850.0, 500.0]).transpose("valid_time", "pressure_level", ...)
    ds["t"].attrs = {"standard_name": "air_temperature", "units": "K"}
    ds["lsm"] = (("latitude", "longitude"), land.astype(np.float32), {"long_name": "Land-sea mask"})
    ds["orography"] = (("latitude", "longitude"), (land * 300.0).astype(np.float32))
    nc, store, out = tmp_path / "multi.nc", str(tmp_path / "multi.zarr"), tmp_path / "run"
    ds.to_netcdf(nc)
    assert main(["ingest", "weather", str(nc), store, "progress=false"]) == 0
    assert main(["train", "experiment=weather/regional", f"data.store={store}", f"output_dir={out}", *SPLIT,
                 "data.split.test=[2019-03-26,2019-03-31]", "data.lead_times=[6,12]", *SMALL,
                 "trainer.max_epochs=2"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    from signalkit.store import open_store

    rec = open_store(store)[next(iter(open_store(store)))]
    assert sorted(str(v) for v in rec["static_variable"].values) == ["lsm", "orog"]
    for var in ("t2m", "t850", "t500"):
        for lead in (6, 12):
            for name in ("", "_network", *(f"_{b}" for b in BASELINES)):
                assert np.isfinite(m[f"test/{var}/rmse{name}@{lead}h"]), (var, name, lead)
            assert 0.0 <= m[f"test/{var}/gate_weight@{lead}h"] <= 1.0
