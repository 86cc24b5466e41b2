"""NIfTI reader: values equal nibabel's, TR handling, events, atlas regions, bad input."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pytest

from signalkit.errors import InputError
from signalkit.io import read_recording
from signalkit.io.nifti import TRUnitWarning
from signalkit.store import ingest, open_store


def _write(path, data, affine=None, tr=2.0, units=("mm", "sec")):
    img = nib.Nifti1Image(np.asarray(data), np.eye(4) if affine is None else affine)
    img.header.set_xyzt_units(*units)
    if np.asarray(data).ndim == 4:
        img.header.set_zooms((1.0, 1.0, 1.0, tr))
    nib.save(img, str(path))
    return path


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["nipy_functional.nii.gz", "nibabel_example4d.nii.gz"])
def test_real_runs_ingest_equal_to_nibabel(fmri_sample, tmp_path, name):
    src = fmri_sample / name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ingest([str(src)], str(tmp_path / "s.zarr"), "fmri", {}, progress=False)
    tr_warnings = [w for w in caught if issubclass(w.category, TRUnitWarning)]
    ds = open_store(str(tmp_path / "s.zarr"))[name.split(".")[0]]
    ref = nib.load(str(src))
    stored = np.moveaxis(ds["signal"].values, 0, -1)
    assert ds["signal"].dims == ("time", "x", "y", "z") and ds["signal"].dtype == np.float32
    np.testing.assert_array_equal(stored, ref.get_fdata().astype(np.float32))
    np.testing.assert_allclose(np.asarray(ds.attrs["affine"]), ref.affine, rtol=0, atol=1e-12)
    assert ds.attrs["tr"] == pytest.approx(2.0)
    assert ds.attrs["voxel_size"] == pytest.approx([float(v) for v in ref.header.get_zooms()[:3]])
    if name.startswith("nibabel_example4d"):  # header: pixdim[4] = 2000 with unit "sec"
        assert len(tr_warnings) == 1 and str(src) in str(tr_warnings[0].message)
        assert "tr_corrected" in ds.attrs["tr_source"]
    else:
        assert not tr_warnings and ds.attrs["tr_source"] == "header"


@pytest.mark.realdata
def test_tr_override_wins_without_warning(fmri_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TRUnitWarning)
        ds = read_recording(fmri_sample / "nibabel_example4d.nii.gz", "fmri", tr=1.5)
    assert ds.attrs["tr"] == 1.5 and ds.attrs["tr_source"] == "config"


def test_millisecond_unit_and_3d_volume(tmp_path):
    rng = np.random.default_rng(0)
    ms = _write(tmp_path / "ms.nii", rng.standard_normal((4, 3, 2, 5)).astype(np.float32), tr=2500.0,
                units=("mm", "msec"))
    assert read_recording(ms, "fmri").attrs["tr"] == pytest.approx(2.5)
    vol = rng.standard_normal((4, 3, 2)).astype(np.float32)
    ds = read_recording(_write(tmp_path / "vol.nii.gz", vol), "fmri")
    assert ds["signal"].shape == (1, 4, 3, 2)
    np.testing.assert_array_equal(ds["signal"].values[0], vol)


def test_events_sidecar_bids_layout(synthetic):
    ds = open_store(synthetic["store"])["sub-01_task-blocks_bold"]
    table = np.loadtxt(synthetic["events"][0], skiprows=1, usecols=(0, 1))
    np.testing.assert_allclose(ds["event_onset_s"].values, table[:, 0])
    np.testing.assert_allclose(ds["event_duration_s"].values, table[:, 1])
    assert set(map(str, ds["event_label"].values)) == {"faces", "houses"}


def test_atlas_regions_are_label_means(synthetic):
    ds = open_store(synthetic["store"])["sub-02_task-blocks_bold"]
    labels = np.asarray(nib.load(str(synthetic["atlas"])).dataobj)
    sig = ds["signal"].values
    expected = np.stack([sig[:, labels == int(r)].mean(axis=1) for r in ds["region"].values], axis=1)
    np.testing.assert_allclose(ds["region_signal"].values, expected, rtol=1e-5, atol=1e-4)
    aff = np.asarray(ds.attrs["affine"])
    ijk = np.argwhere(labels == 1).mean(axis=0)
    np.testing.assert_allclose(ds["region_pos"].values[0], aff[:3, :3] @ ijk + aff[:3, 3], atol=1e-6)


def test_atlas_on_another_grid_is_resampled(tmp_path):
    data = np.random.default_rng(1).standard_normal((8, 6, 4, 3)).astype(np.float32)
    run = _write(tmp_path / "run.nii", data)
    fine = np.zeros((16, 12, 8), np.int16)
    fine[:8] = 1
    fine[8:] = 2  # twice the resolution: voxel x < 4 of the run is label 1
    atlas = tmp_path / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(fine, np.diag([0.5, 0.5, 0.5, 1.0])), str(atlas))
    ds = read_recording(run, "fmri", atlas=str(atlas))
    np.testing.assert_allclose(ds["region_signal"].values[:, 0], data[:4].mean(axis=(0, 1, 2)), rtol=1e-5)


def test_preprocessing_detrend_standardize_confounds(tmp_path):
    rng = np.random.default_rng(2)
    t = 40
    conf = rng.standard_normal((t, 2))
    data = (rng.standard_normal((5, 4, 3, t)) + 3 * conf[:, 0] + np.linspace(0, 5, t) + 10).astype(np.float32)
    run = _write(tmp_path / "sub-01_bold.nii", data)
    (tmp_path / "sub-01_desc-confounds_timeseries.tsv").write_text(
        "a\tb\n" + "".join(f"{x:.9f}\t{y:.9f}\n" for x, y in conf))
    ds = read_recording(run, "fmri", preprocess={"detrend": True, "standardize": True, "confounds": "auto"})
    y = data.reshape(-1, t).T.astype(np.float64)
    trend = np.arange(t) - (t - 1) / 2
    design = np.column_stack([np.ones(t), trend, conf])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    expected = (resid / resid.std(axis=0)).T.reshape(data.shape)
    np.testing.assert_allclose(np.moveaxis(ds["signal"].values, 0, -1), expected, atol=2e-4)
    assert ds.attrs["confounds_file"].endswith("sub-01_desc-confounds_timeseries.tsv")


def test_auto_mask_finds_the_brain(synthetic, tmp_path):
    ds = read_recording(synthetic["runs"][0], "fmri", preprocess={"mask": "auto"})
    mask = ds["mask"].values
    assert mask[6, 4, 3] and not mask[0, 0, 0] and 0.1 < mask.mean() < 0.9
    sig = ds["signal"].values
    assert (sig[:, ~mask] == 0).all() and (sig[:, mask] != 0).any()


# ------------------------------------------------------------------ bad input: one line each
def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.nii\.gz: file not found$"):
        read_recording(tmp_path / "nope.nii.gz", "fmri")


def test_two_dimensional_nifti(tmp_path):
    path = _write(tmp_path / "flat.nii", np.zeros((5, 4), np.float32))
    with pytest.raises(InputError, match=r"flat\.nii: NIfTI image has 2 dimension\(s\)"):
        read_recording(path, "fmri")


def test_nan_in_data_names_file_and_frame(tmp_path):
    data = np.ones((4, 3, 2, 6), np.float32)
    data[1, 2, 0, 4] = np.nan
    path = _write(tmp_path / "nan.nii", data)
    with pytest.raises(InputError, match=r"nan\.nii: NaN or Inf in the data \(frame 4, voxel \(1, 2, 0\)\)"):
        ingest([str(path)], str(tmp_path / "s.zarr"), "fmri", {}, progress=False)
    assert not (tmp_path / "s.zarr").exists() and not list(tmp_path.glob("s.zarr.partial-*"))


def test_atlas_that_cannot_be_resampled(tmp_path):
    run = _write(tmp_path / "run.nii", np.ones((4, 3, 2, 3), np.float32))
    atlas = _write(tmp_path / "prob_atlas.nii", np.ones((4, 3, 2, 5), np.float32))
    with pytest.raises(InputError, match=r"prob_atlas\.nii: atlas has shape \(4, 3, 2, 5\); a 3-D labels image"):
        read_recording(run, "fmri", atlas=str(atlas))
    far = tmp_path / "far_atlas.nii"
    aff = np.eye(4)
    aff[:3, 3] = 1000.0  # another field of view: nothing overlaps after resampling
    nib.save(nib.Nifti1Image(np.ones((3, 3, 3), np.int16), aff), str(far))
    with pytest.raises(InputError, match=r"far_atlas\.nii: no labelled voxel of the atlas falls inside"):
        read_recording(run, "fmri", atlas=str(far))


def test_events_table_missing_columns(tmp_path):
    run = _write(tmp_path / "sub-01_task-x_bold.nii", np.ones((4, 3, 2, 3), np.float32))
    (tmp_path / "sub-01_task-x_events.tsv").write_text("onset\tduration\n0\t2\n")
    with pytest.raises(InputError, match=r"sub-01_task-x_events\.tsv: events table lacks column\(s\) trial_type"):
        read_recording(run, "fmri")


def test_cli_error_is_one_line(tmp_path, capsys):
    from signalkit.cli import main

    code = main(["ingest", "fmri", str(tmp_path / "missing.nii.gz"), str(tmp_path / "s.zarr")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "missing.nii.gz: file not found" in err
