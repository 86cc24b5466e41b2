"""Positions are MNE's head-frame ``loc``: a template goes through MNE's montage machinery, only
for the file's naming system; a BIDS electrodes table beside the file wins."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from signalkit.io import read_recording
from signalkit.io.montage import naming_system, resolve_montage


def _raw(names, seed=0, sfreq=128.0, n=640):
    rng = np.random.default_rng(seed)
    return mne.io.RawArray(rng.standard_normal((len(names), n)) * 1e-5, mne.create_info(names, sfreq, "eeg"),
                           verbose="error")


def _mne_template_locs(raw, montage):
    ref = raw.copy()
    ref.set_montage(resolve_montage(montage), on_missing="ignore", verbose="error")
    return np.array([ch["loc"][:3] for ch in ref.info["chs"]])


def test_template_positions_are_mnes_head_frame_and_match_a_digitised_copy(tmp_path):
    names = ["Fp1", "Fz", "C3", "Cz", "C4", "Pz", "O1", "O2"]
    raw = _raw(names)
    mne.export.export_raw(tmp_path / "cap.vhdr", raw, fmt="brainvision", overwrite=True, verbose="error")
    rec = read_recording(tmp_path / "cap.vhdr", "eeg")  # no positions in the file: the 10-05 template
    expected = _mne_template_locs(raw, "standard_1005")
    np.testing.assert_allclose(rec["pos"].values, expected, atol=1e-9)
    assert rec.attrs["pos_frame"] == "head"
    # the same cap digitised (FIF with the montage set): the same positions
    dig = raw.copy().set_montage(resolve_montage("standard_1005"), verbose="error")
    dig.save(tmp_path / "cap_raw.fif", verbose="error")
    fif = read_recording(tmp_path / "cap_raw.fif", "eeg")
    assert np.abs(fif["pos"].values - rec["pos"].values).max() < 1e-6


def test_explicit_montage_replaces_file_positions_in_head_frame(tmp_path):
    raw = _raw(["C3", "Cz", "C4"])
    raw.save(tmp_path / "a_raw.fif", verbose="error")
    rec = read_recording(tmp_path / "a_raw.fif", "eeg", montage="easycap-M1")
    np.testing.assert_allclose(rec["pos"].values, _mne_template_locs(raw, "easycap-M1"), atol=1e-9)


def test_biosemi_labels_never_get_1005_positions(tmp_path):
    names = [f"{b}{i}" for b in "ABCD" for i in range(1, 33)] + ["EXG1", "EXG2"]
    assert naming_system(names) == "biosemi128"
    raw = _raw(names, n=256)
    mne.export.export_raw(tmp_path / "bs.bdf", raw, fmt="bdf", overwrite=True, verbose="error")
    rec = read_recording(tmp_path / "bs.bdf", "eeg")
    expected = _mne_template_locs(raw.copy().pick(names[:128]), "biosemi128")
    np.testing.assert_allclose(rec["pos"].values[:128], expected, atol=1e-9)
    assert np.isnan(rec["pos"].values[128:]).all()  # EXG channels: no template position
    # A1, C3, F1 ... are 10-05 names too: their positions are BioSemi's, not 10-05's
    c3 = list(rec["channel"].values).index("C3")
    std = _mne_template_locs(_raw(["C3"]), "standard_1005")[0]
    assert np.linalg.norm(rec["pos"].values[c3] - std) > 0.02


def test_egi_labels_get_an_egi_net_or_none():
    assert naming_system([f"E{i}" for i in range(1, 129)] + ["Cz"]) == "GSN-HydroCel-128"
    assert naming_system([f"E{i}" for i in range(1, 300)]) is None  # no net holds E257..E299
    assert naming_system(["Fp1", "C3", "Cz", "A1"]) == "standard_1005"
    assert naming_system(["C3", "C4", "F3", "F4"]) == "standard_1005"  # ties go to 10-05


@pytest.mark.realdata
def test_seeg_sample_takes_its_electrodes_table(sample_data):
    path = sample_data / "ieeg" / "sub-pat01_ses-test_acq-seeg_ieeg.edf"
    rec = read_recording(path, "ieeg")
    import csv

    with open(sample_data / "ieeg" / "sub-pat01_ses-test_acq-seeg_electrodes.tsv") as fh:
        table = {r["name"]: [float(r["x"]), float(r["y"]), float(r["z"])] for r in csv.DictReader(fh, delimiter="\t")
                 if r["x"] != "n/a"}
    names = list(rec["channel"].values)
    assert set(rec["ch_type"].values) == {"seeg"} and set(names) <= set(table)
    assert len(names) == 88
    np.testing.assert_allclose(rec["pos"].values, [np.array(table[n]) / 1000 for n in names])
    assert rec.attrs["pos_frame"] == "LIA"
    aux = dict(zip(rec["aux_channel"].values, rec["aux_type"].values))
    assert aux["EKG1"] == "ecg" and aux["DC01"] == "misc"
    assert rec.sizes["event"] == 3
    # `signalkit ingest ieeg` reads with montage=null (no template): the table still gives positions
    same = read_recording(path, "ieeg", montage=None)
    np.testing.assert_array_equal(same["pos"].values, rec["pos"].values)
