"""Static fields (land-sea mask, orography) and several variables: reader -> store -> batch -> model input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr

from signalkit.io.weather import read_weather


def _file(path, n_t: int = 96):
    rng = np.random.default_rng(0)
    lat = np.array([52.0, 51.0, 50.0])  # descending, as many products
    lon = np.array([-2.0, -1.0, 0.0, 1.0])
    t2m = 280 + rng.normal(size=(n_t, 3, 4)).astype(np.float32)
    lsm = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], np.float32)
    orog = np.arange(12, dtype=np.float32).reshape(3, 4) * 100
    ds = xr.Dataset({"t2m": (("time", "latitude", "longitude"), t2m),
                     "msl": (("time", "latitude", "longitude"), 1e5 + 100 * t2m),
                     "lsm": (("latitude", "longitude"), lsm, {"long_name": "Land-sea mask"}),
                     "orography": (("latitude", "longitude"), orog)},
                    coords={"time": pd.date_range("2017-01-01", periods=n_t, freq="h"), "latitude": lat,
                            "longitude": lon})
    ds.to_netcdf(path)
    return lsm, orog


def test_static_fields_are_read_flipped_and_reach_the_model(tmp_path):
    lsm, orog = _file(tmp_path / "f.nc")
    rec = read_weather(tmp_path / "f.nc")
    assert list(rec["variable"].values) == ["msl", "t2m"]
    assert rec["static"].dims == ("static_variable", "lat", "lon")
    assert list(rec["static_variable"].values) == ["lsm", "orog"]
    np.testing.assert_array_equal(rec["static"].values[0], lsm[::-1])  # ascending latitude
    np.testing.assert_array_equal(rec["static"].values[1], orog[::-1])
    only = read_weather(tmp_path / "f.nc", variables={"t2m": "t2m", "lsm": "lsm"})
    assert list(only["variable"].values) == ["t2m"] and list(only["static_variable"].values) == ["lsm"]

    from signalkit.datamodules import WeatherDataModule
    from signalkit.store import ingest
    from signalkit.tokenizers.field import FieldTokenizer

    store = str(tmp_path / "s.zarr")
    ingest([str(tmp_path / "f.nc")], store, "weather", {}, progress=False)
    dm = WeatherDataModule(store, split={"train": ["2017-01-01", "2017-01-02"], "val": ["2017-01-03", "2017-01-03"],
                                         "test": ["2017-01-04", "2017-01-04"]}, history=2, lead_times=[1])
    dm.setup()
    assert dm.data_contract()["static"] == ["lsm", "orog"]
    batch = next(iter(dm.train_dataloader()))
    assert batch["x"].shape[2] == 2 and batch["static"].shape == (2, 3, 4)
    z = (orog[::-1] - orog.mean()) / orog.std()
    np.testing.assert_allclose(batch["static"][1].numpy(), z, rtol=1e-5)  # standardised
    tok = FieldTokenizer(dim=8, n_vars=2, history=2, patch_size=1, n_static=2)
    out = tok(batch)
    assert out.shape == (len(batch["x"]), 8, 3, 4)
    # the static channels are inputs: changing orography changes the tokens
    other = {**batch, "static": batch["static"] * torch.tensor([1.0, -1.0])[:, None, None]}
    assert not torch.allclose(tok(other), out)
