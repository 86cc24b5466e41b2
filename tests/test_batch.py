"""Batch keys and DataContract: round trip of the pretrained format's plain dict."""

from __future__ import annotations

import json

import pytest

from signalkit.batch import (
    BATCH_KEYS,
    DataContract,
    FMRIContract,
    SensorContract,
    VideoContract,
    WeatherContract,
    contract_dict,
)
from signalkit.errors import ConfigError

SENSOR = {"modality": "eeg", "sfreq": 160.0, "window_s": 2.0, "n_times": 320, "channels": ["C3", "Cz"],
          "ch_types": ["eeg", "eeg"], "positions": [[0.1, 0.0, 0.05], [None, None, None]],
          "normalization": None, "target_names": ["left_hand", "right_hand"]}


def test_batch_declares_every_key_the_data_modules_produce():
    assert {"x", "y", "pos", "ch_type", "ch_mask", "rec", "time", "init", "lat", "lon", "mask",
            "voxel_mask", "voxel_mean", "global_mean"} == set(BATCH_KEYS)


@pytest.mark.parametrize("data, cls", [
    (SENSOR, SensorContract),
    ({**SENSOR, "modality": "meg"}, SensorContract),
    ({"modality": "fmri", "mode": "volume", "tr": 2.0, "window_s": 8.0, "n_frames": 4, "horizon": 0,
      "normalization": "run", "target_names": None, "grid": [8, 8, 6], "affine": [[2.0, 0, 0, 0]] * 4}, FMRIContract),
    ({"modality": "weather", "variables": ["t2m"], "lat": [50.0], "lon": [0.0], "mask": [[0]], "dt_hours": 1.0,
      "step_hours": 3.0, "history": 2, "lead_times": [3, 6], "normalization": {"mean": [1.0]}, "units": []},
     WeatherContract),
    ({"modality": "video", "t_in": 10, "t_out": 10, "channels": 1, "height": 64, "width": 64,
      "value_range": [0.0, 1.0], "fps": None}, VideoContract),
])
def test_from_dict_picks_the_modality_and_round_trips_exactly(data, cls):
    c = DataContract.from_dict(data)
    assert type(c) is cls and c.modality == data["modality"]
    assert c.to_dict() == data
    assert json.dumps(c.to_dict(), sort_keys=True) == json.dumps(data, sort_keys=True)


def test_old_and_unknown_keys_survive():
    old = {"sfreq": 100.0, "channels": ["a"]}  # an old folder without modality
    assert DataContract.from_dict(old).to_dict() == old
    newer = {**SENSOR, "montage_hash": "abc"}  # a key a newer writer added
    c = DataContract.from_dict(newer)
    assert c.extra == {"montage_hash": "abc"} and c.get("montage_hash") == "abc" and c.get("sfreq") == 160.0
    assert c.to_dict() == newer
    assert DataContract.from_dict(None).to_dict() == {}
    assert contract_dict(c) == newer and contract_dict({"a": 1}) == {"a": 1}


def test_of_writes_every_field_given_and_only_those():
    c = SensorContract.of(modality="eeg", sfreq=250.0, normalization=None)
    assert c.to_dict() == {"modality": "eeg", "sfreq": 250.0, "normalization": None}


def test_bad_modality_type_names_the_key():
    with pytest.raises(ConfigError, match="data_contract.modality"):
        DataContract.from_dict({"modality": 3})
