"""Events as MNE gives them: annotations, and ``mne.find_events`` with MNE's defaults and its
default stim channel (analog stim channels left out, EDF/BDF trigger channels found)."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from signalkit.errors import ConfigError
from signalkit.io import read_recording


def _stim_raw(seed: int = 0, sfreq: float = 100.0, n: int = 2000, analog: bool = True) -> mne.io.RawArray:
    """C3, C4, STI101 (codes with a return to a non-zero baseline) and an analog STI301."""
    rng = np.random.default_rng(seed)
    names = ["C3", "C4", "STI101"] + (["STI301"] if analog else [])
    info = mne.create_info(names, sfreq, ["eeg", "eeg", "stim"] + (["stim"] if analog else []))
    data = np.zeros((len(names), n))
    data[:2] = rng.standard_normal((2, n)) * 1e-5
    stim = np.zeros(n)
    stim[100:150] = 1
    stim[150:180] = 3  # 1 -> 3: a new event with consecutive="increasing"
    stim[180:220] = 1  # 3 -> 1: a return to a non-zero baseline, not an event for MNE's default
    stim[600:650] = 2
    stim[1200:1201] = 5  # one-sample trigger
    data[2] = stim
    if analog:
        data[3] = rng.uniform(-10, 10, n)  # +-10 V analog channel typed stim
    return mne.io.RawArray(data, info, verbose="error")


def _as_mne(raw, **kw) -> tuple[np.ndarray, list[str]]:
    ev = mne.find_events(raw, verbose="error", **kw)
    return (ev[:, 0] - raw.first_samp) / raw.info["sfreq"], [str(c) for c in ev[:, 2]]


def test_stim_events_equal_find_events_defaults(tmp_path):
    raw = _stim_raw()
    raw.save(tmp_path / "s_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "s_raw.fif", "eeg")
    ref = mne.io.read_raw(tmp_path / "s_raw.fif", verbose="error")
    onsets, labels = _as_mne(ref)
    assert labels == ["1", "3", "2", "5"]  # MNE: STI101 only, no event at the 3 -> 1 return
    np.testing.assert_allclose(rec["event_onset_s"].values, onsets)
    assert list(rec["event_label"].values) == labels
    assert np.all(rec["event_duration_s"].values == 0)


def test_consecutive_and_stim_channel_options(tmp_path):
    raw = _stim_raw()
    raw.save(tmp_path / "s_raw.fif", verbose="error")
    ref = mne.io.read_raw(tmp_path / "s_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "s_raw.fif", "eeg", events={"consecutive": True})
    onsets, labels = _as_mne(ref, consecutive=True)
    assert labels == ["1", "3", "1", "2", "5"]
    assert list(rec["event_label"].values) == labels
    np.testing.assert_allclose(rec["event_onset_s"].values, onsets)
    with pytest.raises(ConfigError, match="events.stim_channel"):
        read_recording(tmp_path / "s_raw.fif", "eeg", events={"stim_channel": "NOPE"})
    with pytest.raises(ConfigError, match="events.consecutive"):
        read_recording(tmp_path / "s_raw.fif", "eeg", events={"consecutive": "sometimes"})


def test_analog_stim_channel_left_out_of_the_fallback(tmp_path):
    """Without STI101/STI 014, MNE takes every stim-typed channel; the analog one is left out."""
    raw = _stim_raw().rename_channels({"STI101": "TRIG"})
    raw.save(tmp_path / "t_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "t_raw.fif", "eeg")
    onsets, labels = _as_mne(mne.io.read_raw(tmp_path / "t_raw.fif", verbose="error"), stim_channel="TRIG")
    assert list(rec["event_label"].values) == labels
    np.testing.assert_allclose(rec["event_onset_s"].values, onsets)


def test_one_sample_triggers_as_mne_advises(tmp_path):
    """Codes on adjacent samples: find_events' defaults refuse; shortest_event=1 reads them."""
    info = mne.create_info(["C3", "STI 014"], 100.0, ["eeg", "stim"])
    data = np.zeros((2, 500))
    data[0] = np.random.default_rng(1).standard_normal(500) * 1e-5
    data[1, 100], data[1, 101], data[1, 300] = 1, 2, 4
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.save(tmp_path / "o_raw.fif", verbose="error")
    ref = mne.io.read_raw(tmp_path / "o_raw.fif", verbose="error")
    with pytest.raises(ValueError, match="shortest_event"):
        mne.find_events(ref, verbose="error")
    rec = read_recording(tmp_path / "o_raw.fif", "eeg")
    onsets, labels = _as_mne(ref, shortest_event=1)
    assert list(rec["event_label"].values) == labels == ["1", "2", "4"]
    np.testing.assert_allclose(rec["event_onset_s"].values, onsets)


def test_bdf_status_channel_and_mask(tmp_path):
    """A BDF ``Status`` channel is typed stim by MNE's reader; its events are MNE's (mask too)."""
    info = mne.create_info(["Fp1", "Cz", "Status"], 128.0, ["eeg", "eeg", "stim"])
    data = np.zeros((3, 1280))
    data[:2] = np.random.default_rng(2).standard_normal((2, 1280)) * 1e-5
    data[2, 100:140] = 3
    data[2, 500:540] = 256 + 5  # a status bit above the trigger bits
    data[2, 900:940] = 7
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_annotations(mne.Annotations([2.0], [0.5], ["note"]))
    mne.export.export_raw(tmp_path / "s.bdf", raw, fmt="bdf", overwrite=True, verbose="error")
    ref = mne.io.read_raw(tmp_path / "s.bdf", verbose="error")
    assert ref.get_channel_types()[-1] == "stim"
    rec = read_recording(tmp_path / "s.bdf", "eeg")
    onsets, labels = _as_mne(ref)
    # annotations and stim events together, in time order
    assert list(rec["event_label"].values) == labels[:1] + ["note"] + labels[1:]
    assert len(labels) == 3
    masked = read_recording(tmp_path / "s.bdf", "eeg", events={"source": "stim", "mask": 255})
    m_onsets, m_labels = _as_mne(ref, mask=255, mask_type="and")
    assert list(masked["event_label"].values) == m_labels
    np.testing.assert_allclose(masked["event_onset_s"].values, m_onsets)
    only_ann = read_recording(tmp_path / "s.bdf", "eeg", events={"source": "annotations"})
    assert list(only_ann["event_label"].values) == ["note"]
    assert "Status" in list(rec["aux_channel"].values)  # the trigger channel is kept as aux


@pytest.mark.realdata
def test_elekta_sti101_events_equal_find_events(sample_data):
    path = sample_data / "meg" / "test_elekta_3ch_raw.fif"
    rec = read_recording(path, "meg")
    ref = mne.io.read_raw_fif(path, verbose="error")
    onsets, labels = _as_mne(ref)
    assert len(labels) == 162 and len(set(labels)) == 8
    assert list(rec["event_label"].values) == labels
    np.testing.assert_allclose(rec["event_onset_s"].values, onsets)
