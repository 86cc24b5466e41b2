"""The CLI takes any path (issue #17, point 6): positional sources and stores are never parsed as
Hydra override grammar, and ``data.store=`` / ``output_dir=`` / ``ckpt_path=`` keep their value
verbatim. The slow run fuzzes many more names (test_fuzz_paths_and_overrides.py)."""

from __future__ import annotations

import pytest

from signalkit.config import compose
from signalkit.store import open_store

from .guard_utils import run_cli, write_edf

NAMES = ["k(1).edf", "ü.edf", "c,d.edf", "e=f.edf", "g'h.edf", "l#m.edf"]


@pytest.mark.parametrize("name", NAMES)
def test_ingest_any_file_name(capsys, tmp_path, name):
    src = write_edf(tmp_path / name)
    store = tmp_path / f"{name[:-4]}.zarr"
    code, err = run_cli(capsys, "ingest", "eeg", src, store)
    assert code == 0, err
    st = open_store(store)
    assert len(st) == 1 and st.provenance(next(iter(st)))["source"] == str(src)


def test_double_dash_and_options_after_the_paths(capsys, tmp_path):
    src = write_edf(tmp_path / "-x.edf")
    code, err = run_cli(capsys, "ingest", "eeg", "--", src, tmp_path / "a=b.zarr", "jobs=1", "progress=false")
    assert code == 0, err
    assert len(open_store(tmp_path / "a=b.zarr")) == 1


@pytest.mark.parametrize("name", ["k(1).zarr", "c,d.zarr", "e=f.zarr", "g'h.zarr", "x $oops.zarr"])
def test_path_overrides_are_verbatim(tmp_path, name):
    path = str(tmp_path / name)
    cfg = compose("train", ["experiment=eeg/motor_imagery", f"data.store={path}", f"output_dir={path}.run"])
    assert cfg.data.store == path and cfg.output_dir == f"{path}.run"
