"""Fixtures for every test: the real sample data folder, a small synthetic EEG store, one torch thread.

Modality fixtures live in ``tests/fixtures/`` (registered below, so every folder sees them); plain
helpers in ``tests/support.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Without a GPU, the Triton kernels run on CPU through the interpreter, which must be chosen before
# triton is first imported (lightning may import it during collection; importing torch does not). With
# a GPU the compiled kernels are what the tests check, unless TRITON_INTERPRET is set by the caller.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from tests.support import one_torch_thread

pytest_plugins = ["tests.fixtures.eeg", "tests.fixtures.fmri", "tests.fixtures.video", "tests.fixtures.weather"]

ROOT = Path(__file__).resolve().parents[1]


def sample_data_dir() -> Path | None:
    """``$SIGNALKIT_SAMPLE_DATA`` or ``../shared/data`` beside the repository, if present."""
    env = os.environ.get("SIGNALKIT_SAMPLE_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def sample_data() -> Path:
    path = sample_data_dir()
    if path is None:
        pytest.skip("real sample data not available (set SIGNALKIT_SAMPLE_DATA)")
    return path


# every test runs torch on one intra-op thread (tiny shapes run fastest so, and the cores are shared)
_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture
def torch_seed() -> None:
    """``torch.manual_seed(0)`` before the test (autouse in backbones/ and pretrained/)."""
    torch.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    has_cuda = torch.cuda.is_available()
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.fixture(scope="session")
def mi_edf_dir(tmp_path_factory) -> Path:
    """Synthetic motor-imagery EDFs: 5 subjects, 19 channels, 24 trials per class."""
    from signalkit.demo import make_motor_imagery

    out = tmp_path_factory.mktemp("mi19")
    make_motor_imagery(out, n_subjects=5, n_trials=24, montage="19", seed=1)
    return out


@pytest.fixture(scope="session")
def mi_store(mi_edf_dir, tmp_path_factory) -> str:
    from signalkit.io import expand_sources
    from signalkit.store import ingest

    store = str(tmp_path_factory.mktemp("stores") / "mi.zarr")
    ingest(expand_sources(mi_edf_dir, "eeg"), store, "eeg", progress=False)
    return store
