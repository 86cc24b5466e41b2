"""The backbone tests start from torch seed 0 (one torch thread: tests/conftest.py; grids and sizes: tests/support.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _seed(torch_seed):
    yield
