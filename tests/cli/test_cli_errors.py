"""Every mistake a user can make ends with one line naming the file or key, exit code 2, no store."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from signalkit.cli import main


def _run(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def _assert_one_line(code, err, *needles):
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("signalkit: error:"), err
    for needle in needles:
        assert needle in err[0], err


def _edf(path, with_events=True, nan=False):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 1280)) * 1e-5
    raw = mne.io.RawArray(data, mne.create_info(["C3", "Cz", "C4"], 128.0, "eeg"), verbose="error")
    if with_events:
        raw.set_annotations(mne.Annotations([1.0, 5.0], [1.0, 1.0], ["a", "b"]))
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    if nan:  # FIF keeps floats, so NaN survives the round trip
        raw._data[1, 100:110] = np.nan
        raw.save(str(path).replace(".edf", "_raw.fif"), overwrite=True, verbose="error")
    return path


def test_missing_file(capsys, tmp_path):
    code, err = _run(capsys, "ingest", "eeg", str(tmp_path / "nope.edf"), str(tmp_path / "s.zarr"))
    _assert_one_line(code, err, "nope.edf")
    assert not (tmp_path / "s.zarr").exists()


def test_unknown_extension(capsys, tmp_path):
    (tmp_path / "rec.xyz").write_text("x")
    code, err = _run(capsys, "ingest", "eeg", str(tmp_path / "rec.xyz"), str(tmp_path / "s.zarr"))
    _assert_one_line(code, err, "rec.xyz", "unknown extension")
    assert not (tmp_path / "s.zarr").exists()


def test_truncated_edf(capsys, tmp_path):
    path = _edf(tmp_path / "full.edf")
    blob = path.read_bytes()
    (tmp_path / "cut.edf").write_bytes(blob[: len(blob) // 3])
    code, err = _run(capsys, "ingest", "eeg", str(tmp_path / "cut.edf"), str(tmp_path / "s.zarr"))
    _assert_one_line(code, err, "cut.edf")
    assert not (tmp_path / "s.zarr").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["cut.edf", "full.edf"]


def test_nan_in_signal(capsys, tmp_path):
    _edf(tmp_path / "n.edf", nan=True)
    code, err = _run(capsys, "ingest", "eeg", str(tmp_path / "n_raw.fif"), str(tmp_path / "s.zarr"))
    _assert_one_line(code, err, "n_raw.fif", "NaN", "Cz")
    assert not (tmp_path / "s.zarr").exists()


def test_unknown_montage(capsys, tmp_path):
    _edf(tmp_path / "m.edf")
    code, err = _run(capsys, "ingest", "eeg", str(tmp_path / "m.edf"), str(tmp_path / "s.zarr"), "montage=standard_9999")
    _assert_one_line(code, err, "montage", "standard_9999")
    assert not (tmp_path / "s.zarr").exists()


def test_config_typos(capsys, tmp_path):
    code, err = _run(capsys, "train", "trainer.max_epoch=3", "data.store=x")
    _assert_one_line(code, err, "trainer.max_epoch")
    code, err = _run(capsys, "ingest", "eeg", str(tmp_path), str(tmp_path / "s.zarr"), "preprocess.lfreq=1")
    _assert_one_line(code, err, "lfreq")
    code, err = _run(capsys, "train", "experiment=eeg/no_such_recipe")
    _assert_one_line(code, err, "experiment")
    code, err = _run(capsys, "fly")
    _assert_one_line(code, err, "fly")


def test_no_events_when_windows_come_from_events(capsys, tmp_path):
    _edf(tmp_path / "quiet.edf", with_events=False)
    store = str(tmp_path / "s.zarr")
    assert main(["ingest", "eeg", str(tmp_path / "quiet.edf"), store, "progress=false"]) == 0
    capsys.readouterr()
    code, err = _run(capsys, "train", f"data.store={store}", "data.events=[a,b]", f"output_dir={tmp_path / 'run'}",
                     "trainer=debug")
    _assert_one_line(code, err, "quiet.edf", "no events")


def test_missing_store_and_checkpoint(capsys, tmp_path):
    code, err = _run(capsys, "train", f"data.store={tmp_path / 'none.zarr'}", "data.events=[a]", "trainer=debug",
                     f"output_dir={tmp_path / 'run'}")
    _assert_one_line(code, err, "none.zarr")
    code, err = _run(capsys, "evaluate", f"ckpt_path={tmp_path / 'none.ckpt'}")
    _assert_one_line(code, err, "none.ckpt")


def test_debug_flag_shows_traceback(tmp_path):
    from signalkit.errors import InputError

    with pytest.raises(InputError):
        main(["ingest", "eeg", str(tmp_path / "nope.edf"), str(tmp_path / "s.zarr"), "--debug"])
