"""Shared fixtures/constants for the backbone tests: small ragged grids, D=16, depth 2."""

from __future__ import annotations

import pytest
import torch

SHAPES = {1: (37,), 2: (9, 13), 3: (5, 6, 7)}
DIM = 16

# family kwargs keeping the parametrised matrix fast (every family's defaults are also built once)
SMALL: dict[str, dict] = {
    "large_kernel": {"kernel_size": 7, "small_kernel": 3},
    "replk": {"kernel_size": 9},
    "pfg": {"kernel_sizes": (5, 9)},
    "ssm": {"d_state": 4, "expand": 1},
    "convssm": {"d_state": 4},
    "afno": {"num_blocks": 2},
    "gfnet": {"filter_size": 8},
}


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
