"""Batch collation for sensor windows whose channel count differs (mixed montages)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import get_worker_info

from signalkit.datamodules.loading.shared_batches import slot_array, take_slot, ticket_state


def collate_sensor(samples: Sequence[dict] | dict) -> dict:
    """Stack samples into a Batch, padding channels to the largest montage.

    Each sample holds ``x (C_i, T)``, ``pos (C_i, 3)``, ``ch_type (C_i,)`` and optionally ``y``
    and ``rec`` (recording index). Returns ``x (B, C, T)``, ``pos (B, C, 3)``,
    ``ch_type (B, C)``, ``ch_mask (B, C)`` (True for real channels), ``y (B, ...)`` and ``rec (B,)``.
    """
    if isinstance(samples, dict):  # already a Batch, assembled by WindowDataset.__getitems__
        return samples
    n_ch = max(s["x"].shape[0] for s in samples)
    t = samples[0]["x"].shape[-1]
    b = len(samples)
    x = torch.zeros(b, n_ch, t, dtype=samples[0]["x"].dtype)
    pos = torch.zeros(b, n_ch, 3)
    ch_type = torch.zeros(b, n_ch, dtype=torch.long)
    mask = torch.zeros(b, n_ch, dtype=torch.bool)
    for i, s in enumerate(samples):
        c = s["x"].shape[0]
        x[i, :c] = s["x"]
        pos[i, :c] = s["pos"]
        ch_type[i, :c] = s["ch_type"]
        mask[i, :c] = True
    batch = {"x": x, "pos": pos, "ch_type": ch_type, "ch_mask": mask}
    if "y" in samples[0]:
        batch["y"] = torch.stack([torch.as_tensor(s["y"]) for s in samples])
    if "rec" in samples[0]:
        batch["rec"] = torch.tensor([int(s["rec"]) for s in samples])
    return batch


def batch_array(shape: tuple[int, ...], zero: bool) -> tuple[torch.Tensor, np.ndarray, tuple | None]:
    """A float32 batch tensor, its numpy view and its shared-slot ticket, to be filled in place.

    In a DataLoader worker the tensor is a reused slot of the worker's shared-memory ring
    (:mod:`~signalkit.datamodules.loading.shared_batches`; the ticket names it), or, when no slot is free,
    a fresh shared segment as ``torch.utils.data.default_collate`` makes (ticket None). Either
    way, sending it to the main process copies nothing through the pipe.
    """
    if get_worker_info() is not None:
        got = slot_array(shape, zero)
        if got is not None:
            return got
        numel = math.prod(shape)
        storage = torch.empty(0)._typed_storage()._new_shared(numel, device="cpu")
        out = torch.empty(0).new(storage).view(shape)
        if zero:
            out.zero_()
        return out, out.numpy(), None
    arr = (np.zeros if zero else np.empty)(shape, dtype=np.float32)
    return torch.from_numpy(arr), arr, None


def _batch_from_worker(x: torch.Tensor, small: dict[str, np.ndarray]) -> dict:
    out = {"x": x}
    out.update((k, torch.from_numpy(v)) for k, v in small.items())
    return out


def _batch_from_slot(slot_state: tuple, small: dict[str, np.ndarray]) -> dict:
    return _batch_from_worker(take_slot(*slot_state), small)


class WorkerBatch(dict):
    """A Batch built in a DataLoader worker, pickled for the trip to the main process with the
    small tensors (``pos``, ``ch_type``, ``ch_mask``, ``rec``, ``y``) by value and ``x`` either
    as a slot of the worker's reused shared ring (``ticket`` from :func:`batch_array`; the slot is
    freed when the main process drops the batch) or as one fresh shared segment. Arrives as a
    plain ``dict`` of tensors.
    """

    def __init__(self, *args, ticket: tuple | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ticket = ticket

    def __reduce__(self):
        small = {k: v.numpy() for k, v in self.items() if k != "x"}
        if self.ticket is not None:
            return _batch_from_slot, (ticket_state(self.ticket), small)
        return _batch_from_worker, (self["x"], small)
