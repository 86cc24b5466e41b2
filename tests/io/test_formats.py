"""Every format MNE's read_raw reads (its own table), folder formats, MNE's keyword options, and
the pre-checks that turn damaged EDF/BDF/BrainVision files into one line naming the file."""

from __future__ import annotations

import os

import mne
import numpy as np
import pytest

from signalkit.errors import ConfigError, InputError
from signalkit.io import expand_sources, read_recording, reader_extensions
from signalkit.io.mne_formats import raw_extensions, select_sources, split_ext


def _raw(n_ch: int = 3, n: int = 1280, sfreq: float = 128.0, seed: int = 0) -> mne.io.RawArray:
    rng = np.random.default_rng(seed)
    names = ["C3", "Cz", "C4", "Pz", "O1"][:n_ch]
    raw = mne.io.RawArray(rng.standard_normal((n_ch, n)) * 1e-5, mne.create_info(names, sfreq, "eeg"),
                          verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 5.0], [0.5, 0.5], ["a", "b"]))
    return raw


def test_extension_table_is_mnes():
    from mne.io._read_raw import _get_supported

    exts = reader_extensions("eeg")
    assert set(_get_supported()) <= set(exts)
    for ext in (".sqd", ".con", ".eeg", ".lay", ".nxe", ".ns3", ".cnt", ".cdt", ".data", ".ds", ".mff", ".raw"):
        assert ext in raw_extensions()
    assert split_ext("x/rec-epo.fif") == "-epo.fif" and split_ext("a.cdt.dpa") == ".cdt.dpa"


def test_folder_walk_keeps_folder_formats_whole_and_drops_companions(tmp_path):
    (tmp_path / "run.ds").mkdir()
    for name in ("run.meg4", "run.res4", "run.eeg"):  # CTF's own files, one named .eeg
        (tmp_path / "run.ds" / name).write_bytes(b"x")
    (tmp_path / "net.mff").mkdir()
    (tmp_path / "net.mff" / "signal1.bin").write_bytes(b"x")
    for name in ("bv.vhdr", "bv.eeg", "bv.vmrk", "nk.eeg", "p.lay", "p.dat", "notes.txt", "k.sqd", "c.cnt"):
        (tmp_path / name).write_bytes(b"x")
    found = [os.path.relpath(f, tmp_path) for f in expand_sources(tmp_path, "eeg")]
    assert found == ["bv.vhdr", "c.cnt", "k.sqd", "net.mff", "nk.eeg", "p.lay", "run.ds"]
    assert expand_sources(str(tmp_path / "run.ds"), "eeg") == [str(tmp_path / "run.ds")]
    # a glob naming a generic extension keeps it
    assert select_sources([str(tmp_path / "notes.txt")], (".txt",)) == [str(tmp_path / "notes.txt")]


def test_unknown_extension_and_mne_kwargs(tmp_path):
    raw = _raw()
    mne.export.export_raw(tmp_path / "a.edf", raw, overwrite=True, verbose="error")
    with pytest.raises(ConfigError, match="mne_kwargs.allow_maxshield: not an option of read_raw_edf"):
        read_recording(tmp_path / "a.edf", "eeg", mne_kwargs={"allow_maxshield": True})
    with pytest.raises(ConfigError, match="mne_kwargs.preload"):
        read_recording(tmp_path / "a.edf", "eeg", mne_kwargs={"preload": True})
    # an MNE option reaches the reader: exclude drops a channel as read_raw_edf does
    rec = read_recording(tmp_path / "a.edf", "eeg", mne_kwargs={"exclude": ["Cz"]})
    ref = mne.io.read_raw_edf(tmp_path / "a.edf", exclude=["Cz"], verbose="error")
    assert list(rec["channel"].values) == ref.ch_names == ["C3", "C4"]
    (tmp_path / "x.xyz").write_text("nope")
    with pytest.raises(InputError, match="unknown extension"):
        read_recording(tmp_path / "x.xyz")


def test_edf_channel_types_from_labels(tmp_path):
    info = mne.create_info(["EEG Fp1", "EEG Cz", "ECG V1", "EOG L", "EKG2", "DC01"], 128.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(3).standard_normal((6, 640)) * 1e-5, info, verbose="error")
    mne.export.export_raw(tmp_path / "t.edf", raw, overwrite=True, verbose="error")
    rec = read_recording(tmp_path / "t.edf", "eeg")
    ref = mne.io.read_raw_edf(tmp_path / "t.edf", infer_types=True, verbose="error")
    assert list(rec["channel"].values) == ["Fp1", "Cz"]
    assert dict(zip(rec["aux_channel"].values, rec["aux_type"].values)) == {
        "V1": "ecg", "L": "eog", "EKG2": "ecg", "DC01": "misc"}
    np.testing.assert_array_equal(rec["aux"].values[:2], ref.get_data(picks=["V1", "L"]).astype(np.float32))


def _edf_field(blob: bytearray, n_sig: int, offset: int, width: int, channel: int, value: str) -> None:
    start = 256 + n_sig * offset + channel * width
    blob[start:start + width] = value.ljust(width).encode()


def test_bdf_with_unknown_record_count_is_read_in_full(tmp_path):
    raw = _raw(n=128 * 60)
    mne.export.export_raw(tmp_path / "a.bdf", raw, fmt="bdf", overwrite=True, verbose="error")
    blob = bytearray((tmp_path / "a.bdf").read_bytes())
    blob[236:244] = b"-1      "  # "unknown" record count, allowed by the specification
    (tmp_path / "m1.bdf").write_bytes(bytes(blob))
    rec = read_recording(tmp_path / "m1.bdf", "eeg")
    ref = mne.io.read_raw(tmp_path / "a.bdf", verbose="error")
    assert rec.sizes["time"] == ref.n_times == 128 * 60
    np.testing.assert_array_equal(rec["signal"].values, ref.get_data().astype(np.float32))
    blob[236:244] = b"90      "  # more records announced than held: truncated
    (tmp_path / "t.bdf").write_bytes(bytes(blob))
    with pytest.raises(InputError, match=r"t\.bdf: the file is truncated .*90 data records.*holds 60"):
        read_recording(tmp_path / "t.bdf", "eeg")


@pytest.mark.parametrize("kind,offset", [("digital", 16 + 80 + 24), ("physical", 16 + 80 + 8)])
def test_edf_empty_ranges_refused(tmp_path, kind, offset):
    mne.export.export_raw(tmp_path / "a.edf", _raw(), overwrite=True, verbose="error")
    blob = bytearray((tmp_path / "a.edf").read_bytes())
    n_sig = int(blob[252:256])
    _edf_field(blob, n_sig, offset, 8, 1, "0")
    _edf_field(blob, n_sig, offset + 8, 8, 1, "0")
    (tmp_path / "r.edf").write_bytes(bytes(blob))
    with pytest.raises(InputError, match=rf"r\.edf: channel\(s\) Cz have an empty {kind} range"):
        read_recording(tmp_path / "r.edf", "eeg")


def test_annotations_only_edf_refused(tmp_path):
    mne.export.export_raw(tmp_path / "a.edf", _raw(n_ch=1), overwrite=True, verbose="error")
    blob = bytearray((tmp_path / "a.edf").read_bytes())
    n_sig = int(blob[252:256])
    for ch in range(n_sig):  # every channel labelled as annotations, as in a hypnogram EDF+
        _edf_field(blob, n_sig, 0, 16, ch, "EDF Annotations")
    (tmp_path / "h.edf").write_bytes(bytes(blob))
    with pytest.raises(InputError, match=r"h\.edf: the file holds no signal channels"):
        read_recording(tmp_path / "h.edf", "eeg")


def test_brainvision_missing_marker_file_and_truncated_data(tmp_path):
    mne.export.export_raw(tmp_path / "bv.vhdr", _raw(), fmt="brainvision", overwrite=True, verbose="error")
    os.rename(tmp_path / "bv.vmrk", tmp_path / "moved.vmrk")
    with pytest.raises(InputError, match=r"bv\.vhdr: its marker file bv\.vmrk \(header key MarkerFile\) is missing"):
        read_recording(tmp_path / "bv.vhdr", "eeg")
    os.rename(tmp_path / "moved.vmrk", tmp_path / "bv.vmrk")
    blob = (tmp_path / "bv.eeg").read_bytes()
    (tmp_path / "bv.eeg").write_bytes(blob[: len(blob) // 2 + 5])  # not whole samples
    with pytest.raises(InputError, match=r"bv\.vhdr: its data file bv\.eeg is truncated"):
        read_recording(tmp_path / "bv.vhdr", "eeg")
    (tmp_path / "bv.eeg").write_bytes(blob[: len(blob) // 4 - len(blob) // 4 % 12])  # whole samples, markers past the end
    with pytest.raises(InputError, match=r"bv\.vhdr: the data is truncated \(markers lie past the end"):
        read_recording(tmp_path / "bv.vhdr", "eeg")


def test_maxshield_message_names_the_option():
    from signalkit.io.mne_checks import unreadable

    err = unreadable("x_raw.fif", ValueError("This file contains raw Internal Active Shielding data. It may be "
                                             "distorted. Elekta recommends it be run through MaxFilter to "
                                             "produce reliable results. Consider closing the file and running "
                                             "MaxFilter on the data. Use allow_maxshield=True if you are sure"
                                             " you want to load the data despite this warning. MaxShield"))
    assert "mne_kwargs.allow_maxshield=true" in str(err) and str(err).startswith("x_raw.fif: ")


def test_eeglab_embedded_data_parsed_in_the_helper_only(tmp_path, monkeypatch):
    """A .set holding its data (larger than a pipe message's pickle share) reads as MNE's
    ``preload=True`` read, bit-exact, and this process never parses the MAT file itself."""
    import mne.io.eeglab._eeglab as low
    import mne.io.eeglab.eeglab as high

    rng = np.random.default_rng(1)
    raw = mne.io.RawArray(rng.standard_normal((4, 20000)) * 1e-5, mne.create_info(["C3", "Cz", "C4", "Pz"], 200.0, "eeg"),
                          verbose="error")
    mne.export.export_raw(tmp_path / "e.set", raw, fmt="eeglab", verbose="error")
    ref = mne.io.read_raw_eeglab(tmp_path / "e.set", preload=True, verbose="error").get_data().astype(np.float32)

    def no_parse(*args, **kwargs):
        raise AssertionError("MAT file parsed in the reading process")

    monkeypatch.setattr(low, "_readmat", no_parse)
    monkeypatch.setattr(high, "_readmat", no_parse)
    rec = read_recording(tmp_path / "e.set", "eeg")
    np.testing.assert_array_equal(rec["signal"].values, ref)


def _read_in_daemon(path: str, queue) -> None:  # runs in a daemonic child process
    try:
        queue.put(read_recording(path, "eeg")["signal"].values)
    except BaseException as err:  # pragma: no cover - reported to the test
        queue.put(f"{type(err).__name__}: {err}")


def test_eeglab_reads_inside_a_daemonic_worker(tmp_path):
    """Dask and multiprocessing.Pool workers are daemonic: they may not start multiprocessing
    children. The MAT parser's helper is a plain subprocess, so a .set reads there as in MNE."""
    import multiprocessing as mp

    raw = _raw(n_ch=3, n=512)
    mne.export.export_raw(tmp_path / "d.set", raw, fmt="eeglab", verbose="error")
    ref = mne.io.read_raw_eeglab(tmp_path / "d.set", preload=True, verbose="error").get_data().astype(np.float32)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_read_in_daemon, args=(str(tmp_path / "d.set"), queue), daemon=True)
    proc.start()
    got = queue.get(timeout=120)
    proc.join(timeout=30)
    assert not isinstance(got, str), got
    np.testing.assert_array_equal(got, ref)
