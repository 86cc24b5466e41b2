"""Splits never leak a subject, a session, a run or a time range; explicit assignment and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signalkit.datamodules import build_sensor_index, split_index
from signalkit.errors import ConfigError
from signalkit.store import open_store


@pytest.mark.parametrize("by", ["subject", "session", "run", "recording"])
def test_group_splits_do_not_leak(mi_store, by):
    index = build_sensor_index(open_store(mi_store), 2.0, events=["left_hand", "right_hand"])
    parts = split_index(index, by=by, fractions=(0.6, 0.2, 0.2), seed=3)
    subjects = [set(parts[s]["subject"]) for s in ("train", "val", "test")]
    assert all(subjects) and not (subjects[0] & subjects[1] or subjects[0] & subjects[2] or subjects[1] & subjects[2])
    assert sum(len(p) for p in parts.values()) == len(index)
    again = split_index(index, by=by, fractions=(0.6, 0.2, 0.2), seed=3)
    assert all(parts[s].equals(again[s]) for s in parts)  # seeded


def test_time_split_has_no_straddling_windows():
    index = pd.DataFrame({"recording": "r", "start": np.arange(0, 900, 50), "subject": "s",
                          "session": "", "run": "", "target": 0, "n_times": 1000})
    index["stop"] = index["start"] + 100
    parts = split_index(index, by="time", fractions=(0.6, 0.2, 0.2))
    assert parts["train"]["stop"].max() <= 600 and parts["val"]["start"].min() >= 600
    assert parts["val"]["stop"].max() <= 800 and parts["test"]["start"].min() >= 800


def test_explicit_assignment_and_bad_config(mi_store):
    index = build_sensor_index(open_store(mi_store), 2.0, events=["left_hand", "right_hand"])
    parts = split_index(index, by="subject", assign={"test": ["05"], "val": ["04"]})
    assert set(parts["test"]["subject"]) == {"05"} and set(parts["val"]["subject"]) == {"04"}
    with pytest.raises(ConfigError, match="data.split.by"):
        split_index(index, by="galaxy")
    with pytest.raises(ConfigError, match="data.split.assign.test"):
        split_index(index, by="subject", assign={"test": ["99"]})
