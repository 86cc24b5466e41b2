"""Measurement helpers of the peer benchmarks: steady-state window access and per-epoch clocks."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.data_path import BATCH, one_run  # noqa: E402
from benchmarks.decoding_quality import EpochClock  # noqa: E402


class Counting(torch.utils.data.Dataset):
    """``n`` items of shape (2, 3); counts reads."""

    def __init__(self, n: int):
        self.n, self.reads = n, 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        self.reads += 1
        return {"x": torch.full((2, 3), float(i))}


def test_one_run_times_whole_epochs_after_a_warm_up_epoch():
    ds = Counting(100)
    r = one_run(ds, None, workers=0, seed=0, min_windows=250)
    assert r["n"] == 300  # whole epochs of 100 until >= 250
    assert ds.reads == 400  # plus the untimed first (warm-up) epoch
    assert r["first"] > 0 and r["wps"] > 0 and r["cps"] > 0
    assert BATCH == 64


def test_epoch_clock_refuses_runs_without_optimiser_steps():
    clock = EpochClock()
    for steps in (3, 3, 2):
        clock.begin()
        for _ in range(steps):
            clock.step()
        clock.end()
    secs, mean_steps = clock.summary()
    assert secs >= 0 and mean_steps == pytest.approx(8 / 3)
    empty = EpochClock()
    empty.begin()
    empty.end()  # an epoch whose every batch was dropped (drop_last with < batch_size windows)
    with pytest.raises(RuntimeError, match="never took an optimiser step"):
        empty.summary()
