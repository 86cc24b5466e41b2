"""A run folder (``<output_dir>``) keeps its history.

* :func:`prepare_run_dir` refuses an ``output_dir`` that is a file, the working folder, a folder
  holding the data, or a non-empty folder signalkit did not make (:mod:`signalkit.guard`), and
  marks the folder as a signalkit run.
* :class:`AppendingCSVLogger` appends to an existing ``metrics.csv`` (a resume with
  ``ckpt_path=last`` keeps the rows written before it; Lightning's own logger deletes them).
* :func:`write_json` writes strict JSON (RFC 8259): a NaN or infinite metric is written as
  ``null``, never as a bare ``NaN`` that strict parsers reject.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from signalkit.guard import check_target, write_marker, write_text_atomic


def check_run_dir(out: Path, sources: Iterable[str] = ()) -> None:
    """Refuse an ``output_dir`` that may not hold a run (see module docstring); writes nothing."""
    check_target(out, "run", what="output_dir", sources=sources)


def prepare_run_dir(out: Path, sources: Iterable[str] = ()) -> None:
    """Check ``out`` may hold a run (see module docstring), create it and write the run marker."""
    check_target(out, "run", what="output_dir", sources=sources)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "run")
    except OSError as err:
        from signalkit.errors import ConfigError

        raise ConfigError(f"output_dir: cannot write {out} ({err.strerror or err})") from None


def strict(value: Any) -> Any:
    """``value`` with every NaN/Inf float replaced by ``None`` (recursively through dicts/lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` as strict JSON (NaN/Inf -> ``null``), atomically (safe for concurrent writers)."""
    write_text(path, json.dumps(strict(payload), indent=2, sort_keys=True, allow_nan=False))


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (:func:`signalkit.guard.write_text_atomic`)."""
    write_text_atomic(path, text)


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing ``metrics.csv`` is continued, not deleted."""

    def _check_log_dir_exists(self) -> None:
        if not os.path.isfile(self.metrics_file_path):
            return
        with open(self.metrics_file_path, newline="") as file:
            rows = list(csv.DictReader(file))
            header = list(rows[0].keys()) if rows else []
        if not header:
            with open(self.metrics_file_path, newline="") as file:
                header = next(csv.reader(file), [])
        self.metrics_keys = sorted(header)
        if header != self.metrics_keys:  # appended rows follow the sorted header
            write_rows = [{k: r.get(k, "") for k in self.metrics_keys} for r in rows]
            with open(self.metrics_file_path, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(write_rows)


class AppendingCSVLogger(CSVLogger):
    """``CSVLogger`` that appends to an existing ``metrics.csv`` (see :class:`_AppendingWriter`)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is not None:
            return self._experiment
        self._fs.makedirs(self.root_dir, exist_ok=True)
        self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


__all__ = ["AppendingCSVLogger", "check_run_dir", "prepare_run_dir", "strict", "write_json", "write_text"]
