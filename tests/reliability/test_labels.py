"""Labels are checked before training (issue #17, point 3): a typo in an event label, an empty
class or one-class training is one line listing the labels the store has, exit 2, and no run
folder; ``data.events={...}`` on the command line replaces an experiment's mapping."""

from __future__ import annotations

import pandas as pd
import pytest

from signalkit.config import compose
from signalkit.datamodules.labels import check_labels
from signalkit.errors import ConfigError

from .guard_utils import assert_one_line, run_cli, tree_hashes


def _train(capsys, store, out, *extra):
    return run_cli(capsys, "train", "experiment=eeg/motor_imagery", f"data.store={store}", f"output_dir={out}",
                   "trainer.max_epochs=1", "trainer.enable_progress_bar=false", *extra)


def test_typo_in_a_label_is_refused_with_the_store_labels(capsys, tmp_path, small_store):
    before = tree_hashes(tmp_path)
    code, err = _train(capsys, small_store, tmp_path / "run", "data.events={left_hand: 0, rigth_hand: 1}")
    assert_one_line(code, err, "data.events:", "'rigth_hand'", "left_hand (16)", "right_hand (16)")
    assert tree_hashes(tmp_path) == before  # no run folder, no metrics


def test_added_class_without_events_is_refused(capsys, tmp_path, small_store):
    code, err = _train(capsys, small_store, tmp_path / "run", "+data.events.foot=2")
    assert_one_line(code, err, "data.events:", "'foot'", "left_hand (16)")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("events", ["{left_hand: 0}", "[right_hand]", "{left_hand: 0, right_hand: 0}"])
def test_one_class_training_is_refused(capsys, tmp_path, small_store, events):
    code, err = _train(capsys, small_store, tmp_path / "run", f"data.events={events}")
    assert_one_line(code, err, "data.events:", "at least two", "right_hand (16)")
    assert not (tmp_path / "run").exists()


def test_events_replace_the_experiment_mapping():
    cfg = compose("train", ["experiment=eeg/motor_imagery", "data.events={right_hand: 0, left_hand: 1}"])
    assert dict(cfg.data.events) == {"right_hand": 0, "left_hand": 1}
    cfg = compose("train", ["experiment=eeg/motor_imagery", "data.events={a: 0, b: 1, c: 1}"])
    assert dict(cfg.data.events) == {"a": 0, "b": 1, "c": 1}  # replaced, not merged with left/right_hand
    cfg = compose("train", ["data.events={x: 0, y: 1}"])  # the default (null) replaced too
    assert dict(cfg.data.events) == {"x": 0, "y": 1}
    cfg = compose("train", ["experiment=eeg/motor_imagery", "task.augment=[]"])
    assert dict(cfg.data.events) == {"left_hand": 0, "right_hand": 1}
    with pytest.raises(ConfigError, match="data.no_such: no such config key"):
        compose("train", ["data.no_such={a: 1}"])


class _FakeStore:
    path = "fake.zarr"

    def __init__(self, labels):
        import numpy as np
        import xarray as xr

        self._ds = {"r0": xr.Dataset({"event_label": ("event", np.asarray(labels, dtype=object))})}

    def __iter__(self):
        return iter(self._ds)

    def __getitem__(self, rid):
        return self._ds[rid]


def test_every_class_needs_windows_in_train_and_test():
    store = _FakeStore(["a"] * 3 + ["b"] * 2)
    train = pd.DataFrame({"target": [0, 0, 1]})
    test_one = pd.DataFrame({"target": [0, 0]})
    with pytest.raises(ConfigError, match=r"class\(es\) b have no windows in the test split.*a \(3\), b \(2\)"):
        check_labels(store, {"a": 0, "b": 1}, ["a", "b"], {"train": train, "test": test_one})
    with pytest.raises(ConfigError, match="no windows in the train split"):
        check_labels(store, {"a": 0, "b": 1}, ["a", "b"], {"train": test_one, "test": train})
    check_labels(store, {"a": 0, "b": 1}, ["a", "b"], {"train": train, "test": train})
    check_labels(store, {"a": 0, "b": 1}, ["a", "b"], {"train": train, "test": train.iloc[:0]})  # no test split
