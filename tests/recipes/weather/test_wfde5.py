"""Small-scale version of the WFDE5 benchmark: the default recipe beats persistence up to +24 h."""

from __future__ import annotations

import json

import pytest


@pytest.mark.realdata
@pytest.mark.slow
def test_regional_recipe_beats_persistence(weather_data, tmp_path):
    from signalkit.cli import main

    store = str(tmp_path / "uk.zarr")
    assert main(["ingest", "weather", str(weather_data / "wfde5_air_temperature_uk_2017-01.nc"), store,
                 "progress=false"]) == 0
    out = tmp_path / "run"
    assert main(["train", "experiment=weather/regional", f"data.store={store}", f"output_dir={out}",
                 "trainer.enable_progress_bar=false"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["test/t2m/rmse@6h"] < 0.85 * m["test/t2m/rmse_persistence@6h"], m
    for lead in (12, 18, 24):
        assert m[f"test/t2m/rmse@{lead}h"] < m[f"test/t2m/rmse_persistence@{lead}h"], m
