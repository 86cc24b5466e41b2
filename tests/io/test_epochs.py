"""Epoched inputs: MNE -epo.fif, EEGLAB epoched .set and NumPy X (n, C, T) + labels. Each epoch
is one event with its label and an exact window; windows never straddle two epochs."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from signalkit.datamodules import SignalDataModule
from signalkit.datamodules.windows import build_sensor_index
from signalkit.errors import InputError
from signalkit.io import read_recording
from signalkit.io.arrays import from_arrays
from signalkit.store import ingest, open_store

NAMES = ["Fz", "C3", "Cz", "C4", "Pz"]


def _epochs(seed: int = 0, n: int = 12, sfreq: float = 100.0, n_t: int = 50) -> mne.EpochsArray:
    rng = np.random.default_rng(seed)
    info = mne.create_info(NAMES + ["EOG1"], sfreq, ["eeg"] * 5 + ["eog"])
    codes = np.tile([1, 2, 3], n // 3)
    events = np.c_[np.arange(n) * 200 + 100, np.zeros(n, int), codes]
    return mne.EpochsArray(rng.standard_normal((n, 6, n_t)) * 1e-5, info, events=events, tmin=-0.1,
                           event_id={"left": 1, "right": 2, "feet": 3}, verbose="error")


def _check_epoch_recording(rec, epochs, picks=None):
    x = epochs.get_data(picks=picks or [str(c) for c in rec["channel"].values])
    n, c, t = x.shape
    assert rec.attrs["epoch_samples"] == t and rec.attrs["epoch_tmin_s"] == pytest.approx(epochs.tmin)
    np.testing.assert_array_equal(rec["signal"].values, x.transpose(1, 0, 2).reshape(c, n * t).astype(np.float32))
    names = {v: k for k, v in epochs.event_id.items()}
    assert list(rec["event_label"].values) == [names[code] for code in epochs.events[:, 2]]
    sfreq = epochs.info["sfreq"]
    np.testing.assert_allclose(rec["event_onset_s"].values, np.arange(n) * t / sfreq)
    np.testing.assert_allclose(rec["event_duration_s"].values, t / sfreq)


def test_epo_fif(tmp_path):
    epochs = _epochs()
    epochs.save(tmp_path / "sub-01-epo.fif", verbose="error")
    rec = read_recording(tmp_path / "sub-01-epo.fif", "eeg")
    _check_epoch_recording(rec, mne.read_epochs(tmp_path / "sub-01-epo.fif", verbose="error"))
    assert rec.attrs["subject"] == "01"
    assert list(rec["aux_type"].values) == ["eog"]


def test_eeglab_epoched_set(tmp_path):
    epochs = _epochs(seed=1)
    mne.export.export_epochs(tmp_path / "ep.set", epochs, fmt="eeglab", overwrite=True, verbose="error")
    rec = read_recording(tmp_path / "ep.set", "eeg")
    _check_epoch_recording(rec, mne.read_epochs_eeglab(tmp_path / "ep.set", verbose="error"))


def test_windows_never_straddle_epochs_and_the_epoch_is_the_default_window(tmp_path):
    epochs = _epochs(seed=2)
    epochs.save(tmp_path / "a-epo.fif", verbose="error")
    store = ingest([str(tmp_path / "a-epo.fif")], str(tmp_path / "e.zarr"), "eeg", progress=False)
    st = open_store(store)
    fixed = build_sensor_index(st, 0.2, stride_s=0.1)  # 20-sample windows every 10 inside 50-sample epochs
    assert len(fixed) == 12 * 4
    assert ((fixed["start"] // 50) == ((fixed["stop"] - 1) // 50)).all()
    with pytest.raises(InputError, match="no events"):  # every window would cross into the next epoch
        build_sensor_index(st, 0.3, events=["left", "right"], tmin_s=0.3)
    ev = build_sensor_index(st, 0.3, events=["left", "right"], tmin_s=0.1)
    assert len(ev) == 8 and (ev["start"] % 50 == 10).all()
    dm = SignalDataModule(store, events={"left": 0, "right": 1, "feet": 2},
                          split={"by": "time", "fractions": [0.5, 0.25, 0.25]}, batch_size=4)  # every class in test
    dm.setup()
    assert dm.window_s == pytest.approx(0.5)
    index = dm.index
    assert len(index) == 12 and (index["start"] == np.arange(12) * 50).all() and (index["stop"] - index["start"] == 50).all()
    assert list(index["target"]) == [0, 1, 2] * 4


def test_numpy_arrays_like_create_from_x_y(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10, 5, 64)).astype(np.float32) * 1e-5
    y = np.array([0, 1] * 5)
    rec = from_arrays(X, y, sfreq=128.0, ch_names=NAMES, subject="s1")
    np.testing.assert_array_equal(rec["signal"].values, X.transpose(1, 0, 2).reshape(5, -1))
    assert list(rec["event_label"].values) == [str(v) for v in y]
    assert np.isfinite(rec["pos"].values).all()
    store = ingest([rec, from_arrays(X[::-1], y[::-1], sfreq=128.0, ch_names=NAMES, subject="s2")],
                   str(tmp_path / "x.zarr"), "eeg", progress=False)
    dm = SignalDataModule(store, events=["0", "1"], split={"by": "subject", "assign": {"train": ["s1"], "val": ["s2"],
                                                                                      "test": ["s2"]}})
    dm.setup()
    assert dm.window_s == pytest.approx(0.5) and len(dm.index) == 20
    item = dm.datasets["train"][3]
    assert item["y"] == int(y[3])


@pytest.mark.realdata
def test_smni_epochs(sample_data):
    files = sorted((sample_data / "eeg" / "smni").glob("sub-*-epo.fif"))
    assert len(files) == 14
    rec = read_recording(files[0], "eeg")
    ref = mne.read_epochs(files[0], verbose="error")
    _check_epoch_recording(rec, ref, picks="eeg")
    assert rec.sizes["channel"] == 61 and np.isfinite(rec["pos"].values).all()
    assert set(rec["event_label"].values) <= {"S1 obj", "S2 match", "S2 nomatch"}
    assert sorted(rec["aux_type"].values) == ["eog", "eog", "misc"]
    assert rec.attrs["subject"] == files[0].name.split("-")[1]
