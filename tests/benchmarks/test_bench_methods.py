"""Measurement helpers of the peer benchmarks: steady-state window access and per-epoch clocks."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.data_path import BATCH, _cpu_of, one_run  # noqa: E402
from benchmarks.decoding_quality import EpochClock, paired_difference, splits  # noqa: E402


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


def test_cpu_of_reads_a_process_cpu_time():
    import os
    import time

    before, t = _cpu_of([os.getpid()]), time.process_time()
    while time.process_time() - t < 0.15:
        pass
    assert _cpu_of([os.getpid()]) - before == pytest.approx(0.15, abs=0.06)
    assert _cpu_of([2**22 + 12345]) == 0.0  # no such process


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


def test_decoding_splits():
    subject = np.repeat(["a", "b", "c"], 8)
    y = np.tile([0, 1], 12)
    data = {"x": np.zeros((24, 2, 4)), "y": y, "subject": subject}
    ((tr, te),) = splits(data, "within", folds=3, seed=0)  # one model on every subject's first half
    assert len(tr) == len(te) == 12 and not set(tr) & set(te)
    for s in "abc":
        assert (subject[tr] == s).sum() == 4 and (y[tr][subject[tr] == s] == 1).sum() == 2
    ((tr, te),) = splits(data, "cross", folds=3, seed=0)
    assert set(subject[te]) == {"c"} and set(subject[tr]) == {"a", "b"}
    folds = splits(data, "kfold", folds=3, seed=0)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(24))


def test_paired_difference_is_the_mean_and_t_interval_of_run_differences():
    m, lo, hi = paired_difference([0.5, 1.0], [0.5, 0.5])
    # differences 0 and 0.5: mean 0.25, sd 0.3536, se 0.25, t(0.975, df=1) = 12.706
    assert m == pytest.approx(0.25) and lo == pytest.approx(0.25 - 3.1765, abs=1e-3)
    assert hi == pytest.approx(0.25 + 3.1765, abs=1e-3)
    assert paired_difference([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]) == (1.0, 1.0, 1.0)
