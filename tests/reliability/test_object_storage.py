"""Stores on object storage through fsspec: ingest into and train from ``memory://``."""

from __future__ import annotations

import uuid

import fsspec
import pytest

from signalkit.io import expand_sources
from signalkit.store import ingest, open_store
from signalkit.training import train
from tests.support import same_snapshot, store_snapshot
from tests.support import tiny_overrides


@pytest.fixture
def memory_store(small_edf_dir):
    url = f"memory://signalkit-test-{uuid.uuid4().hex[:8]}/mi.zarr"
    ingest(expand_sources(small_edf_dir, "eeg"), url, "eeg", progress=False)
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    fs.rm(root.rsplit("/", 1)[0], recursive=True)


def test_ingest_into_memory_equals_local(memory_store, small_store):
    assert same_snapshot(store_snapshot(memory_store), store_snapshot(small_store))
    fs, root = fsspec.core.url_to_fs(memory_store)
    parent = root.rsplit("/", 1)[0]
    assert [p.rsplit("/", 1)[-1] for p in fs.ls(parent, detail=False)] == ["mi.zarr"]  # no partial left
    # re-ingest (same config: groups copied on the object store) keeps the content
    sources = [open_store(memory_store).provenance(r)["source"] for r in open_store(memory_store)]
    ingest(sources, memory_store, "eeg", progress=False)
    assert same_snapshot(store_snapshot(memory_store), store_snapshot(small_store))


def test_train_from_memory_store(memory_store, tmp_path):
    # num_workers=0: DataLoader workers are separate processes and would not see this memory filesystem
    metrics = train([*tiny_overrides(memory_store, tmp_path / "run", epochs=1), "data.num_workers=0"])
    assert metrics["train/epochs"] == 1.0 and metrics["val/loss"] == metrics["val/loss"]  # finite, not NaN
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
