"""CLI: an internal error exits 1 with one line; SIGNALKIT_DEBUG=1 / --debug show the traceback.

(User errors -> exit 2 are covered in tests/cli/test_cli_errors.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from signalkit import cli


def _boom(args):
    raise RuntimeError("deliberate internal failure")


def test_internal_error_exits_1_with_one_line(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "ingest", _boom)
    monkeypatch.delenv("SIGNALKIT_DEBUG", raising=False)
    assert cli.main(["ingest", "eeg", "a", "b"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["signalkit: internal error: RuntimeError: deliberate internal failure "
                   "(re-run with --debug for the traceback)"]


@pytest.mark.parametrize("env,flag", [("1", []), ("0", ["--debug"])])
def test_debug_reraises_internal_and_user_errors(monkeypatch, env, flag):
    monkeypatch.setitem(cli.COMMANDS, "ingest", _boom)
    monkeypatch.setenv("SIGNALKIT_DEBUG", env)
    with pytest.raises(RuntimeError, match="deliberate"):
        cli.main(["ingest", "eeg", "a", "b", *flag])
    from signalkit.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown command"):
        cli.main(["no-such-command", *flag])


def test_env_debug_prints_traceback_from_the_console_script(tmp_path):
    env = {**os.environ, "SIGNALKIT_DEBUG": "1"}
    cmd = [sys.executable, "-c", "import sys; from signalkit.cli import main; sys.exit(main())",
           "ingest", "eeg", str(tmp_path / "nope.edf"), str(tmp_path / "s.zarr")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1  # an uncaught exception in Python
    assert "Traceback (most recent call last)" in proc.stderr and "InputError" in proc.stderr
    assert "nope.edf" in proc.stderr
    env["SIGNALKIT_DEBUG"] = "0"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [l for l in proc.stderr.strip().splitlines() if "nope.edf" in l]
