"""Persistence and climatology baselines on the WFDE5 UK file reproduce the issue's numbers.

Convention: every init time of the test days (2017-01-26..31) whose valid time is still in the
test days; land points only (the sea mask), WB2 latitude weights; hour-of-day climatology of the
training days (2017-01-01..20).
"""

from __future__ import annotations

import numpy as np
import pytest

from signalkit.metrics import weather as wm
from signalkit.store import ingest, open_store


@pytest.mark.realdata
def test_wfde5_baselines(weather_data, tmp_path):
    store = str(tmp_path / "uk.zarr")
    ingest([str(weather_data / "wfde5_air_temperature_uk_2017-01.nc")], store, "weather", {}, progress=False)
    rec = open_store(store)[next(iter(open_store(store)))]
    x = rec["signal"].values[:, 0].astype(np.float64)
    times = rec["time"].values
    w = wm.area_weights(rec["lat"].values, rec.sizes["lon"], rec["mask"].values)
    day = times.astype("datetime64[D]")
    test = day >= np.datetime64("2017-01-26")
    train = day <= np.datetime64("2017-01-20")
    expected = {1: 0.52, 6: 2.12, 24: 3.31}
    for lead, value in expected.items():
        inits = wm.baseline_init_indices(len(times), test, lead)
        assert wm.persistence_rmse(x, inits, lead, w) == pytest.approx(value, abs=0.01)
    clim = wm.climatology(x[train], times[train], "hour")
    inits = wm.baseline_init_indices(len(times), test, 6)
    assert wm.climatology_rmse(x, times, inits, 6, clim, w) == pytest.approx(3.02, abs=0.01)
