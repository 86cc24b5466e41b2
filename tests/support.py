"""Helpers shared by the test folders' conftest files (plain functions, not fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


def sample_subdir(sample_data: Path, name: str) -> Path:
    """``<sample data>/<name>``, or a skip naming it when that folder is missing."""
    if not (sample_data / name).is_dir():
        pytest.skip(f"sample data ({name}/) not available (set SIGNALKIT_SAMPLE_DATA)")
    return sample_data / name


def one_torch_thread():
    """Generator for an autouse fixture: torch on one thread during each test, restored after.

    A folder's conftest opts in with ``_one_thread = pytest.fixture(autouse=True)(one_torch_thread)``.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
