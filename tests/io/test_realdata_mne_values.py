"""#18 acceptance on the real data of the sample folder, values against MNE's own read: the sEEG
clip with its electrodes table, the EEGMMIDB runs and the EEGLAB sample, read and ingested into a
store with MNE's events (annotations), MNE's channel types and MNE's head-frame positions."""

from __future__ import annotations

import csv

import mne
import numpy as np
import pytest

from signalkit.io import read_recording
from signalkit.io.montage import canonical_names, resolve_montage
from signalkit.store import ingest, open_store

pytestmark = pytest.mark.realdata


def _mne_annotation_events(raw):
    """(onset_s from the first sample, label) of MNE's annotations, BAD_/EDGE left out."""
    keep = [i for i, d in enumerate(raw.annotations.description) if not d.lower().startswith(("bad", "edge"))]
    onset = raw.annotations.onset[keep] - (raw.first_samp / raw.info["sfreq"] if raw.annotations.orig_time else 0)
    return onset, [str(d) for d in raw.annotations.description[keep]]


def _ingested(files, tmp_path, modality, **kwargs):
    store = open_store(ingest([str(f) for f in files], str(tmp_path / "s.zarr"), modality, progress=False,
                              **kwargs))
    by_source = {}
    for rid in store:
        by_source[store.provenance(rid)["source"]] = store[rid]
    return by_source


def test_seeg_clip_ingests_with_its_table_mnes_events_and_types(sample_data, tmp_path):
    path = sample_data / "ieeg" / "sub-pat01_ses-test_acq-seeg_ieeg.edf"
    raw = mne.io.read_raw_edf(path, verbose="error")
    with open(path.with_name("sub-pat01_ses-test_acq-seeg_electrodes.tsv")) as fh:
        table = {r["name"]: [float(r[c]) / 1000 for c in "xyz"] for r in csv.DictReader(fh, delimiter="\t")
                 if r["x"] != "n/a"}
    (ds,) = _ingested([path], tmp_path, "ieeg").values()
    names = [str(n) for n in ds["channel"].values]
    assert names == [n for n in raw.ch_names if n in table]  # the table's contacts, in the file's order
    np.testing.assert_allclose(ds["pos"].values, [table[n] for n in names])
    assert set(ds["ch_type"].values) == {"seeg"}
    picks = [raw.ch_names.index(n) for n in names]
    np.testing.assert_array_equal(ds["signal"].values, raw.get_data(picks=picks).astype(np.float32))
    onset, labels = _mne_annotation_events(raw)
    assert len(labels) == 3
    np.testing.assert_allclose(ds["event_onset_s"].values, onset, atol=1 / raw.info["sfreq"])
    assert list(ds["event_label"].values) == labels


def test_eegmmidb_runs_ingest_with_mnes_events_and_head_frame_template_positions(sample_data, tmp_path):
    files = sorted((sample_data / "eeg" / "eegmmidb").glob("S001R*.edf"))[:3]
    stores = _ingested(files, tmp_path, "eeg")
    assert len(stores) == 3
    for path in files:
        ds = stores[str(path)]
        raw = mne.io.read_raw_edf(path, verbose="error")
        onset, labels = _mne_annotation_events(raw)
        assert list(ds["event_label"].values) == labels and labels.count("T0") > 0
        np.testing.assert_allclose(ds["event_onset_s"].values, onset, atol=1 / raw.info["sfreq"])
        # MNE's own route to positions: rename to the 10-05 spelling, set the template, read loc
        mapping = {k: v for k, v in canonical_names(raw.ch_names, "standard_1005").items() if k != v}
        ref = raw.copy().rename_channels(mapping, verbose="error")
        ref.set_montage(resolve_montage("standard_1005"), on_missing="ignore", verbose="error")
        assert [str(n) for n in ds["channel"].values] == ref.ch_names
        np.testing.assert_allclose(ds["pos"].values, [ch["loc"][:3] for ch in ref.info["chs"]], atol=1e-9)
        assert ds.attrs["pos_frame"] == "head" and set(ds["ch_type"].values) == {"eeg"}
        np.testing.assert_array_equal(ds["signal"].values, raw.get_data().astype(np.float32))


def test_eeglab_sample_events_types_and_positions_are_mnes(sample_data):
    path = sample_data / "eeg" / "test_raw.set"
    rec = read_recording(path, "eeg")
    raw = mne.io.read_raw_eeglab(path, verbose="error")
    onset, labels = _mne_annotation_events(raw)
    assert len(labels) == rec.sizes["event"] > 0
    assert list(rec["event_label"].values) == labels
    np.testing.assert_allclose(rec["event_onset_s"].values, onset, atol=1 / raw.info["sfreq"])
    picks = mne.pick_types(raw.info, eeg=True)
    assert [str(n) for n in rec["channel"].values] == [raw.ch_names[i] for i in picks]
    locs = np.array([raw.info["chs"][i]["loc"][:3] for i in picks])
    # MNE gives these channels ("EEG 000", ...) no position, and no template names them: NaN
    assert not (np.isfinite(locs).all(axis=1) & (np.abs(locs).sum(axis=1) > 0)).any()
    assert np.isnan(rec["pos"].values).all() and rec.attrs["pos_frame"] == "head"
    np.testing.assert_array_equal(rec["signal"].values, raw.get_data(picks=picks).astype(np.float32))
