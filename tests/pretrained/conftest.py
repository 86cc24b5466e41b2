"""The pretrained-format tests start from torch seed 0 (helpers: tests/support.py; fixtures: tests/fixtures/eeg.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _seed(torch_seed):
    yield
