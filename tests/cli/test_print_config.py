"""``--print-config`` is read from the arguments given to ``main(argv)``, never from ``sys.argv``."""

from __future__ import annotations

import sys

import yaml

from signalkit.cli import main


def test_print_config_from_argv_not_sys_argv(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["signalkit"])  # as when called from Python (a notebook)
    assert main(["train", "--print-config", "model.backbone.depth=3", "model.dim=24"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["model"]["dim"] == 24 and cfg["model"]["backbone"]["depth"] == 3
    # the flag anywhere on the line, before the command too
    assert main(["--print-config", "train", "model.dim=40"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["model"]["dim"] == 40


def test_print_config_in_sys_argv_only_does_not_print(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["signalkit", "--print-config"])
    # without the flag in argv, main runs the command: an ingest with a missing source fails cleanly
    assert main(["ingest", "eeg", "/nonexistent/dir", "/tmp/never.zarr"]) == 2
    assert "model:" not in capsys.readouterr().out
