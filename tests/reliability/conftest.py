"""Fixtures of the reliability tests: a few tiny synthetic EDFs (store snapshots: tests/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_edf_dir(tmp_path_factory) -> Path:
    """4 subjects x 4 trials per class of synthetic motor imagery (19 channels, 160 Hz EDF)."""
    from signalkit.demo import make_motor_imagery

    out = tmp_path_factory.mktemp("mi_small")
    make_motor_imagery(out, n_subjects=4, n_trials=4, seed=3)
    return out


@pytest.fixture(scope="session")
def small_store(small_edf_dir, tmp_path_factory) -> str:
    from signalkit.io import expand_sources
    from signalkit.store import ingest

    store = str(tmp_path_factory.mktemp("rel_stores") / "small.zarr")
    ingest(expand_sources(small_edf_dir, "eeg"), store, "eeg", progress=False)
    return store
