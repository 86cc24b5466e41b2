"""The plot tests render with the Agg backend (no display) and one torch thread."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def save(fig, path) -> None:
    """Render ``fig`` to a PNG and check a non-empty file came out."""
    fig.savefig(path)
    assert path.stat().st_size > 1000
