"""Weather test metrics under DDP: per-sample values of every rank are gathered, each (recording, init) once."""

from __future__ import annotations

import numpy as np
import torch

from signalkit.tasks.forecasting import gather_per_init


def _fake_gather(per_rank: list[dict]):
    """Stands in for ``all_gather`` over ranks whose values are given, in call order."""
    calls = iter(range(10**6))

    def gather(t: torch.Tensor) -> torch.Tensor:
        i = next(calls)
        return torch.stack([torch.as_tensor(r[i]) for r in per_rank])

    return gather


def test_gather_keeps_each_init_once_and_matches_one_process():
    rng = np.random.default_rng(0)
    n, v = 7, 2
    times = np.arange(n, dtype=np.int64) * 3600 * 10**9
    mse = rng.random((n, v))
    # DistributedSampler with 2 ranks: 7 samples padded to 8, rank 0 gets 0,2,4,6 and rank 1 gets 1,3,5,0
    idx = [np.array([0, 2, 4, 6]), np.array([1, 3, 5, 0])]
    keys = np.stack([np.zeros(n, np.int64), times], 1)
    ranks = [[keys[i], mse[i]] for i in idx]
    out = gather_per_init({"mse@6": mse[idx[0]]}, keys[idx[0]], _fake_gather(ranks))
    np.testing.assert_array_equal(out["mse@6"], mse)  # all 7, init 0 once, in time order
    rmse_two = np.sqrt(out["mse@6"].mean(0))
    rmse_one = np.sqrt(mse.mean(0))
    np.testing.assert_allclose(rmse_two, rmse_one)
    naive = np.sqrt(np.concatenate([mse[i] for i in idx]).mean(0))  # what double counting would give
    assert not np.allclose(naive, rmse_one)


def test_two_recordings_sharing_init_times_both_count():
    """Two recordings (e.g. two ensemble members or regions) with the same 4 init times: 8 samples,
    padded by the sampler to 10 over 2 ranks; de-duplicating by init time alone would keep 4."""
    rng = np.random.default_rng(1)
    times = np.tile(np.arange(4, dtype=np.int64) * 6 * 3600 * 10**9, 2)
    keys = np.stack([np.repeat([0, 1], 4).astype(np.int64), times], 1)  # (8, 2): rec, init
    mse = rng.random((8, 1))
    idx = [np.array([0, 2, 4, 6, 0]), np.array([1, 3, 5, 7, 1])]
    ranks = [[keys[i], mse[i]] for i in idx]
    out = gather_per_init({"mse@6": mse[idx[0]]}, keys[idx[0]], _fake_gather(ranks))
    np.testing.assert_array_equal(out["mse@6"], mse)  # all 8 once, ordered by (recording, init)
    np.testing.assert_allclose(np.sqrt(out["mse@6"].mean(0)), np.sqrt(mse.mean(0)))
