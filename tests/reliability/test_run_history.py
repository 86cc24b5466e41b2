"""Run folders keep their history (issue #17, point 4): a resume appends to ``metrics.csv``, a run
that fails before training leaves the previous run's files as they were, ``metrics.json`` is strict
JSON; and the CLI's training run prints no third-party warning and writes no ``last-v1.ckpt``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from signalkit.run_folder import write_json

from .guard_utils import assert_one_line, run_cli, tree_hashes
from tests.support import tiny_overrides


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def finished_run(small_store, tmp_path_factory):
    """One tiny finished run (1 epoch x 3 steps, mid-epoch last.ckpt every step)."""
    from signalkit.cli import main

    out = tmp_path_factory.mktemp("history") / "run"
    code = main(["train", *tiny_overrides(small_store, out, epochs=1),
                 "callbacks.checkpoint.every_n_train_steps=1"])
    assert code == 0
    return out


def test_cli_run_is_quiet_and_writes_one_last_checkpoint(small_store, tmp_path, capsys):
    code, err = run_cli(capsys, "train", *tiny_overrides(small_store, tmp_path / "r", epochs=1),
                        "callbacks.checkpoint.every_n_train_steps=1")
    assert code == 0
    assert not [line for line in err if "Warning" in line or "warn" in line.lower()], err
    names = sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir())
    assert "last.ckpt" in names and not [n for n in names if n.startswith("last-v")], names


def test_resume_appends_to_metrics_csv(finished_run, small_store, capsys, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    first = _rows(run / "metrics.csv")
    assert first
    code, err = run_cli(capsys, "train", *tiny_overrides(small_store, run, epochs=2), "ckpt_path=last")
    assert code == 0, err
    rows = _rows(run / "metrics.csv")
    assert len(rows) > len(first)
    assert [r.get("step") for r in rows[:len(first)]] == [r.get("step") for r in first]
    epochs = {r["epoch"] for r in rows if r.get("epoch")}
    assert {"0", "1"} <= epochs, epochs


def test_failed_resume_leaves_the_run_as_it_was(finished_run, small_store, capsys):
    before = tree_hashes(finished_run)
    code, err = run_cli(capsys, "train", *tiny_overrides(small_store, finished_run), "ckpt_path=nope.ckpt")
    assert_one_line(code, err, "ckpt_path:", "nope.ckpt")
    code, err = run_cli(capsys, "train", *tiny_overrides(small_store, finished_run),
                        "data.events={left_hand: 0, rigth_hand: 1}")  # fails before training
    assert_one_line(code, err, "data.events:", "rigth_hand")
    code, err = run_cli(capsys, "train", *tiny_overrides(small_store, finished_run), "data.batch_size=0")
    assert_one_line(code, err, "data.batch_size:")
    assert tree_hashes(finished_run) == before


def test_metrics_json_is_strict_json(finished_run, tmp_path):
    _strict((finished_run / "metrics.json").read_text())
    write_json(tmp_path / "m.json", {"a": math.nan, "b": [math.inf, 1.0], "c": {"d": -math.inf}, "e": 2.5})
    assert _strict((tmp_path / "m.json").read_text()) == {"a": None, "b": [None, 1.0], "c": {"d": None}, "e": 2.5}
