"""Weather test metrics under DDP: per-init values of every rank are gathered, each init time once."""

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
    ranks = [[times[i], mse[i]] for i in idx]
    out = gather_per_init({"mse@6": mse[idx[0]]}, times[idx[0]], _fake_gather(ranks))
    np.testing.assert_array_equal(out["mse@6"], mse)  # all 7, init 0 once, in time order
    rmse_two = np.sqrt(out["mse@6"].mean(0))
    rmse_one = np.sqrt(mse.mean(0))
    np.testing.assert_allclose(rmse_two, rmse_one)
    naive = np.sqrt(np.concatenate([mse[i] for i in idx]).mean(0))  # what double counting would give
    assert not np.allclose(naive, rmse_one)
