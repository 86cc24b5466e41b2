"""Helpers of the red-team tests: snapshots of a folder and the one-line CLI error."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def tree_snapshot(folder: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256 (files) | "dir" | "link -> target"}`` of everything under ``folder``."""
    root = Path(folder)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link -> {os.readlink(p)}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_cli(args: list[str], capsys) -> tuple[int, list[str]]:
    """Run ``signalkit <args>`` in-process; (exit code, non-empty stderr lines)."""
    from signalkit import cli

    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


def one_error_line(err: list[str], *needles: str) -> str:
    """Assert ``err`` is exactly one ``signalkit: error:`` line holding every needle; return it."""
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("signalkit: error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    return line
