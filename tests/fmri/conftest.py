"""Fixtures for the fMRI tests: real sample runs, a seeded synthetic block-design data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import one_torch_thread, sample_subdir


@pytest.fixture(scope="session")
def fmri_sample(sample_data) -> Path:
    """The fMRI folder of the real sample data (``sample_data`` is in tests/conftest.py)."""
    return sample_subdir(sample_data, "fmri")


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> dict:
    """4 subjects x 1 block-design run (faces/houses), ingested with the box atlas."""
    from signalkit.store import ingest
    from signalkit.synthetic_fmri import make_block_design

    root = tmp_path_factory.mktemp("synthetic_fmri")
    info = make_block_design(root / "bids", n_subjects=4, shape=(12, 8, 6), n_blocks=12,
                             block_frames=8, rest_frames=6, seed=0)
    store = str(root / "synth.zarr")
    ingest([str(p) for p in info["runs"]], store, "fmri", {"atlas": str(info["atlas"])}, progress=False)
    return {**info, "store": store, "root": root}
