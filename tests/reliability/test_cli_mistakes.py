"""Every user mistake of the CLI is one line naming the key or file, exit 2 (issue #17, point 6);
a closed pipe ends quietly; ``trainer.max_time`` exists in every experiment."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files

import pytest

from signalkit.config import compose

from .guard_utils import assert_one_line, run_cli, tree_hashes, write_edf

TRAIN_MISTAKES = [
    ("trainer.max_epochs=abc", "trainer.max_epochs:"),
    ("trainer.max_epochs=1.5", "trainer.max_epochs:"),
    ("data.batch_size=0", "data.batch_size:"),
    ("data.batch_size=-3", "data.batch_size:"),
    ("task.lr=fast", "task.lr:"),
    ("task.lr=0", "task.lr:"),
    ("data.num_workers=two", "data.num_workers:"),
    ("seed=abc", "seed:"),
    ("data.window_s=long", "data.window_s:"),
    ("trainer.gradient_clip_val=big", "trainer.gradient_clip_val:"),
    ("trainer.enable_progress_bar=maybe", "trainer.enable_progress_bar:"),
]


@pytest.mark.parametrize("override,needle", TRAIN_MISTAKES)
def test_train_value_mistakes(capsys, tmp_path, small_store, override, needle):
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "train", "experiment=eeg/motor_imagery", f"data.store={small_store}",
                        f"output_dir={tmp_path / 'run'}", override)
    assert_one_line(code, err, needle)
    assert tree_hashes(tmp_path) == before


@pytest.mark.parametrize("override,needle", [("jobs=abc", "jobs:"), ("jobs=0", "jobs:"),
                                             ("preprocess.l_freq=abc", "preprocess.l_freq:"),
                                             ("preprocess.h_freq=-1", "preprocess.h_freq:")])
def test_ingest_value_mistakes_name_the_key_not_the_file(capsys, tmp_path, override, needle):
    src = write_edf(tmp_path / "rec.edf")
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "ingest", "eeg", src, tmp_path / "s.zarr", override)
    assert_one_line(code, err, needle)
    assert "rec.edf" not in err[0] and not err[0].split(":", 2)[-1].strip().startswith("reader.")
    assert tree_hashes(tmp_path) == before


def test_evaluate_without_arguments(capsys):
    code, err = run_cli(capsys, "evaluate")
    assert_one_line(code, err, "ckpt_path:", "missing")


def test_unknown_modality_and_missing_positional(capsys, tmp_path):
    code, err = run_cli(capsys, "ingest", "e=g", tmp_path / "a.edf", tmp_path / "s.zarr")
    assert_one_line(code, err, "modality:", "'e=g'")
    code, err = run_cli(capsys, "ingest", "eeg", tmp_path / "a.edf")
    assert_one_line(code, err, "ingest: expected")


def test_read_only_store_folder(capsys, tmp_path, monkeypatch):
    """As root, chmod does not stop writes; the check asks os.access, so the test makes it say no."""
    src = write_edf(tmp_path / "rec.edf")
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: False if str(p).startswith(str(ro)) else real_access(p, m))
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "ingest", "eeg", src, ro / "s.zarr")
    assert_one_line(code, err, "s.zarr", "read-only")
    assert tree_hashes(tmp_path) == before


def _experiments() -> list[str]:
    root = files("signalkit.configs").joinpath("experiment")
    return sorted(f"{m.name}/{p.name[:-5]}" for m in root.iterdir() if m.is_dir()
                  for p in m.iterdir() if p.name.endswith(".yaml"))


@pytest.mark.parametrize("experiment", _experiments())
def test_max_time_in_every_experiment(experiment):
    cfg = compose("train", [f"experiment={experiment}", "trainer.max_time=00:00:01:00"])
    assert cfg.trainer.max_time == "00:00:01:00"


@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_help_into_a_closed_pipe_is_quiet(reader):
    """``| true`` closes the pipe before signalkit writes: the write itself hits the closed pipe."""
    code = "import sys; from signalkit.cli import main; sys.exit(main())"
    proc = subprocess.run(f"{sys.executable} -c '{code}' --help | {reader}; exit ${{PIPESTATUS[0]}}", shell=True,
                          capture_output=True, text=True, timeout=120, executable="/bin/bash")
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 0
    if reader.startswith("head"):
        assert proc.stdout.startswith("usage: signalkit") and proc.stdout.count("\n") == 1
