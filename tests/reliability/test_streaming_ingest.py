"""Large sensor files stream into the store: the reader returns a lazy signal read block by block
with ``raw.get_data(start, stop)``, and the store written from it is the one the in-memory path
writes, byte for byte. (The memory bound itself is tested in ``test_large_edf.py``.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import mne
import numpy as np
import pytest

import signalkit.io.mne_reader as mne_reader
from signalkit.errors import InputError
from signalkit.io import expand_sources
from signalkit.store import ingest, open_store


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_streamed_store_is_byte_identical_to_in_memory_store(small_edf_dir, tmp_path, monkeypatch):
    files = expand_sources(small_edf_dir, "eeg")[:3]
    ingest(files, str(tmp_path / "memory.zarr"), "eeg", progress=False)
    monkeypatch.setattr(mne_reader, "_STREAM_BYTES", 0)  # every file takes the streaming path
    monkeypatch.setattr(mne_reader, "_READ_BLOCK", 19 * 1000)  # several (unaligned) blocks per file
    rec = mne_reader.read_sensor(files[0])
    assert rec["signal"].chunks is not None and len(rec["signal"].chunks[1]) > 3  # lazy, in blocks
    raw = mne.io.read_raw(files[0], preload=True, verbose="error")
    expected = raw.get_data(picks="eeg").astype(np.float32)
    np.testing.assert_array_equal(rec["signal"].values, expected)
    ingest(files, str(tmp_path / "streamed.zarr"), "eeg", progress=False)
    memory, streamed = _digest(tmp_path / "memory.zarr"), _digest(tmp_path / "streamed.zarr")
    assert len(memory) > 10 and streamed == memory


def test_streamed_nan_block_fails_cleanly(tmp_path, monkeypatch):
    """A NaN found in a block while writing is an InputError naming the file and channel; no store."""
    data = np.random.default_rng(0).standard_normal((3, 2000)) * 1e-5
    data[1, 1500] = np.nan
    raw = mne.io.RawArray(data, mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg"), verbose="error")
    path = tmp_path / "nan_raw.fif"
    raw.save(path, verbose="error")
    monkeypatch.setattr(mne_reader, "_STREAM_BYTES", 0)
    monkeypatch.setattr(mne_reader, "_READ_BLOCK", 3 * 500)
    rec = mne_reader.read_sensor(path)  # lazy: the first sample is fine
    assert rec["signal"].chunks is not None
    store = tmp_path / "s.zarr"
    with pytest.raises(InputError, match=r"nan_raw\.fif: NaN or Inf in the signal of channel\(s\) Cz"):
        ingest([str(path)], str(store), "eeg", progress=False)
    assert not store.exists() and [p.name for p in tmp_path.iterdir()] == ["nan_raw.fif"]


def test_preprocessing_a_large_file_warns_that_it_loads_it(small_edf_dir, tmp_path, monkeypatch):
    files = expand_sources(small_edf_dir, "eeg")[:1]
    monkeypatch.setattr(mne_reader, "_STREAM_BYTES", 1000)
    with pytest.warns(UserWarning, match=r"preprocessing loads the whole recording into memory"):
        ingest(files, str(tmp_path / "f.zarr"), "eeg", {"preprocess": {"l_freq": 1.0}}, progress=False)
    st = open_store(tmp_path / "f.zarr")
    ref = mne.io.read_raw(files[0], preload=True, verbose="error").filter(1.0, None, picks="data", verbose="error")
    np.testing.assert_array_equal(st[next(iter(st))]["signal"].values, ref.get_data(picks="eeg").astype(np.float32))
