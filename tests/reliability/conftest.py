"""Fixtures of the reliability tests: a few tiny synthetic EDFs and helpers to compare stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def store_snapshot(path: str) -> tuple[dict, dict]:
    """(root attrs, {rid: {name: numpy array}}) of every variable and coordinate of a store."""
    from signalkit.store import open_store

    st = open_store(path)
    content = {}
    for rid in st:
        ds = st[rid].load()
        content[rid] = {name: np.asarray(ds[name].values) for name in [*ds.data_vars, *ds.coords]}
        content[rid]["__attrs__"] = dict(ds.attrs)
    return dict(st.attrs), content


def same_snapshot(a: tuple[dict, dict], b: tuple[dict, dict]) -> bool:
    if a[0] != b[0] or a[1].keys() != b[1].keys():
        return False
    for rid in a[1]:
        va, vb = a[1][rid], b[1][rid]
        if va.keys() != vb.keys():
            return False
        for k in va:
            if k == "__attrs__":
                if va[k] != vb[k]:
                    return False
            elif not np.array_equal(va[k], vb[k], equal_nan=va[k].dtype.kind == "f"):
                return False
    return True
