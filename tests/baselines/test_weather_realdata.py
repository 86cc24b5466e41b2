"""The baselines on the NCEP reanalysis file reproduce the numbers measured by hand (data README).

NCEP/NCAR Reanalysis 1 near-surface air temperature, 6-hourly 2013-2014, read through the lexicon
(``air`` -> ``t2m``, no ``variables`` mapping); climatology: 3 annual harmonics x hour of day per
grid point fitted on 2013; every init time of April-December 2014 whose valid time is in that range.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from signalkit.baselines import weather as bw
from signalkit.io.weather import read_weather
from signalkit.metrics import weather as wm
from tests.support import sample_subdir


@pytest.mark.realdata
def test_ncep_persistence_and_anomaly_persistence(sample_data):
    path = sample_subdir(sample_data, "weather") / "ncep_air_temperature_2013-2014.nc"
    rec = read_weather(path)
    assert list(rec["variable"].values) == ["t2m"]
    src = xr.open_dataset(path)["air"]
    np.testing.assert_allclose(rec["signal"].values[:5, 0], src.values[:5, ::-1], rtol=1e-6)  # lat ascending
    x = rec["signal"].values[:, 0].astype(np.float64)
    times = rec["time"].values
    w = wm.area_weights(rec["lat"].values, rec.sizes["lon"])
    train = times < np.datetime64("2014-01-01")
    test = times >= np.datetime64("2014-04-01")
    clim = bw.Climatology("harmonic", harmonics=3)
    clim.add(x[train], times[train])
    c = clim.at(times)
    expected = {1: (2.40, 1.38), 4: (2.64, 2.64), 12: (3.73, 3.71)}  # +6, +24, +72 h (data README)
    for k, (pers, anom) in expected.items():
        inits = wm.baseline_init_indices(len(times), test, k)
        assert wm.rmse(x[inits], x[inits + k], w) == pytest.approx(pers, abs=0.01)
        assert wm.rmse(x[inits] + c[inits + k] - c[inits], x[inits + k], w) == pytest.approx(anom, abs=0.01)
    raw = wm.climatology(x[train], times[train], "dayofyear_hour")  # one year of raw means: noise
    inits = wm.baseline_init_indices(len(times), test, 1)
    smooth = wm.rmse(c[inits + 1], x[inits + 1], w)
    assert smooth < 3.3 and wm.climatology_rmse(x, times, inits, 1, raw, w, "dayofyear_hour") > 4.0
