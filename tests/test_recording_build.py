"""build_dataset: the Dataset of xarray's public constructor, indexes included, built faster."""

import numpy as np
import pytest
import xarray as xr

from signalkit.recording import build_dataset, event_variables, sensor_recording


def _parts():
    ev = event_variables([0.5, 1.0], [0.0, 0.1], ["a", "b"])
    data_vars = {"signal": (("channel", "time"), np.arange(300, dtype=np.float32).reshape(3, 100)), **ev,
                 "aux": (("aux_channel", "time"), np.ones((1, 100), np.float32))}
    coords = {"channel": np.asarray(["Fp1", "Cz", "O2"]), "ch_type": ("channel", np.asarray(["eeg"] * 3)),
              "pos": (("channel", "xyz"), np.arange(9.0).reshape(3, 3)), "xyz": np.asarray(["x", "y", "z"]),
              "bad": ("channel", np.array([False, True, False])), "aux_channel": np.asarray(["EOG1"]),
              "aux_type": ("aux_channel", np.asarray(["eog"]))}
    return data_vars, coords


def test_build_dataset_is_the_public_constructors_dataset():
    data_vars, coords = _parts()
    fast, public = build_dataset(data_vars, coords), xr.Dataset(data_vars, coords=coords)
    xr.testing.assert_identical(fast, public)
    assert set(fast.xindexes) == set(public.xindexes) == {"channel", "xyz", "aux_channel"}
    assert float(fast.sel(channel="Cz")["signal"][5]) == 105.0
    assert fast.sel(channel="O2")["pos"].values.tolist() == [6.0, 7.0, 8.0]


def test_build_dataset_refuses_disagreeing_sizes_as_xarray_does():
    data_vars, coords = _parts()
    coords["ch_type"] = ("channel", np.asarray(["eeg"] * 2))
    with pytest.raises(ValueError):
        xr.Dataset(data_vars, coords=coords)
    with pytest.raises(ValueError):
        build_dataset(data_vars, coords)


def test_sensor_recording_unchanged():
    rec = sensor_recording(np.zeros((2, 10)), sfreq=100.0, ch_names=["C3", "C4"], ch_types=["eeg", "eeg"],
                           pos=np.zeros((2, 3)), source="x", sha256="y")
    assert rec["signal"].dtype == np.float32 and rec.attrs["sfreq"] == 100.0
    assert list(rec.indexes["channel"]) == ["C3", "C4"] and rec.sizes["event"] == 0
