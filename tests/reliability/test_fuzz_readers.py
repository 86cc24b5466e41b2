"""Fuzzed EDF/BDF/FIF/BrainVision/EEGLAB files: every read ends in a SignalkitError or a valid
Recording, within a time limit, never a hang, a crash or another exception type.

Reads run in one spawned worker process (``tests/reliability/fuzz_worker.py``) with a timeout.
``SIGNALKIT_FUZZ_EXAMPLES`` sets the examples per format (default 12); the ``slow`` test runs 150.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import mne
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability import fuzz_worker

FORMATS = {"edf": "rec.edf", "bdf": "rec.bdf", "fif": "rec_raw.fif", "brainvision": "rec.vhdr",
           "eeglab": "rec.set"}
READ_TIMEOUT_S = 60
EXAMPLES = int(os.environ.get("SIGNALKIT_FUZZ_EXAMPLES", "12"))
TRIED = {"n": 0}


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> dict[str, Path]:
    """One small valid file per format (3 EEG channels, 128 Hz, 4 s, two annotations)."""
    out = tmp_path_factory.mktemp("fuzz_valid")
    rng = np.random.default_rng(0)
    raw = mne.io.RawArray(rng.standard_normal((3, 512)) * 1e-5,
                          mne.create_info(["C3", "Cz", "C4"], 128.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.5, 2.0], [0.5, 0.5], ["left", "right"]))
    files = {}
    for fmt, name in FORMATS.items():
        sub = out / fmt
        sub.mkdir()
        if fmt == "fif":
            raw.save(sub / name, verbose="error")
        else:
            mne.export.export_raw(sub / name, raw, fmt=fmt, overwrite=True, verbose="error")
        files[fmt] = sub / name
    return files


class _Reader:
    """One spawned worker process; replaced after a crash or a hang so later examples still run."""

    def __init__(self):
        self.pool = self._new()

    @staticmethod
    def _new() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=fuzz_worker.warm)

    def read(self, path: Path) -> tuple:
        try:
            return self.pool.submit(fuzz_worker.read_one, str(path)).result(timeout=READ_TIMEOUT_S)
        except (BrokenProcessPool, TimeoutError) as err:
            for proc in list(getattr(self.pool, "_processes", {}).values()):
                proc.kill()  # our own worker, by its process object
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new()
            return ("crash" if isinstance(err, BrokenProcessPool) else "hang", type(err).__name__, str(path))


@pytest.fixture(scope="module")
def reader():
    r = _Reader()
    yield r
    r.pool.shutdown(cancel_futures=True)


def _check(reader, path: Path, label: str) -> tuple:
    TRIED["n"] += 1
    result = reader.read(path)
    if result[0] in ("crash", "hang"):
        keep = Path("/tmp") / f"signalkit_fuzz_{result[0]}_{path.name}"
        shutil.copy(path, keep)
        pytest.fail(f"{label}: the reader {'crashed the process' if result[0] == 'crash' else 'hung'} "
                    f"(copy of the file at {keep})")
    assert result[0] != "other", f"{label}: {result[1]} escaped: {result[2]}\n{result[3]}"
    if result[0] == "signalkit":
        assert str(path) in result[2] or path.name in result[2], f"{label}: error does not name the file: {result[2]}"
    return result


def _mutated_copy(src: Path, dst_dir: Path, target: str, data: bytes) -> Path:
    """Copy the file set of ``src`` into ``dst_dir`` and replace member ``target``'s bytes."""
    if dst_dir.exists():
        shutil.rmtree(dst_dir)
    shutil.copytree(src.parent, dst_dir)
    (dst_dir / target).write_bytes(data)
    return dst_dir / src.name


@st.composite
def mutations(draw, size: int) -> tuple[str, int, bytes]:
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "empty", "zero_header", "append"]))
    if kind == "truncate":
        return kind, draw(st.integers(0, max(0, size - 1))), b""
    if kind == "empty":
        return kind, 0, b""
    if kind == "append":
        return kind, 0, draw(st.binary(min_size=1, max_size=64))
    # bias towards the header, where sizes, rates and counts live
    pos = draw(st.one_of(st.integers(0, min(size - 1, 1024)), st.integers(0, size - 1)))
    if kind == "zero_header":
        return kind, pos, b"\x00" * draw(st.integers(1, 64))
    return kind, pos, draw(st.binary(min_size=1, max_size=16))


def _apply(blob: bytes, mutation: tuple[str, int, bytes]) -> bytes:
    kind, pos, payload = mutation
    if kind == "truncate":
        return blob[:pos]
    if kind == "empty":
        return b""
    if kind == "append":
        return blob + payload
    if kind == "flip":
        payload = bytes(b ^ 0xFF for b in payload)
    return blob[:pos] + payload + blob[pos + len(payload):]


def _members(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _fuzz(valid_files, reader, tmp_path_factory, fmt, data, counter) -> None:
    src = valid_files[fmt]
    target = data.draw(st.sampled_from(_members(src)), label="member")
    blob = (src.parent / target).read_bytes()
    mutation = data.draw(mutations(len(blob)), label="mutation")
    counter["n"] += 1
    dst = tmp_path_factory.getbasetemp() / f"fuzz_{fmt}_{counter['n']}"
    path = _mutated_copy(src, dst, target, _apply(blob, mutation))
    _check(reader, path, f"{fmt}/{target} {mutation[0]}@{mutation[1]}")
    shutil.rmtree(dst, ignore_errors=True)


def test_valid_files_read(valid_files, reader):
    for fmt, path in valid_files.items():
        result = _check(reader, path, fmt)
        assert result == ("ok", (3, 512)), (fmt, result)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_fuzzed_files_fail_cleanly(valid_files, reader, tmp_path_factory, fmt):
    counter = {"n": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        _fuzz(valid_files, reader, tmp_path_factory, fmt, data, counter)

    run()
    assert counter["n"] >= min(EXAMPLES, 5)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_fuzzed_files_fail_cleanly_many(valid_files, reader, tmp_path_factory, fmt):
    counter = {"n": 0}

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        _fuzz(valid_files, reader, tmp_path_factory, fmt, data, counter)

    run()


def _edf_header_field(blob: bytes, offset: int, width: int, value: str) -> bytes:
    return blob[:offset] + value.ljust(width).encode()[:width] + blob[offset + width:]


# EDF header fields (offset, width): n_records 236/8, record duration 244/8, n_signals 252/4
@pytest.mark.parametrize("field,value", [
    ((236, 8), "-1"), ((236, 8), "99999999"), ((236, 8), "0"), ((244, 8), "0"), ((244, 8), "1e-30"),
    ((244, 8), "abc"), ((252, 4), "0"), ((252, 4), "9999"), ((184, 8), "0"), ((184, 8), "-5"),
])
def test_absurd_edf_header_values(valid_files, reader, tmp_path, field, value):
    src = valid_files["edf"]
    path = tmp_path / "bad.edf"
    path.write_bytes(_edf_header_field(src.read_bytes(), *field, value))
    _check(reader, path, f"edf header {field}={value!r}")


def test_wrong_dtype_and_absurd_rate_fif(reader, tmp_path):
    """Integer data and absurd sampling rates (1e-3 Hz, 1e7 Hz) still end cleanly."""
    for sfreq in (1e-3, 1e7):
        raw = mne.io.RawArray(np.ones((2, 16)), mne.create_info(["C3", "C4"], sfreq, "eeg"), verbose="error")
        raw.save(tmp_path / f"r{int(sfreq * 1000)}_raw.fif", verbose="error", overwrite=True)
        _check(reader, tmp_path / f"r{int(sfreq * 1000)}_raw.fif", f"fif sfreq={sfreq}")
    (tmp_path / "text_raw.fif").write_text("this is not a FIF file\n" * 10)
    result = _check(reader, tmp_path / "text_raw.fif", "fif text")
    assert result[0] == "signalkit"


def test_fif_with_looping_tag_chain(valid_files, reader, tmp_path):
    """Zeroed header bytes found by the fuzzer: MNE's tag scan looped forever; now an InputError."""
    blob = valid_files["fif"].read_bytes()
    (tmp_path / "loop_raw.fif").write_bytes(blob[:57] + b"\x00" * 64 + blob[121:])
    result = _check(reader, tmp_path / "loop_raw.fif", "fif zeroed header")
    assert result[:2] == ("signalkit", "InputError") and "tag chain loops" in result[2]
