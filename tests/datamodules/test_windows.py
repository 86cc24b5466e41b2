"""Windows index the store correctly: event and fixed windows, errors, the batched fetch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.datamodules import WindowDataset, build_sensor_index
from signalkit.datamodules.collate import collate_sensor
from signalkit.errors import InputError
from signalkit.store import open_store


def test_event_windows_slice_the_store(mi_store):
    store = open_store(mi_store)
    index = build_sensor_index(store, 2.0, events=["left_hand", "right_hand"], tmin_s=0.5)
    assert len(index) == 5 * 48  # 5 subjects x 24 trials x 2 classes
    ds = WindowDataset(store, index)
    row = index.iloc[7]
    item = ds[7]
    rec = store[row["recording"]]
    sfreq = rec.attrs["sfreq"]
    label = ["left_hand", "right_hand"][row["target"]]
    starts = [round((o + 0.5) * sfreq) for o, lab in
              zip(rec["event_onset_s"].values, rec["event_label"].values) if str(lab) == label]
    assert row["start"] in starts and row["stop"] - row["start"] == 320
    np.testing.assert_array_equal(item["x"].numpy(), rec["signal"].values[:, row["start"]:row["stop"]])
    assert item["x"].shape == (19, 320) and item["y"] == row["target"]


def test_fixed_windows_and_errors(mi_store, tmp_path):
    store = open_store(mi_store)
    index = build_sensor_index(store, 1.0, stride_s=0.5)
    assert (index["target"] == -1).all()
    first = index[index["recording"] == index["recording"].iloc[0]]
    assert (np.diff(first["start"].to_numpy()) == 80).all()
    with pytest.raises(InputError, match="no events labelled"):
        build_sensor_index(store, 2.0, events=["no_such_label"])


def test_batched_fetch_equals_collated_items(mi_store, mi_edf_dir, tmp_path):
    from signalkit.datamodules.windows import ChannelNorm
    from signalkit.demo import make_motor_imagery
    from signalkit.io import expand_sources
    from signalkit.store import ingest

    make_motor_imagery(tmp_path / "mi64", n_subjects=1, n_trials=3, montage="64", seed=2, first_subject=9)
    files = expand_sources(mi_edf_dir, "eeg")[:1] + expand_sources(tmp_path / "mi64", "eeg")
    mixed = open_store(ingest(files, str(tmp_path / "m.zarr"), "eeg", progress=False))  # 19 + 64 channels
    norm = ChannelNorm({"C3": (0.1, 2.0), "Cz": (0.0, 3.0)})
    for st in (open_store(mi_store), mixed):
        index = build_sensor_index(st, 2.0, events=["left_hand", "right_hand"])
        ds = WindowDataset(st, index, norm)
        picks = [5, 0, 3, len(ds) - 1]
        batched = ds.__getitems__(picks)
        ref = collate_sensor([ds[i] for i in picks])
        assert batched.keys() == ref.keys()
        for key in ref:
            torch.testing.assert_close(batched[key], ref[key], rtol=0, atol=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_sensor)
    shapes = {tuple(b["x"].shape) for b in loader}  # the DataLoader takes the batched path
    assert {(3, 19, 320), (3, 64, 320)} <= shapes
