"""Red team: bad inputs of the non-MNE readers are refused where they enter, in one line.

Each case writes the bad file with a seeded generator, runs ``signalkit ingest`` (in process)
and asserts exit code 2, the one ``signalkit: error:`` line naming the file (and the variable or
voxel where it applies), that no store was written and that every file around is unchanged.
"""

from __future__ import annotations

import gzip
import os
import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tests.reliability.redteam_utils import one_error_line, run_cli, tree_snapshot


def _field(n_t: int = 24, n_lat: int = 4, n_lon: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (280 + rng.standard_normal((n_t, n_lat, n_lon))).astype(np.float32)


def _weather_ds(values: dict[str, np.ndarray]) -> xr.Dataset:
    n_t, n_lat, n_lon = next(iter(values.values())).shape
    coords = {"time": pd.date_range("2020-01-01", periods=n_t, freq="h"), "lat": 40.0 + np.arange(n_lat),
              "lon": np.arange(n_lon, dtype=float)}
    attrs = {"t2m": {"units": "K"}, "u10m": {"units": "m s-1"}}
    return xr.Dataset({k: (("time", "lat", "lon"), v, attrs.get(k, {})) for k, v in values.items()}, coords=coords)


def _ingest_refused(capsys, tmp_path, modality: str, source, *needles: str) -> str:
    store = tmp_path / "out.zarr"
    before = tree_snapshot(tmp_path)
    code, err = run_cli(["ingest", modality, str(source), str(store)], capsys)
    assert code == 2, err
    line = one_error_line(err, *needles)
    assert tree_snapshot(tmp_path) == before  # no store, no partial folder, sources untouched
    return line


# ---------------------------------------------------------------- weather
def test_weather_single_inf_is_refused(tmp_path, capsys):
    t2m = _field()
    t2m[5, 1, 2] = np.inf
    path = tmp_path / "inf.nc"
    _weather_ds({"t2m": t2m}).to_netcdf(path)
    _ingest_refused(capsys, tmp_path, "weather", path, "inf.nc", "t2m", "1 Inf value", "lat=41")


def test_weather_all_nan_variable_is_refused(tmp_path, capsys):
    path = tmp_path / "allnan.nc"
    _weather_ds({"t2m": _field(), "u10m": np.full((24, 4, 5), np.nan, np.float32)}).to_netcdf(path)
    _ingest_refused(capsys, tmp_path, "weather", path, "allnan.nc", "u10m", "NaN everywhere")


def test_weather_string_variable_is_refused(tmp_path, capsys):
    path = tmp_path / "text.nc"
    ds = _weather_ds({"t2m": _field()})
    ds["t2m"] = ds["t2m"].astype(str)
    ds.to_netcdf(path)
    _ingest_refused(capsys, tmp_path, "weather", path, "text.nc", "'t2m'", "not numeric")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_weather_zarr_source_of_either_format_ingests(tmp_path, zarr_format):
    """xarray's default writer (zarr v2 with Blosc, and v3): the source's codecs never reach the store."""
    from signalkit.io import expand_sources
    from signalkit.store import ingest, open_store

    values = _field(seed=zarr_format)
    src = tmp_path / f"src_v{zarr_format}.zarr"
    _weather_ds({"t2m": values}).to_zarr(src, zarr_format=zarr_format, consolidated=zarr_format == 2)
    before = tree_snapshot(src)
    store = ingest(expand_sources(str(src), "weather"), str(tmp_path / "out.zarr"), "weather", progress=False)
    rec = open_store(store)[f"src_v{zarr_format}"]
    np.testing.assert_array_equal(rec["signal"].values[:, 0], values)
    assert tree_snapshot(src) == before


def test_garbage_grib_is_one_line_without_library_tracebacks(tmp_path, capsys):
    rng = np.random.default_rng(7)
    path = tmp_path / "garbage.grib"
    path.write_bytes(b"GRIB" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _ingest_refused(capsys, tmp_path, "weather", path, "garbage.grib")


# ---------------------------------------------------------------- fMRI
def _nifti(path, data: np.ndarray) -> None:
    import nibabel as nib

    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 2.0
    nib.save(img, str(path))


def test_nifti_header_announcing_32767_to_the_4_voxels_is_refused_at_once(tmp_path, capsys):
    import nibabel as nib

    path = tmp_path / "huge.nii.gz"
    _nifti(path, np.random.default_rng(0).standard_normal((4, 4, 4, 3)).astype(np.float32))
    raw = bytearray(gzip.decompress(path.read_bytes()))
    header = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw[:348])))
    header.set_data_shape((32767, 32767, 32767, 32767))
    raw[:348] = header.binaryblock
    path.write_bytes(gzip.compress(bytes(raw)))
    t0 = time.perf_counter()
    _ingest_refused(capsys, tmp_path, "fmri", path, "huge.nii.gz", "32767", "more than")
    assert time.perf_counter() - t0 < 30


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_truncated_nifti_is_one_line(tmp_path, capsys, suffix):
    path = tmp_path / f"cut{suffix}"
    _nifti(path, np.random.default_rng(1).standard_normal((6, 6, 6, 40)).astype(np.float32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _ingest_refused(capsys, tmp_path, "fmri", path, f"cut{suffix}", "truncated")


def test_nifti_nan_is_refused_naming_the_voxel(tmp_path, capsys):
    data = np.random.default_rng(2).standard_normal((5, 5, 5, 8)).astype(np.float32)
    data[1, 2, 3, 4] = np.nan
    path = tmp_path / "nan.nii"
    _nifti(path, data)
    _ingest_refused(capsys, tmp_path, "fmri", path, "nan.nii", "frame 4", "voxel (1, 2, 3)")


# ---------------------------------------------------------------- video
def test_video_inf_and_text_frames_are_refused(tmp_path, capsys):
    arr = np.random.default_rng(3).random((6, 8, 8)).astype(np.float32)
    arr[2, 3, 3] = np.inf
    np.save(tmp_path / "inf.npy", arr)
    _ingest_refused(capsys, tmp_path, "video", tmp_path / "inf.npy", "inf.npy", "NaN or Inf")
    np.save(tmp_path / "text.npy", np.full((6, 8, 8), "a"))
    _ingest_refused(capsys, tmp_path, "video", tmp_path / "text.npy", "text.npy", "not numbers")


# ---------------------------------------------------------------- globs
def _tree_with_links(root):
    """root/data/{a.nc, sub/b.nc} with root/data/loop -> root/data, root/data/sub/up -> root,
    and root/alias -> root/data (a second path to the same files)."""
    data = root / "data"
    (data / "sub").mkdir(parents=True)
    _weather_ds({"t2m": _field(seed=1)}).to_netcdf(data / "a.nc")
    _weather_ds({"t2m": _field(seed=2)}).to_netcdf(data / "sub" / "b.nc")
    os.symlink(data, data / "loop")
    os.symlink(root, data / "sub" / "up")
    os.symlink(data, root / "alias")
    return data


def test_glob_over_symlink_loops_ends_and_lists_each_file_once(tmp_path):
    from signalkit.io import expand_sources

    data = _tree_with_links(tmp_path)
    t0 = time.perf_counter()
    files = expand_sources(str(tmp_path / "**" / "*.nc"), "weather")
    assert time.perf_counter() - t0 < 10
    assert sorted(os.path.realpath(f) for f in files) == sorted([str(data / "a.nc"), str(data / "sub" / "b.nc")])
    assert len(expand_sources(str(tmp_path), "weather")) == 2  # a folder source too
    assert len(expand_sources([str(data / "a.nc"), str(tmp_path / "alias" / "a.nc")], "weather")) == 1


def test_glob_matches_what_glob_matches_without_links(tmp_path):
    import glob

    from signalkit.io import safe_glob

    for rel in ("x/a.nc", "x/y/b.nc", "x/y/z/c.txt", "d.nc", ".hidden/e.nc", "x/.f.nc"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    for pattern in ("**/*.nc", "x/**", "x/**/*", "*/y/*.nc", "**/.f.nc", "x/?/b.nc", "[dx]*"):
        full = str(tmp_path / pattern)
        expected = sorted(f for f in glob.glob(full, recursive=True) if os.path.isfile(f))
        assert safe_glob(full) == expected, pattern


def test_cli_ingest_through_loops_reads_each_file_once(tmp_path, capsys):
    from signalkit.store import open_store

    _tree_with_links(tmp_path)
    store = tmp_path / "wx.zarr"
    code, err = run_cli(["ingest", "weather", str(tmp_path), str(store)], capsys)
    assert code == 0, err
    assert sorted(open_store(store)) == ["a", "b"]


def test_cfgrib_tracebacks_are_not_printed(tmp_path, capsys, monkeypatch):
    """With cfgrib installed, a garbage GRIB made cfgrib log two tracebacks before our line.

    cfgrib is not a test dependency: a stand-in module logs what cfgrib logs (an exception per
    undecodable message) and returns no variables, as cfgrib does for garbage."""
    import logging
    import sys
    import types

    monkeypatch.setitem(sys.modules, "cfgrib", types.ModuleType("cfgrib"))
    real_open = xr.open_dataset

    def fake_open(path, engine=None, **kw):
        if engine != "cfgrib":
            return real_open(path, engine=engine, **kw)
        assert kw.get("backend_kwargs", {}).get("indexpath") == ""  # no .idx file beside the user's file
        log = logging.getLogger("cfgrib.messages")
        try:
            raise EOFError("No valid message found")
        except EOFError:
            log.exception("skipping corrupted Message")
        return xr.Dataset()

    monkeypatch.setattr(xr, "open_dataset", fake_open)
    path = tmp_path / "garbage.grib2"
    path.write_bytes(b"GRIB" + bytes(range(256)) * 8)
    line = _ingest_refused(capsys, tmp_path, "weather", path, "garbage.grib2", "no GRIB message could be decoded")
    assert "Traceback" not in line
