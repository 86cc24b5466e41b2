"""Bad input through ``signalkit.cli.main``: one clear line naming the file or key, exit code 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr

from signalkit.cli import main

from tests.support import advecting_field, write_netcdf


def _run(capsys, args: list[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def test_missing_latitude(tmp_path, capsys):
    ds = xr.Dataset({"t2m": (("time", "y", "x"), np.zeros((3, 2, 2), np.float32))},
                    coords={"time": pd.date_range("2017-01-01", periods=3, freq="h")})
    path = tmp_path / "nolat.nc"
    ds.to_netcdf(path)
    code, err = _run(capsys, ["ingest", "weather", str(path), str(tmp_path / "s.zarr"), "progress=false"])
    assert code == 2
    assert len(err.splitlines()) == 1 and str(path) in err and "no latitude coordinate" in err
    assert not (tmp_path / "s.zarr").exists()


def test_unknown_variable(tmp_path, capsys):
    path = write_netcdf(tmp_path / "odd.nc", advecting_field(6, 3, 4), name="mystery", attrs={})
    code, err = _run(capsys, ["ingest", "weather", str(path), str(tmp_path / "s.zarr"), "progress=false"])
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{path}: unknown variable 'mystery'" in err and "variables={mystery:" in err
    code, _ = _run(capsys, ["ingest", "weather", str(path), str(tmp_path / "s.zarr"), "progress=false",
                            "+variables={mystery: t2m}"])
    assert code == 0


def test_nan_gaps_without_fill_policy(tmp_path, capsys):
    values = advecting_field(6, 3, 4)
    values[2, 1, 1] = np.nan
    path = write_netcdf(tmp_path / "gappy.nc", values)
    code, err = _run(capsys, ["ingest", "weather", str(path), str(tmp_path / "s.zarr"), "progress=false"])
    assert code == 2 and len(err.splitlines()) == 1
    assert str(path) in err and "NaN gaps that vary in time" in err and "fill=" in err
    code, _ = _run(capsys, ["ingest", "weather", str(path), str(tmp_path / "s.zarr"), "progress=false", "fill=ffill"])
    assert code == 0


def test_lead_time_longer_than_test_period(synthetic_store, tmp_path, capsys):
    args = ["train", "experiment=weather/regional", f"data.store={synthetic_store}",
            "data.split.train=[2017-01-01,2017-01-06]", "data.split.val=[2017-01-07,2017-01-08]",
            "data.split.test=[2017-01-09,2017-01-10]", "data.lead_times=[60]", f"output_dir={tmp_path / 'run'}"]
    code, err = _run(capsys, args)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("signalkit: error: data.lead_times:") and "60 h" in err and synthetic_store in err


def test_lead_time_not_a_multiple_of_the_step(synthetic_store, tmp_path, capsys):
    args = ["train", "experiment=weather/regional", f"data.store={synthetic_store}",
            "data.split.train=[2017-01-01,2017-01-06]", "data.split.val=[2017-01-07,2017-01-08]",
            "data.split.test=[2017-01-09,2017-01-10]", "data.lead_times=[9]", f"output_dir={tmp_path / 'run'}"]
    code, err = _run(capsys, args)
    assert code == 2 and "data.lead_times: 9 h is not a positive multiple of the model step 6 h" in err


def test_predict_rejects_non_weather_checkpoints(tmp_path, capsys):
    ckpt = tmp_path / "eeg.ckpt"
    torch.save({"signalkit_config": {"model": {"modality": "eeg"}}, "state_dict": {}}, ckpt)
    code, err = _run(capsys, ["predict", f"ckpt_path={ckpt}"])
    assert code == 2 and "ckpt_path: predict supports weather checkpoints for now (this one is eeg)" in err


def test_ingest_a_zarr_folder_and_a_file_url(tmp_path, capsys):
    values = advecting_field(6, 3, 4)
    ds = xr.Dataset({"2m_temperature": (("time", "latitude", "longitude"), values)},
                    coords={"time": pd.date_range("2020-01-01", periods=6, freq="6h"),
                            "latitude": [2.0, 1.0, 0.0], "longitude": [0.0, 90.0, 180.0, 270.0]})
    src = tmp_path / "wb2like.zarr"
    ds.to_zarr(src, zarr_format=3, consolidated=False)
    from signalkit.store import open_store

    for i, source in enumerate((str(src), f"file://{src}")):
        store = tmp_path / f"s{i}.zarr"
        code, err = _run(capsys, ["ingest", "weather", source, str(store), "progress=false"])
        assert code == 0, err
        st = open_store(str(store))
        rec = st[next(iter(st))]
        np.testing.assert_array_equal(rec["signal"].values[:, 0], values[:, ::-1])
        assert st.attrs["recordings"][next(iter(st))]["source"] == source
