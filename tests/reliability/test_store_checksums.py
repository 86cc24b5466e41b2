"""Red team: a damaged store is one clear error; a file changed during ingest never lands.

Store chunks carry a crc32c checksum (zarr's ``crc32c`` codec): a zeroed, flipped, truncated or
missing chunk is a :class:`StoreError` naming the store, the recording, the variable and the
chunk, on the memory-mapped EEG path and on the zarr path alike. Damaged metadata is exit 2.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from signalkit.errors import InputError, StoreError
from tests.reliability.redteam_utils import one_error_line, run_cli, tree_snapshot


@pytest.fixture
def eeg_copy(small_store, tmp_path):
    dst = tmp_path / "mi.zarr"
    shutil.copytree(small_store, dst)
    return dst


def _first_rid(store) -> str:
    return sorted(json.loads((store / "zarr.json").read_text())["attributes"]["recordings"])[0]


def _chunk(store, rid: str, var: str = "signal"):
    files = sorted(p for p in (store / rid / var / "c").rglob("*") if p.is_file())
    assert files, f"no chunk files under {store / rid / var}"
    return files[0]


@pytest.mark.parametrize("damage", ["zeroed", "flipped", "truncated", "missing"])
def test_damaged_eeg_chunk_stops_training_naming_it(eeg_copy, tmp_path, capsys, damage):
    rid = _first_rid(eeg_copy)
    chunk = _chunk(eeg_copy, rid)
    data = bytearray(chunk.read_bytes())
    if damage == "zeroed":
        chunk.write_bytes(bytes(len(data)))
    elif damage == "flipped":
        data[len(data) // 3] ^= 0x10
        chunk.write_bytes(bytes(data))
    elif damage == "truncated":
        chunk.write_bytes(bytes(data[: len(data) // 2]))
    else:
        chunk.unlink()
    before = tree_snapshot(eeg_copy)
    code, err = run_cli(["train", "experiment=eeg/motor_imagery", f"data.store={eeg_copy}", "trainer.max_epochs=1",
                         "data.num_workers=0", f"output_dir={tmp_path / 'run'}"], capsys)
    assert code == 2, err
    one_error_line(err, str(eeg_copy), f"recording {rid}", "variable signal", "chunk")
    assert tree_snapshot(eeg_copy) == before  # the store is reported, never "repaired"


def test_verify_store_names_every_damaged_chunk(eeg_copy):
    from signalkit.store import verify_store

    assert verify_store(eeg_copy) == []
    rid = _first_rid(eeg_copy)
    chunk = _chunk(eeg_copy, rid)
    chunk.write_bytes(bytes(chunk.stat().st_size))
    events = _chunk(eeg_copy, rid, "event_onset_s")
    events.write_bytes(bytes(events.stat().st_size))
    problems = verify_store(eeg_copy)
    assert any(p.startswith(f"recording {rid}, variable signal, chunk ") and "checksum mismatch" in p for p in problems)
    assert any(f"variable event_onset_s" in p for p in problems), problems


def test_zeroed_chunk_on_the_zarr_path_is_named(tmp_path):
    """Any other reader of the store (weather, fMRI, video data modules read through zarr/xarray)."""
    from signalkit.store import ingest, naming_damage, open_store

    rng = np.random.default_rng(0)
    ds = xr.Dataset({"t2m": (("time", "lat", "lon"), (280 + rng.standard_normal((48, 4, 5))).astype(np.float32),
                             {"units": "K"})},
                    coords={"time": pd.date_range("2020-01-01", periods=48, freq="h"), "lat": 40.0 + np.arange(4),
                            "lon": np.arange(5.0)})
    ds.to_netcdf(tmp_path / "wx.nc")
    store = tmp_path / "wx.zarr"
    ingest([str(tmp_path / "wx.nc")], str(store), "weather", progress=False)
    np.testing.assert_array_equal(open_store(store)["wx"]["signal"].values[:, 0], ds["t2m"].values)
    chunk = _chunk(store, "wx")
    chunk.write_bytes(bytes(chunk.stat().st_size))
    with pytest.raises(StoreError, match=r"wx\.zarr: damaged store: recording wx, variable signal, chunk 0/0/0/0: "
                                         r"checksum mismatch"):
        with naming_damage(str(store)):
            open_store(store)["wx"]["signal"].values


@pytest.mark.parametrize("which", ["root", "group", "array"])
def test_damaged_metadata_is_exit_2(eeg_copy, tmp_path, capsys, which):
    rid = _first_rid(eeg_copy)
    target = {"root": eeg_copy / "zarr.json", "group": eeg_copy / rid / "zarr.json",
              "array": eeg_copy / rid / "signal" / "zarr.json"}[which]
    target.write_bytes(b"\x00" * 64)
    before = tree_snapshot(eeg_copy)
    code, err = run_cli(["train", "experiment=eeg/motor_imagery", f"data.store={eeg_copy}", "trainer.max_epochs=1",
                         "data.num_workers=0", f"output_dir={tmp_path / 'run'}"], capsys)
    assert code == 2, err
    one_error_line(err, str(eeg_copy), "damaged")
    if which != "root":
        one_error_line(err, f"recording {rid}")
    assert tree_snapshot(eeg_copy) == before


def _weather_file(path, seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    ds = xr.Dataset({"t2m": (("time", "lat", "lon"), (280 + rng.standard_normal((24, 3, 4))).astype(np.float32),
                             {"units": "K"})},
                    coords={"time": pd.date_range("2020-01-01", periods=24, freq="h"), "lat": 40.0 + np.arange(3),
                            "lon": np.arange(4.0)})
    ds.to_netcdf(path)
    return ds


def test_file_changed_while_read_is_refused_and_reingest_is_fresh(tmp_path):
    """A writer rewrites the source while ingest reads it: no group whose data and sha256 disagree."""
    from signalkit import io as sio
    from signalkit.store import ingest, open_store

    src = tmp_path / "live.nc"
    _weather_file(src, 1)
    reader, exts = sio.get_reader("weather"), sio.reader_extensions("weather")

    def racing_read(path, **kw):
        rec = reader(path, **kw).load()
        _weather_file(src, 2)  # the file is replaced after it was read
        return rec

    store = tmp_path / "wx.zarr"
    sio.register_reader("weather", racing_read, exts)
    try:
        with pytest.raises(InputError, match=r"live\.nc: the file changed while it was read"):
            ingest([str(src)], str(store), "weather", progress=False)
    finally:
        sio.register_reader("weather", reader, exts)
    assert not store.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["live.nc"]
    ingest([str(src)], str(store), "weather", progress=False)
    final = xr.open_dataset(src)["t2m"].values
    np.testing.assert_array_equal(open_store(store)["live"]["signal"].values[:, 0], final)


def test_reingest_replaces_a_group_whose_source_changed(tmp_path):
    from signalkit.recording import file_sha256
    from signalkit.store import ingest, open_store

    src = tmp_path / "a.nc"
    _weather_file(src, 3)
    store = str(tmp_path / "wx.zarr")
    ingest([str(src)], store, "weather", progress=False)
    new = _weather_file(src, 4)
    ingest([str(src)], store, "weather", progress=False)
    st = open_store(store)
    np.testing.assert_array_equal(st["a"]["signal"].values[:, 0], new["t2m"].values)
    assert st.provenance("a")["sha256"] == file_sha256(src)
