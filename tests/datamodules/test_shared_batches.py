"""Worker batches through reused shared-memory slots (``datamodules.shared_batches``).

Every batch that comes out of a 2-worker loader must equal the batch built in this process for
the same indices, whether the consumer drops each batch (slots are reused) or keeps them all
(slots run out and workers fall back to fresh segments), and a kept batch must never change
when later batches arrive.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

from signalkit.datamodules import shared_batches
from signalkit.datamodules.collate import collate_sensor
from signalkit.datamodules.windows import WindowDataset, build_sensor_index
from signalkit.store import open_store

BATCH = 8


@pytest.fixture(scope="module")
def dataset(mi_store) -> WindowDataset:
    store = open_store(mi_store)
    return WindowDataset(store, build_sensor_index(store, 2.0, events=["left_hand", "right_hand"]))


def _order(n: int, batches: int) -> list[list[int]]:
    rng = np.random.default_rng(5)
    return [rng.choice(n, BATCH, replace=False).tolist() for _ in range(batches)]


def _loader(ds, order):
    return torch.utils.data.DataLoader(ds, batch_sampler=order, num_workers=2, collate_fn=collate_sensor)


def _expected(ds, picks):
    return ds.__getitems__(picks)


def test_dropped_batches_reuse_slots_and_match(dataset):
    order = _order(len(dataset), 3 * shared_batches.N_SLOTS * 2)
    seen = 0
    for picks, batch in zip(order, _loader(dataset, order)):
        ref = _expected(dataset, picks)
        torch.testing.assert_close(batch["x"], ref["x"], rtol=0, atol=0)
        assert torch.equal(batch["y"], ref["y"]) and torch.equal(batch["rec"], ref["rec"])
        seen += 1
        del batch
    assert seen == len(order)
    assert shared_batches.describe()["mapped"], "the workers' rings never reached this process"


def test_kept_batches_stay_intact(dataset):
    """The consumer holds every batch: the rings fill up, workers must not overwrite them."""
    order = _order(len(dataset), 4 * shared_batches.N_SLOTS * 2)
    kept = list(_loader(dataset, order))
    gc.collect()
    assert len(kept) == len(order)
    for picks, batch in zip(order, kept):
        torch.testing.assert_close(batch["x"], _expected(dataset, picks)["x"], rtol=0, atol=0)


def test_slot_is_freed_only_when_every_view_is_gone():
    """Main-process side of the protocol, on a ring built here."""
    ring = shared_batches.WorkerSlots(numel=12, n_slots=2)
    view, ticket = ring.claim((3, 4))
    view.fill_(7.0)
    x = shared_batches.take_slot(*shared_batches.ticket_state(ticket))
    part = x[1:]  # a view outliving the batch tensor keeps the slot
    del x
    gc.collect()
    assert ring.flags[ticket[1]] == 1
    assert torch.equal(part, torch.full((2, 4), 7.0))
    del part
    gc.collect()
    assert ring.flags[ticket[1]] == 0


def test_full_ring_claims_nothing():
    ring = shared_batches.WorkerSlots(numel=4, n_slots=2)
    assert ring.claim((4,)) is not None and ring.claim((2, 2)) is not None
    assert ring.claim((4,)) is None


def test_released_slot_is_claimed_again():
    """A batch that fails while being filled gives its slot back (no slot leaks per failure)."""
    ring = shared_batches.WorkerSlots(numel=4, n_slots=1)
    _, ticket = ring.claim((4,))
    assert ring.claim((4,)) is None
    shared_batches.release_slot(ticket)
    assert ring.claim((4,)) is not None
