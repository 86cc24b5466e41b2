"""The plot tests render with the Agg backend (no display) and one torch thread."""

from __future__ import annotations

import matplotlib
import pytest

from tests.support import one_torch_thread

matplotlib.use("Agg")


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


def save(fig, path) -> None:
    """Render ``fig`` to a PNG and check a non-empty file came out."""
    fig.savefig(path)
    assert path.stat().st_size > 1000
