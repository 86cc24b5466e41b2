"""Measurement helpers of the peer benchmarks: steady-state window access and per-epoch clocks."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.data_path import BATCH, _cpu_of, one_run  # noqa: E402
from benchmarks.decoding_quality import (  # noqa: E402
    ALL_TASKS, EPOCHS, RECIPES, EpochClock, leave_one_group_out, paired_difference, paired_subject_folds)
from benchmarks.decoding_quality import BATCH as DECODING_BATCH  # noqa: E402  (data_path has its own BATCH)


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


def test_epoch_clock_is_the_median_epoch():
    clock = EpochClock()
    for secs in (0.0, 0.05, 0.0):
        clock.begin()
        t = time.process_time()
        while time.process_time() - t < secs:
            pass
        clock.end()
    assert len(clock.epochs) == 3 and clock.per_epoch() < 0.02


def test_leave_one_run_out_folds():
    runs = np.repeat([3, 7, 11], 4)
    folds = leave_one_group_out(runs)
    assert [set(runs[te].tolist()) for _, te in folds] == [{3}, {7}, {11}]
    for tr, te in folds:
        assert not set(tr) & set(te) and len(tr) + len(te) == 12 and len(set(runs[tr].tolist())) == 2


def test_subject_folds_hold_out_one_subject_of_each_group():
    subject = np.repeat(["a1", "a2", "a3", "c1", "c2", "c3"], 5)
    group = np.asarray([s[0] for s in subject])
    folds = paired_subject_folds(subject, group)
    assert len(folds) == 3
    held = [set(subject[te].tolist()) for _, te in folds]
    assert held == [{"a1", "c1"}, {"a2", "c2"}, {"a3", "c3"}]
    for tr, te in folds:
        assert not set(subject[tr].tolist()) & set(subject[te].tolist())


def test_paired_difference_is_the_mean_and_t_interval_of_run_differences():
    m, lo, hi = paired_difference([0.5, 1.0], [0.5, 0.5])
    # differences 0 and 0.5: mean 0.25, sd 0.3536, se 0.25, t(0.975, df=1) = 12.706
    assert m == pytest.approx(0.25) and lo == pytest.approx(0.25 - 3.1765, abs=1e-3)
    assert hi == pytest.approx(0.25 + 3.1765, abs=1e-3)
    assert paired_difference([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]) == (1.0, 1.0, 1.0)


def test_every_decoding_task_runs_an_existing_recipe_with_its_family_model():
    from signalkit.config import compose

    assert set(RECIPES) == set(ALL_TASKS)
    for task, recipe in RECIPES.items():
        cfg = compose("train", [f"experiment=eeg/{recipe}"])
        assert cfg.model.name == ("eeg_bandpower" if task.startswith("mm_") else "eeg_erp"), (task, cfg.model.name)
        # a user's `signalkit train experiment=eeg/<recipe>` trains what the benchmark measured
        assert (cfg.trainer.max_epochs, cfg.data.batch_size) == (EPOCHS, DECODING_BATCH), recipe
