"""BIDS datasets through mne-bids: identity from the path, channel types and bads from
channels.tsv, events from events.tsv, positions from electrodes.tsv; subjects/tasks filters."""

from __future__ import annotations

import csv

import mne
import numpy as np
import pytest

mne_bids = pytest.importorskip("mne_bids")

from signalkit.errors import ConfigError  # noqa: E402
from signalkit.io import expand_sources, read_recording  # noqa: E402
from signalkit.io.montage import resolve_montage  # noqa: E402

NAMES = ["Fp1", "Fz", "C3", "Cz", "C4", "Pz", "O1", "VEOG"]


@pytest.fixture(scope="module")
def bids_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids")
    src = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(0)
    for sub, task in (("01", "rest"), ("01", "motor"), ("02", "motor")):
        info = mne.create_info(NAMES, 128.0, ["eeg"] * 7 + ["eog"])
        raw = mne.io.RawArray(rng.standard_normal((8, 1280)) * 1e-5, info, verbose="error")
        raw.set_montage(resolve_montage("standard_1005"), on_missing="ignore", verbose="error")
        raw.info["line_freq"] = 50
        fname = src / f"{sub}_{task}_raw.fif"
        raw.save(fname, verbose="error")
        raw = mne.io.read_raw_fif(fname, verbose="error")
        events = np.array([[128, 0, 1], [512, 0, 2], [900, 0, 1]])
        bpath = mne_bids.BIDSPath(subject=sub, session="1", task=task, run="01", datatype="eeg", root=root)
        mne_bids.write_raw_bids(raw, bpath, events=events, event_id={"left": 1, "right": 2}, format="BrainVision",
                                allow_preload=True, overwrite=True, verbose="error")
    # a bad channel and a type change in one channels.tsv
    chan = root / "sub-01" / "ses-1" / "eeg" / "sub-01_ses-1_task-motor_run-01_channels.tsv"
    rows = list(csv.DictReader(open(chan), delimiter="\t"))
    for row in rows:
        if row["name"] == "Pz":
            row["status"] = "bad"
        if row["name"] == "O1":
            row["type"] = "MISC"
    with open(chan, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_bids_dataset_filters(bids_tree):
    all_files = expand_sources(bids_tree, "eeg")
    assert len(all_files) == 3 and all(f.endswith("_eeg.vhdr") for f in all_files)
    assert len(expand_sources(bids_tree, "eeg", subjects=["01"])) == 2
    assert len(expand_sources(bids_tree, "eeg", subjects=[1])) == 2  # the CLI parses subjects=[01] as 1
    with pytest.raises(ConfigError, match="subjects: '07' is not a subject"):
        expand_sources(bids_tree, "eeg", subjects=["07"])
    motor = expand_sources(bids_tree, "eeg", tasks=["motor"], subjects=["sub-02"])
    assert len(motor) == 1 and "sub-02" in motor[0]


def test_bids_recording_is_mne_bids(bids_tree):
    path = [f for f in expand_sources(bids_tree, "eeg", subjects=["01"], tasks=["motor"])][0]
    rec = read_recording(path, "eeg")
    ref = mne_bids.read_raw_bids(mne_bids.get_bids_path_from_fname(path).update(root=bids_tree), verbose="error")
    assert (rec.attrs["subject"], rec.attrs["session"], rec.attrs["run"]) == ("01", "1", "01")
    eeg = [ref.ch_names[i] for i in mne.pick_types(ref.info, eeg=True, exclude=[])]
    assert list(rec["channel"].values) == eeg and "O1" not in eeg  # O1 is MISC in channels.tsv
    assert dict(zip(rec["aux_channel"].values, rec["aux_type"].values)) == {"O1": "misc", "VEOG": "eog"}
    assert list(rec["channel"].values[rec["bad"].values]) == ["Pz"]
    np.testing.assert_array_equal(rec["signal"].values, ref.get_data(picks=eeg).astype(np.float32))
    np.testing.assert_allclose(rec["pos"].values, [ref.info["chs"][ref.ch_names.index(n)]["loc"][:3] for n in eeg])
    assert np.isfinite(rec["pos"].values).all()
    assert list(rec["event_label"].values) == ["left", "right", "left"]
    np.testing.assert_allclose(rec["event_onset_s"].values, [1.0, 4.0, 900 / 128])


def test_cli_ingests_a_bids_dataset_with_filters(bids_tree, tmp_path, capsys):
    from signalkit.cli import main
    from signalkit.store import open_store

    store = tmp_path / "b.zarr"
    assert main(["ingest", "eeg", str(bids_tree), str(store), "subjects=[01]", "tasks=[motor]",
                 "events.mask=255", "progress=false"]) == 0
    st = open_store(store)
    assert len(st) == 1
    rid = next(iter(st))
    assert st.provenance(rid)["subject"] == "01" and list(st[rid]["event_label"].values) == ["left", "right", "left"]
