"""Sensor readers return what MNE returns, for every format family we can write here."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from signalkit.errors import ConfigError, InputError
from signalkit.io import read_recording
from signalkit.io.montage import canonical_names, clean_channel_name
from signalkit.recording import file_sha256

NAMES = ["Fp1", "Fc5.", "C3..", "Cz", "C4", "Oz.."]


def _raw(seed: int = 0, sfreq: float = 128.0, n: int = 1280) -> mne.io.RawArray:
    rng = np.random.default_rng(seed)
    info = mne.create_info(NAMES, sfreq, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((len(NAMES), n)) * 20e-6, info, verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 4.5, 7.25], [1.0, 0.5, 2.0], ["left", "right", "BAD_x"]))
    return raw


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fmt")
    raw = _raw()
    out = {}
    for fmt, name in (("edf", "a.edf"), ("bdf", "a.bdf"), ("eeglab", "a.set"), ("brainvision", "a.vhdr")):
        mne.export.export_raw(d / name, raw, fmt=fmt, overwrite=True, verbose="error")
        out[fmt] = d / name
    raw.save(d / "a_raw.fif", verbose="error")
    out["fif"] = d / "a_raw.fif"
    return out


@pytest.mark.parametrize("fmt", ["edf", "bdf", "eeglab", "brainvision", "fif"])
def test_reader_matches_mne(files, fmt):
    path = files[fmt]
    rec = read_recording(path, "eeg")
    ref = mne.io.read_raw(path, verbose="error")
    np.testing.assert_array_equal(rec["signal"].values, ref.get_data().astype(np.float32))
    assert rec.attrs["sfreq"] == ref.info["sfreq"]
    # names normalised to the montage spelling, positions from standard_1005
    assert list(rec["channel"].values) == ["Fp1", "FC5", "C3", "Cz", "C4", "Oz"]
    assert np.isfinite(rec["pos"].values).all()
    c3 = rec["pos"].sel(channel="C3").values
    assert c3[0] < -0.03  # left hemisphere: negative x in the head frame
    # BAD_ annotations are not events; onsets/durations preserved
    np.testing.assert_allclose(rec["event_onset_s"].values, [1.0, 4.5], atol=1 / 128)
    np.testing.assert_allclose(rec["event_duration_s"].values, [1.0, 0.5], atol=1 / 128)
    # labels are MNE's descriptions (BrainVision keeps the marker type: "Comment/left")
    prefix = "Comment/" if fmt == "brainvision" else ""
    assert list(rec["event_label"].values) == [prefix + "left", prefix + "right"]
    assert rec.attrs["sha256"] == file_sha256(path) and rec.attrs["subject"] == path.name.split(".")[0]


def test_the_files_sha256_is_computed_when_first_read(files, monkeypatch):
    """The plain read does not hash the file (hashing costs more than reading a small file); the
    Recording's ``attrs["sha256"]`` is the file's hash when read; given, it is never computed."""
    import signalkit.recording as recording

    calls = []
    monkeypatch.setattr(recording, "file_sha256", lambda p, *a: calls.append(p) or file_sha256(p, *a))
    rec = read_recording(files["fif"], "eeg")
    assert calls == [] and rec.attrs.pending() == ("sha256",)
    assert rec.attrs["sha256"] == file_sha256(files["fif"]) and len(calls) == 1
    given = read_recording(files["fif"], "eeg", sha256="ab" * 32)
    assert given.attrs["sha256"] == "ab" * 32 and type(given.attrs) is dict and len(calls) == 1


def test_channel_types_are_mnes(files):
    from signalkit.io.mne_reader import _channel_types, _eeg_indices

    raw = mne.io.read_raw(files["edf"], verbose="error")
    raw.set_channel_types({"Cz": "eog", "C4": "misc"}, verbose="error")
    assert _channel_types(raw) == raw.get_channel_types()
    eeg = mne.pick_types(raw.info, eeg=True, exclude=[])
    np.testing.assert_array_equal(_eeg_indices(raw, _channel_types(raw)), eeg)


def test_channel_name_normalisation():
    assert clean_channel_name("Fc5.") == "Fc5"
    assert clean_channel_name("EEG C3-REF") == "C3"
    assert canonical_names(["Fc5.", "Cz..", "XYZ"], "standard_1005") == {"Fc5.": "FC5", "Cz..": "Cz"}


def test_stim_channel_events(tmp_path):
    info = mne.create_info(["C3", "C4", "STI 014"], 100.0, ["eeg", "eeg", "stim"])
    data = np.zeros((3, 1000))
    data[:2] = np.random.default_rng(0).standard_normal((2, 1000)) * 1e-5
    data[2, [100, 400, 700]] = [1, 2, 1]
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.save(tmp_path / "s_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "s_raw.fif", "eeg")
    assert list(rec["channel"].values) == ["C3", "C4"]  # stim channel not a data channel
    np.testing.assert_allclose(rec["event_onset_s"].values, [1.0, 4.0, 7.0])
    assert list(rec["event_label"].values) == ["1", "2", "1"]


def test_preprocessing_band_pass_and_resample(files):
    rec = read_recording(files["fif"], "eeg", preprocess={"l_freq": 1.0, "h_freq": 30.0, "resample": 64.0})
    ref = mne.io.read_raw(files["fif"], preload=True, verbose="error")
    ref.filter(1.0, 30.0, verbose="error").resample(64.0, verbose="error")
    assert rec.attrs["sfreq"] == 64.0
    np.testing.assert_allclose(rec["signal"].values, ref.get_data().astype(np.float32), rtol=1e-5, atol=1e-12)


def test_ieeg_types_and_explicit_montage(files):
    rec = read_recording(files["edf"], "ieeg")
    assert set(rec["ch_type"].values) == {"seeg"}
    with pytest.raises(ConfigError, match="montage"):
        read_recording(files["edf"], "eeg", montage="no_such_montage")


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_recording(tmp_path / "missing.edf")
    (tmp_path / "x.xyz").write_text("nope")
    with pytest.raises(InputError, match="unknown extension"):
        read_recording(tmp_path / "x.xyz")
    (tmp_path / "t.edf").write_bytes(b"0       garbage header" * 3)
    with pytest.raises(InputError, match="t.edf: cannot read"):
        read_recording(tmp_path / "t.edf")


@pytest.mark.realdata
def test_eegmmidb_sample(sample_data):
    path = sample_data / "eeg" / "eegmmidb_S001R03.edf"
    rec = read_recording(path, "eeg")
    ref = mne.io.read_raw_edf(path, verbose="error").get_data()
    np.testing.assert_array_equal(rec["signal"].values, ref.astype(np.float32))
    assert rec.sizes["channel"] == 64 and np.isfinite(rec["pos"].values).all()
    labels = list(rec["event_label"].values)
    assert labels.count("T1") + labels.count("T2") == 15
    assert rec.attrs["subject"] == "001" and rec.attrs["run"] == "03"
    assert "FC5" in rec["channel"].values


@pytest.mark.realdata
def test_eeglab_and_meg_samples(sample_data):
    eeg = read_recording(sample_data / "eeg" / "test_raw.set", "eeg")
    assert eeg.sizes["channel"] == 32 and eeg.attrs["sfreq"] == 128.0
    assert set(eeg["event_label"].values) == {"square", "rt"}
    meg = read_recording(sample_data / "meg" / "test_elekta_3ch_raw.fif", "meg")
    ref = mne.io.read_raw_fif(sample_data / "meg" / "test_elekta_3ch_raw.fif", verbose="error")
    picks = mne.pick_types(ref.info, meg=True)
    assert list(meg["ch_type"].values) == ref.get_channel_types(picks=picks)
    assert sorted(set(meg["ch_type"].values)) == ["grad", "mag"]
    np.testing.assert_array_equal(meg["signal"].values, ref.get_data(picks=picks).astype(np.float32))
    np.testing.assert_allclose(meg["pos"].values, [ref.info["chs"][i]["loc"][:3] for i in picks])
    np.testing.assert_allclose(meg["ori"].values, [ref.info["chs"][i]["loc"][9:12] for i in picks])
    assert meg.sizes["event"] == 162


@pytest.mark.realdata
def test_eegmmidb_runs(sample_data):
    files = sorted((sample_data / "eeg" / "eegmmidb").glob("S001R*.edf"))
    assert len(files) == 12
    for path in files:
        rec = read_recording(path, "eeg")
        ref = mne.io.read_raw_edf(path, verbose="error")
        np.testing.assert_array_equal(rec["signal"].values, ref.get_data().astype(np.float32))
        labels = list(rec["event_label"].values)
        assert labels.count("T1") + labels.count("T2") == 15, path.name
        ann = ref.annotations
        np.testing.assert_allclose(rec["event_onset_s"].values, ann.onset, atol=1 / 160)
        assert rec.attrs["run"] == path.stem[-2:] and rec.attrs["pos_frame"] == "head"
        assert np.isfinite(rec["pos"].values).all() and "aux" not in rec


@pytest.mark.realdata
def test_smni_ingest(sample_data, tmp_path):
    from signalkit.io import expand_sources
    from signalkit.store import ingest, open_store

    files = expand_sources(str(sample_data / "eeg" / "smni" / "*-epo.fif"), "eeg")
    assert len(files) == 14
    store = open_store(ingest(files, str(tmp_path / "smni.zarr"), "eeg", progress=False))
    n_events, subjects = 0, set()
    for rid in store:
        ds = store[rid]
        n_events += ds.sizes["event"]
        subjects.add(store.provenance(rid)["subject"])
        assert ds.attrs["epoch_samples"] == 256 and ds.sizes["time"] == 256 * ds.sizes["event"]
        assert set(ds["ch_type"].values) == {"eeg"} and np.isfinite(ds["pos"].values).all()
        assert sorted(ds["aux_type"].values) == ["eog", "eog", "misc"]
    assert n_events == 718 and len(subjects) == 14


def test_a_read_error_in_a_lazily_streamed_signal_names_the_file(tmp_path):
    """A large file's signal is read block by block (``_RawBlocks``); a read error there is one
    InputError naming the file, not a NameError from inside the reader."""
    from pathlib import Path

    from signalkit.io.mne_reader import _RawBlocks

    raw = mne.io.RawArray(np.zeros((2, 100)), mne.create_info(["C3", "C4"], 100.0, "eeg"), verbose="error")

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    raw.get_data = broken
    path = Path(tmp_path / "big.edf")
    blocks = _RawBlocks(raw, np.array([0, 1]), path)
    with pytest.raises(InputError, match=r"big\.edf: cannot read the file \(OSError: disk gone\)"):
        blocks[:, 0:50]
