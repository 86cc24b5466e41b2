"""Fixtures for the fMRI tests: real sample runs, a seeded synthetic block-design data set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch



@pytest.fixture(scope="session")
def fmri_sample(sample_data) -> Path:
    """The fMRI folder of the real sample data (``sample_data`` is in tests/conftest.py)."""
    if not (sample_data / "fmri").is_dir():
        pytest.skip("sample data not found (set SIGNALKIT_SAMPLE_DATA)")
    return sample_data / "fmri"


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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
