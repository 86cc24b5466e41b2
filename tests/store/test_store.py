"""The zarr store: values round-trip, re-ingest reuses unchanged inputs, writes are atomic."""

from __future__ import annotations

import os

import numpy as np
import pytest

import signalkit
from signalkit.errors import InputError, StoreError
from signalkit.io import expand_sources, read_recording
from signalkit.store import SCHEMA_VERSION, ingest, open_store


@pytest.fixture()
def two_files(mi_edf_dir):
    return expand_sources(mi_edf_dir, "eeg")[:2]


def test_roundtrip_and_metadata(two_files, tmp_path):
    store = ingest(two_files, str(tmp_path / "s.zarr"), "eeg", progress=False)
    s = open_store(store)
    assert s.attrs["schema_version"] == SCHEMA_VERSION and s.attrs["modality"] == "eeg"
    assert s.attrs["signalkit_version"] == signalkit.__version__
    assert len(s) == 2
    for rid, path in zip(s, two_files):
        rec = read_recording(path, "eeg")
        ds = s[rid]
        np.testing.assert_array_equal(ds["signal"].values, rec["signal"].values)
        np.testing.assert_array_equal(ds["pos"].values, rec["pos"].values)
        np.testing.assert_array_equal(ds["event_onset_s"].values, rec["event_onset_s"].values)
        assert ds.attrs["subject"] == rec.attrs["subject"]
        assert s.provenance(rid)["sha256"] == rec.attrs["sha256"]
        assert ds["signal"].encoding["chunks"][1] < ds.sizes["time"]  # chunked along time


def test_reingest_skips_unchanged_and_rebuilds_on_config_change(two_files, tmp_path, monkeypatch):
    store = str(tmp_path / "s.zarr")
    ingest(two_files, store, "eeg", progress=False)
    import signalkit.store as st

    calls = []
    real = st._read_and_write
    monkeypatch.setattr(st, "_read_and_write", lambda args: calls.append(args[0]) or real(args))
    ingest(two_files, store, "eeg", progress=False)
    assert calls == []  # same inputs, same config: groups copied, nothing read again
    before = open_store(store)["sub-01_task-mi_run-1_eeg"]["signal"].values
    ingest(two_files, store, "eeg", {"preprocess": {"l_freq": 1.0}}, progress=False)
    assert len(calls) == 2  # another config: every input read again
    after = open_store(store)["sub-01_task-mi_run-1_eeg"]["signal"].values
    assert not np.allclose(before, after)
    assert [p for p in os.listdir(tmp_path) if p != "s.zarr"] == []  # no partial or backup left


def test_failed_ingest_leaves_previous_store(two_files, tmp_path):
    store = str(tmp_path / "s.zarr")
    ingest(two_files[:1], store, "eeg", progress=False)
    with pytest.raises(InputError):
        ingest([two_files[0], str(tmp_path / "missing.edf")], store, "eeg", progress=False)
    s = open_store(store)
    assert len(s) == 1  # the previous store is intact
    assert sorted(os.listdir(tmp_path)) == ["s.zarr"]
    with pytest.raises(InputError):
        ingest([str(tmp_path / "missing.edf")], str(tmp_path / "new.zarr"), "eeg", progress=False)
    assert not (tmp_path / "new.zarr").exists()


def test_parallel_ingest_matches_serial(mi_edf_dir, tmp_path):
    files = expand_sources(mi_edf_dir, "eeg")[:3]
    a = open_store(ingest(files, str(tmp_path / "a.zarr"), "eeg", jobs=1, progress=False))
    b = open_store(ingest(files, str(tmp_path / "b.zarr"), "eeg", jobs=2, progress=False))
    assert list(a) == list(b)
    for rid in a:
        np.testing.assert_array_equal(a[rid]["signal"].values, b[rid]["signal"].values)


def test_fsspec_memory_store(two_files):
    store = ingest(two_files[:1], "memory://stores/mem.zarr", "eeg", progress=False)
    s = open_store(store)
    rid = next(iter(s))
    ref = read_recording(two_files[0], "eeg")
    np.testing.assert_array_equal(s[rid]["signal"].values, ref["signal"].values)


def test_open_store_errors(tmp_path):
    with pytest.raises(StoreError, match="no signalkit store"):
        open_store(tmp_path / "nothing.zarr")
