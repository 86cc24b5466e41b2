"""A training loader that a checkpoint can stop and restart in the middle of an epoch.

Lightning saves the state of every training dataloader that has ``state_dict`` /
``load_state_dict`` with a checkpoint, and restores it before it builds the iterator of the
resumed epoch. :class:`ResumableDataLoader` uses that to continue an interrupted epoch with
exactly the batches the interrupted run had not seen yet:

- :class:`EpochShuffleSampler` draws the epoch's permutation from ``(seed, epoch)`` only (as
  ``DistributedSampler`` does), not from the global torch RNG, so the resumed run rebuilds the
  same order;
- the loader counts the batches it has handed out in the current epoch; after a restore it
  skips that many batches of the permutation (indices only: no window is read twice);
- the loader's own ``generator`` (worker base seeds) is restored to its state at the start of
  the interrupted epoch, and creating its iterator draws nothing from the global torch RNG, so
  a restored global RNG state (see ``signalkit.training``) continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler


class EpochShuffleSampler(Sampler[int]):
    """A permutation of ``range(n)`` that depends only on ``(seed, epoch)``.

    Args:
        n: number of items.
        seed: base seed; epoch ``e`` uses ``seed + e`` (the ``DistributedSampler`` rule).

    ``set_epoch`` is called by Lightning at each epoch start. ``skip_next(k)`` makes the next
    iteration start at position ``k`` of its permutation (once).
    """

    def __init__(self, n: int, seed: int = 0):
        self.n = int(n)
        self.seed = int(seed)
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip_next(self, k: int) -> None:
        self._skip = max(0, int(k))

    def permutation(self, epoch: int | None = None) -> list[int]:
        """The full order of epoch ``epoch`` (default: the current one)."""
        g = torch.Generator()
        g.manual_seed((self.seed + (self.epoch if epoch is None else int(epoch))) % (1 << 63))
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self) -> Iterator[int]:
        start, self._skip = self._skip, 0
        yield from self.permutation()[start:]

    def __len__(self) -> int:
        return self.n


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over an :class:`EpochShuffleSampler` whose position in the epoch is
    saved in Lightning checkpoints (``state_dict``) and restored on resume (``load_state_dict``).

    Build it like a ``DataLoader`` with ``sampler=EpochShuffleSampler(...)`` and a
    ``generator``. The state is ``{"epoch", "seed", "batches", "generator"}``: the epoch being
    iterated, the sampler seed, the batches handed out in that epoch, and the generator state
    at the start of that epoch (a ByteTensor, so checkpoints still load with ``weights_only``).
    """

    _batches: int = 0
    _epoch_start: dict[str, Any] | None = None
    _resume: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        # a generator: nothing runs until the first batch is asked for, i.e. after Lightning's
        # set_epoch, so the sampler (and worker prefetch) sees the epoch being iterated
        sampler = self.sampler
        if not isinstance(sampler, EpochShuffleSampler):  # Lightning swapped it (overfit_batches): plain loader
            yield from super().__iter__()
            return
        resume, self._resume = self._resume, None
        skip = 0
        if resume is not None and int(resume["epoch"]) == sampler.epoch:
            if isinstance(resume.get("generator"), torch.Tensor) and self.generator is not None:
                self.generator.set_state(resume["generator"])
            skip = int(resume["batches"])
            sampler.skip_next(skip * int(self.batch_size or 1))
        self._epoch_start = {"epoch": sampler.epoch, "seed": sampler.seed,
                             "generator": self.generator.get_state() if self.generator is not None else None}
        self._batches = skip
        for batch in super().__iter__():
            self._batches += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        if not isinstance(self.sampler, EpochShuffleSampler):
            return {}
        start = self._epoch_start or {"epoch": self.sampler.epoch, "seed": self.sampler.seed, "generator": None}
        return {**start, "batches": int(self._batches)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state or not isinstance(self.sampler, EpochShuffleSampler):
            return
        self.sampler.seed = int(state["seed"])  # the interrupted run's order, whatever this process seeded
        self.sampler.set_epoch(int(state["epoch"]))
        self._resume = dict(state)


def resumable_loader(dataset, *, batch_size: int, seed: int, **kwargs: Any) -> ResumableDataLoader:
    """A shuffled :class:`ResumableDataLoader` over ``dataset`` (``kwargs`` go to ``DataLoader``)."""
    return ResumableDataLoader(dataset, batch_size=batch_size, sampler=EpochShuffleSampler(len(dataset), seed),
                               generator=torch.Generator().manual_seed(int(seed) % (1 << 63)), **kwargs)
