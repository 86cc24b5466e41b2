"""Weather reader: names, orientation, masks, members, levels, fill policies, values vs xarray."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from signalkit.errors import InputError
from signalkit.io import read_recording
from signalkit.recording import validate_recording

from tests.support import advecting_field, write_netcdf


def test_netcdf_descending_lat_standard_name_and_mask(synthetic_nc):
    rec = read_recording(str(synthetic_nc), "weather")
    validate_recording(rec, "weather")
    src = xr.open_dataset(synthetic_nc)
    assert list(rec["variable"].values) == ["t2m"]  # standard_name air_temperature, no level
    assert np.all(np.diff(rec["lat"].values) > 0)
    assert rec["signal"].dtype == np.float32 and rec["signal"].dims == ("time", "variable", "lat", "lon")
    np.testing.assert_array_equal(rec["signal"].values[:, 0], src["Tair"].sortby("lat").values)
    assert np.issubdtype(rec["time"].dtype, np.datetime64)
    mask = rec["mask"].values
    assert mask.dtype == bool and mask.sum() == 6
    assert mask[:2, :3].all()  # the no-data corner: the southern rows, first after sorting


def test_zarr_wb2_layout_levels_and_longitude_order(tmp_path):
    rng = np.random.default_rng(1)
    lat = np.array([10.0, 0.0, -10.0])  # descending
    lon = np.array([0.0, 120.0, 240.0, 350.0])
    time = pd.date_range("2020-01-01", periods=4, freq="6h")
    z = rng.normal(size=(4, 2, 3, 4)).astype(np.float32)
    t2 = rng.normal(size=(4, 3, 4)).astype(np.float32)
    ds = xr.Dataset({"geopotential": (("time", "level", "latitude", "longitude"), z),
                     "2m_temperature": (("time", "latitude", "longitude"), t2),
                     "land_sea_mask": (("latitude", "longitude"), np.ones((3, 4)))},
                    coords={"time": time, "level": [500, 850], "latitude": lat, "longitude": lon})
    path = tmp_path / "wb2.zarr"
    ds.to_zarr(path, zarr_format=3, consolidated=False)
    rec = read_recording(str(path), "weather")
    assert list(rec["variable"].values) == ["t2m", "z500", "z850"]  # source names sorted
    np.testing.assert_array_equal(rec["lat"].values, [-10.0, 0.0, 10.0])
    np.testing.assert_array_equal(rec["lon"].values, lon)  # 0..360 kept, sorted ascending
    np.testing.assert_array_equal(rec["signal"].sel(variable="z850").values, z[:, 1, ::-1])
    np.testing.assert_array_equal(rec["signal"].sel(variable="t2m").values, t2[:, ::-1])
    only = read_recording(str(path), "weather", levels=[850], variables={"geopotential": "z"})
    assert list(only["variable"].values) == ["z850"]


def test_user_mapping_lazy_chunks_and_members(tmp_path):
    values = advecting_field(12, 3, 4)
    ens = np.stack([values, values + 100.0])
    ds = xr.Dataset({"foo": (("member", "time", "latitude", "longitude"), ens)},
                    coords={"member": [3, 7], "time": pd.date_range("2017-01-01", periods=12, freq="h"),
                            "latitude": [1.0, 2.0, 3.0], "longitude": [-1.0, 0.0, 1.0, 2.0]})
    path = tmp_path / "ens.nc"
    ds.to_netcdf(path)
    with pytest.raises(InputError, match=r"ens\.nc: unknown variable 'foo'"):
        read_recording(str(path), "weather")
    first = read_recording(str(path), "weather", variables={"foo": "t2m"}, chunks={"time": 5})
    np.testing.assert_allclose(first["signal"].values[:, 0], values)
    seventh = read_recording(str(path), "weather", variables={"foo": "t2m"}, member=7)
    np.testing.assert_allclose(seventh["signal"].values[:, 0], values + 100.0)
    with pytest.raises(InputError, match="no ensemble member 5"):
        read_recording(str(path), "weather", variables={"foo": "t2m"}, member=5)


def test_time_varying_gaps_need_a_fill_policy(tmp_path):
    values = advecting_field(24, 3, 4)
    values[5:7, 1, 2] = np.nan  # a gap
    values[:, 0, 0] = np.nan  # fixed no-data point
    path = write_netcdf(tmp_path / "gaps.nc", values)
    with pytest.raises(InputError, match=r"gaps\.nc: variable t2m has NaN gaps that vary in time at 1 grid point"):
        read_recording(str(path), "weather")
    ff = read_recording(str(path), "weather", fill="ffill")["signal"].values[:, 0]
    assert ff[5, 1, 2] == ff[6, 1, 2] == values[4, 1, 2]
    interp = read_recording(str(path), "weather", fill="interpolate")["signal"].values[:, 0]
    np.testing.assert_allclose(interp[5, 1, 2], values[4, 1, 2] + (values[7, 1, 2] - values[4, 1, 2]) / 3, rtol=1e-6)
    zero = read_recording(str(path), "weather", fill="zero")
    assert zero["signal"].values[5, 0, 1, 2] == 0.0
    assert np.isnan(zero["signal"].values[:, 0, 0, 0]).all() and bool(zero["mask"].values[0, 0])


def test_grib_without_cfgrib_is_a_clear_error(tmp_path):
    pytest.importorskip("numpy")
    try:
        import cfgrib  # noqa: F401
        pytest.skip("cfgrib is installed")
    except ModuleNotFoundError:
        pass
    path = tmp_path / "x.grib"
    path.write_bytes(b"GRIB")
    with pytest.raises(InputError, match=r"x\.grib: reading GRIB needs cfgrib"):
        read_recording(str(path), "weather")


@pytest.mark.realdata
def test_era5_levels_members(weather_data):
    path = weather_data / "era5_levels_members.nc"
    rec = read_recording(str(path), "weather")
    assert sorted(rec["variable"].values) == ["t500", "t850", "z500", "z850"]
    assert rec["lat"].values[0] == -90.0 and np.all(np.diff(rec["lat"].values) > 0)
    src = xr.open_dataset(path)
    for var, name, level in (("z", "z500", 500), ("z", "z850", 850), ("t", "t500", 500), ("t", "t850", 850)):
        expected = src[var].isel(number=0).sel(isobaricInhPa=level).sortby("latitude").values
        np.testing.assert_array_equal(rec["signal"].sel(variable=name).values, expected)
    member3 = read_recording(str(path), "weather", member=3)
    np.testing.assert_array_equal(member3["signal"].sel(variable="t850").values,
                                  src["t"].sel(number=3, isobaricInhPa=850).sortby("latitude").values)
    assert not rec["mask"].values.any()


@pytest.mark.realdata
def test_wfde5_tair_is_t2m_with_sea_mask(weather_data):
    path = weather_data / "wfde5_air_temperature_uk_2017-01.nc"
    rec = read_recording(str(path), "weather")
    src = xr.open_dataset(path)["Tair"]
    assert list(rec["variable"].values) == ["t2m"] and rec.sizes["time"] == 744
    np.testing.assert_array_equal(rec["mask"].values, src.isnull().all("time").values)
    assert rec["mask"].values.mean() == pytest.approx(0.5536, abs=1e-3)
    np.testing.assert_array_equal(rec["signal"].values[:, 0], src.values)


def test_lazy_chunked_ingest_streams_the_same_values(synthetic_nc, tmp_path):
    from signalkit.store import ingest, open_store

    store = str(tmp_path / "lazy.zarr")
    ingest([str(synthetic_nc)], store, "weather", {"chunks": {"time": 7}}, progress=False)
    rec = open_store(store)["synthetic_t2m"]
    eager = read_recording(str(synthetic_nc), "weather")
    np.testing.assert_array_equal(rec["signal"].values, eager["signal"].values)
    np.testing.assert_array_equal(rec["mask"].values, eager["mask"].values)
