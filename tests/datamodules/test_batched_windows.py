"""The batched fetch (``WindowDataset.__getitems__``) returns exactly the per-item Batch.

The fast path gathers metadata from padded per-recording tables, copies each window straight
from its chunk file into one array and normalises in one vectorised pass; these tests check it
bit for bit against ``collate_sensor([ds[i] for i in picks])`` and against the store itself, on a
store that mixes a 19- and a 64-channel montage, for memory-mapped, zarr and preloaded reads.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.datamodules.chunk_reader import ChunkMemmap
from signalkit.datamodules.collate import collate_sensor
from signalkit.datamodules.windows import ChannelNorm, WindowDataset, build_sensor_index
from signalkit.store import open_store

EVENTS = ["left_hand", "right_hand"]


@pytest.fixture(scope="module")
def mixed_store(mi_edf_dir, tmp_path_factory) -> str:
    """Two 19-channel recordings and one 64-channel recording in one store."""
    from signalkit.demo import make_motor_imagery
    from signalkit.io import expand_sources
    from signalkit.store import ingest

    out = tmp_path_factory.mktemp("mixed")
    make_motor_imagery(out / "mi64", n_subjects=1, n_trials=4, montage="64", seed=3, first_subject=7)
    files = expand_sources(mi_edf_dir, "eeg")[:2] + expand_sources(out / "mi64", "eeg")
    return ingest(files, str(out / "mixed.zarr"), "eeg", progress=False)


def _norm() -> ChannelNorm:  # known channels of both montages plus one only in the 64-channel one
    return ChannelNorm({"C3": (0.1, 2.0), "Cz": (-0.2, 3.0), "Fp1": (0.0, 0.5), "FC5": (1.0, 4.0)})


def _assert_same(batch: dict, ref: dict) -> None:
    assert batch.keys() == ref.keys()
    for key in ref:
        assert batch[key].dtype == ref[key].dtype, key
        torch.testing.assert_close(batch[key], ref[key], rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["memmap", "zarr", "preload"])
@pytest.mark.parametrize("windows", ["events", "fixed"])
def test_batched_fetch_is_the_per_item_batch(mixed_store, monkeypatch, mode, windows):
    if mode == "zarr":  # the fallback for remote or compressed stores
        monkeypatch.setattr(ChunkMemmap, "open", classmethod(lambda cls, *a: None))
    store = open_store(mixed_store)
    if windows == "events":
        index = build_sensor_index(store, 2.0, events=EVENTS)
    else:  # long windows with a stride that is no divisor of any chunk: many cross a chunk boundary
        index = build_sensor_index(store, 17.3, stride_s=3.1)
    ds = WindowDataset(store, index, _norm(), preload=mode == "preload")
    arrays = ds._open()
    assert all(isinstance(a, ChunkMemmap) for a in arrays) == (mode == "memmap")
    rng = np.random.default_rng(0)
    n_ch = ds._n_ch[ds._rec]
    picks_list = [rng.permutation(len(ds))[:13].tolist(),  # mixed montages in one batch
                  np.flatnonzero(n_ch == 19)[:5].tolist(),  # one montage: no padding
                  np.flatnonzero(n_ch == 64)[:3].tolist(), [len(ds) - 1]]
    assert len(set(n_ch[picks_list[0]])) == 2
    for picks in picks_list:
        _assert_same(ds.__getitems__(picks), collate_sensor([ds[i] for i in picks]))
    if windows == "fixed":
        assert "y" not in ds.__getitems__([0])


def test_batched_fetch_matches_the_store(mixed_store):
    """Independent of ``__getitem__``: ``(signal[:, start:stop] - mean) / std`` in float32, zero padding."""
    store = open_store(mixed_store)
    index = build_sensor_index(store, 17.3, stride_s=3.1)
    norm = _norm()
    ds = WindowDataset(store, index, norm)
    picks = np.random.default_rng(1).permutation(len(ds))[:16].tolist()
    batch = ds.__getitems__(picks)
    crossing = 0
    for k, i in enumerate(picks):
        row = index.iloc[i]
        rec = store[row["recording"]]
        sig = rec["signal"].values[:, row["start"]:row["stop"]]
        mean, std = norm.arrays([str(c) for c in rec["channel"].values])
        c = sig.shape[0]
        np.testing.assert_array_equal(batch["x"][k, :c].numpy(), (sig - mean) / std)
        assert not batch["x"][k, c:].any() and batch["ch_mask"][k].sum() == c
        np.testing.assert_array_equal(batch["pos"][k, :c].numpy(), np.nan_to_num(rec["pos"].values.astype(np.float32), nan=0.0))
        assert batch["rec"][k] == ds._rec[i]
        chunk_t = rec["signal"].encoding["chunks"][1]
        crossing += row["start"] // chunk_t != (row["stop"] - 1) // chunk_t
    assert crossing > 0  # the multi-chunk copy is exercised


def test_read_into_equals_zarr_across_chunks(mixed_store):
    import zarr

    store = open_store(mixed_store)
    rid = list(store)[-1]
    arr = zarr.open_group(mixed_store, mode="r")[rid]["signal"]
    mm = ChunkMemmap.open(mixed_store, arr, f"{rid}/signal")
    ct = mm.chunk_t
    for start, stop in [(0, 1), (ct - 5, ct + 5), (ct - 1, 3 * ct + 2), (2 * ct, 3 * ct)]:
        out = np.full((arr.shape[0], stop - start), np.nan, dtype=np.float32)
        mm.read_into(out, start, stop)
        np.testing.assert_array_equal(out, arr[:, start:stop])
        np.testing.assert_array_equal(mm.read(start, stop), arr[:, start:stop])


def test_worker_batches_arrive_as_the_per_item_batch(mixed_store):
    """Through a worker process: x in the worker's shared ring, small tensors by value, a plain dict."""
    store = open_store(mixed_store)
    index = build_sensor_index(store, 2.0, events=EVENTS)
    ds = WindowDataset(store, index, _norm())
    sampler = [np.random.default_rng(2).permutation(len(ds))[:12].tolist()]
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, num_workers=1, collate_fn=collate_sensor)
    (batch,) = list(loader)
    assert type(batch) is dict
    _assert_same(batch, collate_sensor([ds[i] for i in sampler[0]]))
    assert not batch["pos"].is_shared()  # by value
    batch["y"] += 1  # writable tensors, like the in-process Batch
