"""Windows index the store correctly; splits never leak a subject or a time range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from signalkit.datamodules import SignalDataModule, WindowDataset, build_sensor_index, split_index
from signalkit.datamodules.collate import collate_sensor
from signalkit.errors import ConfigError, InputError
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


def test_datamodule_normalises_with_training_statistics(mi_store):
    dm = SignalDataModule(mi_store, window_s=2.0, events={"left_hand": 0, "right_hand": 1}, batch_size=8)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["x"].shape == (8, 19, 320) and batch["ch_mask"].all()
    stds = torch.cat([b["x"] for b in dm.train_dataloader()]).std(dim=(0, 2))
    assert torch.allclose(stds, torch.ones(19), atol=0.1)  # standardised per channel on train
    contract = dm.data_contract()
    assert contract["sfreq"] == 160.0 and len(contract["channels"]) == 19
    assert contract["target_names"] == ["left_hand", "right_hand"]


def test_collate_pads_mixed_montages():
    a = {"x": torch.ones(3, 5), "pos": torch.ones(3, 3), "ch_type": torch.zeros(3, dtype=torch.long), "y": 1, "rec": 0}
    b = {"x": torch.ones(5, 5), "pos": torch.ones(5, 3), "ch_type": torch.zeros(5, dtype=torch.long), "y": 0, "rec": 1}
    batch = collate_sensor([a, b])
    assert batch["x"].shape == (2, 5, 5)
    assert batch["ch_mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert batch["x"][0, 3:].abs().sum() == 0


def test_memmap_reads_equal_zarr_reads(mi_store):
    import zarr

    from signalkit.datamodules.chunk_reader import ChunkMemmap

    store = open_store(mi_store)
    index = build_sensor_index(store, 7.3, stride_s=3.1)  # windows that cross chunk boundaries
    ds = WindowDataset(store, index)
    root = zarr.open_group(mi_store, mode="r")
    assert isinstance(ds._open()[0], ChunkMemmap)
    for i in range(0, len(index), 7):
        row = index.iloc[i]
        ref = root[row["recording"]]["signal"][:, row["start"]:row["stop"]]
        np.testing.assert_array_equal(ds[i]["x"].numpy(), ref)
    assert ChunkMemmap.open("memory://x.zarr", root[index["recording"].iloc[0]]["signal"], "r/signal") is None


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
