"""callbacks.cpu_time_budget_s stops training by CPU time; a bad value names the config key."""

from __future__ import annotations

import csv
import json
import time

from signalkit.cli import main
from signalkit.time_budget import CPUTimeBudget


class _Trainer:
    should_stop = False


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_budget_stops_only_after_the_cpu_time_is_used():
    cb, trainer = CPUTimeBudget(0.2), _Trainer()
    cb.on_fit_start(trainer, None)
    time.sleep(0.3)  # wall time passes, CPU time does not
    cb.on_train_batch_end(trainer, None)
    assert not trainer.should_stop
    _burn(0.25)
    cb.on_train_batch_end(trainer, None)
    assert trainer.should_stop and cb.used() >= 0.2


def test_training_stops_within_one_batch_of_the_budget(mi_store, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "experiment=eeg/motor_imagery", f"data.store={mi_store}", f"output_dir={out}",
                 "trainer.max_epochs=50", "data.batch_size=8", "trainer.enable_progress_bar=false",
                 "callbacks.cpu_time_budget_s=0.01", "trainer.log_every_n_steps=1"])
    assert code == 0, capsys.readouterr().err
    with open(out / "metrics.csv") as f:
        steps = {int(row["step"]) for row in csv.DictReader(f) if row.get("train/loss")}
    assert steps == {0}  # the first batch used the budget: training stopped after it
    assert "test/balanced_accuracy" in json.loads((out / "metrics.json").read_text())


def test_negative_budget_names_the_key(mi_store, tmp_path, capsys):
    code = main(["train", "experiment=eeg/motor_imagery", f"data.store={mi_store}", f"output_dir={tmp_path / 'r'}",
                 "callbacks.cpu_time_budget_s=-1"])
    assert code == 2 and "callbacks.cpu_time_budget_s" in capsys.readouterr().err
