"""The training loader's order depends only on (seed, epoch), and a loader restored from the state
saved after k batches yields exactly the batches the first one had not yet yielded."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from signalkit.datamodules.samplers import EpochShuffleSampler, ResumableDataLoader, resumable_loader


def _loader(num_workers: int = 0, seed: int = 11) -> ResumableDataLoader:
    return resumable_loader(TensorDataset(torch.arange(23)), batch_size=4, seed=seed, num_workers=num_workers)


def _ids(batches) -> list[list[int]]:
    return [b[0].tolist() for b in batches]


def test_order_depends_only_on_seed_and_epoch():
    a, b = _loader(), _loader()
    b.sampler.set_epoch(1)
    e0, e1 = _ids(a), _ids(b)
    assert sorted(sum(e0, [])) == list(range(23)) and e0 != e1  # a permutation, reshuffled per epoch
    g = torch.Generator().manual_seed(11 + 1)
    assert sum(e1, []) == torch.randperm(23, generator=g).tolist()  # the DistributedSampler rule
    torch.manual_seed(123)  # the global RNG plays no part
    before = torch.get_rng_state()
    assert _ids(_loader()) == e0
    assert torch.equal(torch.get_rng_state(), before)  # and iterating draws nothing from it
    assert _ids(_loader(seed=12)) != e0


@pytest.mark.parametrize("num_workers", [0, 2])
def test_restored_loader_yields_the_remaining_batches(num_workers):
    full = _loader(num_workers)
    full.sampler.set_epoch(3)
    expected = _ids(full)
    first = _loader(num_workers)
    first.sampler.set_epoch(3)
    it = iter(first)
    seen = [next(it)[0].tolist() for _ in range(2)]
    state = first.state_dict()
    assert (state["epoch"], state["seed"], state["batches"]) == (3, 11, 2)
    resumed = _loader(num_workers, seed=999)  # another process: its own seed is replaced by the saved one
    resumed.load_state_dict(state)
    rest = _ids(resumed)
    assert seen + rest == expected and len(rest) == len(expected) - 2
    assert resumed.state_dict()["batches"] == len(expected)  # counts on from the restored position
    resumed.sampler.set_epoch(4)  # the restored position applies once, to its own epoch
    assert len(_ids(resumed)) == len(expected)


def test_state_of_another_epoch_is_not_applied():
    loader = _loader()
    loader.load_state_dict({"epoch": 0, "seed": 11, "batches": 6, "generator": None})
    loader.sampler.set_epoch(1)  # the checkpoint was taken at the end of epoch 0
    assert len(_ids(loader)) == 6 and isinstance(loader.sampler, EpochShuffleSampler)


def test_loader_with_a_replaced_sampler_is_a_plain_loader():
    """Lightning rebuilds the loader with a SequentialSampler for ``overfit_batches``."""
    from torch.utils.data import SequentialSampler

    ds = TensorDataset(torch.arange(10))
    loader = ResumableDataLoader(ds, batch_size=4, sampler=SequentialSampler(ds))
    assert _ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and loader.state_dict() == {}
    loader.load_state_dict({})
    assert len(_ids(loader)) == 3
