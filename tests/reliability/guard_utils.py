"""Helpers of the write-guard, label, run-history and CLI red-team tests (plain functions)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mne
import numpy as np

from signalkit.cli import main


def tree_hashes(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root`` (folders as ``<dir>``)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "<dir>"
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


def write_edf(path: Path, labels=("left_hand", "right_hand"), n_events: int = 6, seed: int = 0) -> Path:
    """A 3-channel, 128 Hz EDF with ``n_events`` alternating labelled 1 s events."""
    rng = np.random.default_rng(seed)
    n = int(128 * (2 + 2 * n_events))
    raw = mne.io.RawArray(rng.standard_normal((3, n)) * 1e-5, mne.create_info(["C3", "Cz", "C4"], 128.0, "eeg"),
                          verbose="error")
    onsets = [1.0 + 2 * i for i in range(n_events)]
    raw.set_annotations(mne.Annotations(onsets, [1.0] * n_events, [labels[i % len(labels)] for i in range(n_events)]))
    mne.export.export_raw(str(path), raw, fmt="edf", overwrite=True, verbose="error")
    return path


def run_cli(capsys, *args) -> tuple[int, list[str]]:
    """Run the CLI in-process; ``(exit code, stderr lines)``."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def assert_one_line(code: int, err: list[str], *needles: str) -> None:
    """Exit code 2 and exactly one ``signalkit: error:`` line containing every needle."""
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("signalkit: error:"), err
    for needle in needles:
        assert needle in err[0], err
