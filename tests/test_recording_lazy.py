"""LazyAttrs and lazy_file_sha256: a Recording's sha256 computed when first read, a dict in every
way a caller can see; the reader's lazy hash equals the file's, and a changed file gets none."""

import copy
import json
import os
import pickle

import numpy as np
import pytest
import xarray as xr

import signalkit.recording as recording
from signalkit.lazy_attrs import LazyAttrs
from signalkit.recording import file_sha256, lazy_file_sha256, sensor_recording


class Counter:
    def __init__(self, value="abc"):
        self.calls, self.value = 0, value

    def __call__(self):
        self.calls += 1
        return self.value


def _attrs(fn):
    return LazyAttrs({"sfreq": 100.0, "subject": "s1", "sha256": "", "run": ""}, {"sha256": fn})


def test_pending_until_read_then_computed_once():
    fn = Counter()
    a = _attrs(fn)
    assert a.pending() == ("sha256",) and fn.calls == 0
    assert a["sfreq"] == 100.0 and "sha256" in a and len(a) == 4 and list(a) == ["sfreq", "subject", "sha256", "run"]
    assert fn.calls == 0  # other keys, membership, keys and length do not compute it
    assert a["sha256"] == "abc" and a.get("sha256") == "abc" and fn.calls == 1 and a.pending() == ()


@pytest.mark.parametrize("read", [
    lambda a: dict(a)["sha256"], lambda a: {**a}["sha256"], lambda a: dict(a.items())["sha256"],
    lambda a: list(a.values())[2], lambda a: json.loads(json.dumps(a))["sha256"],
    lambda a: pickle.loads(pickle.dumps(a))["sha256"], lambda a: "abc" if "'abc'" in repr(a) else None,
    lambda a: a.get("sha256"), lambda a: a.setdefault("sha256", "x"), lambda a: a.pop("sha256"),
    lambda a: (a | {})["sha256"], lambda a: ({} | a)["sha256"], lambda a: dict(**a)["sha256"],
    lambda a: "abc" if a == {"sfreq": 100.0, "subject": "s1", "sha256": "abc", "run": ""} else None,
])
def test_every_read_gives_the_computed_value(read):
    fn = Counter()
    assert read(_attrs(fn)) == "abc" and fn.calls == 1


def test_copies_share_the_pending_value_and_compute_it_once():
    fn = Counter()
    a = _attrs(fn)
    b, c, d = copy.copy(a), copy.deepcopy(a), a.copy()
    assert type(b) is LazyAttrs and b.pending() == c.pending() == d.pending() == ("sha256",) and fn.calls == 0
    assert b["sha256"] == c["sha256"] == d["sha256"] == a["sha256"] == "abc" and fn.calls == 1


def test_a_key_written_before_it_is_read_is_never_computed():
    for write in (lambda a: a.__setitem__("sha256", "given"), lambda a: a.update(sha256="given"),
                  lambda a: a.update({"sha256": "given"}), lambda a: a.__ior__({"sha256": "given"})):
        fn = Counter()
        a = _attrs(fn)
        write(a)
        assert a["sha256"] == "given" and dict(a)["sha256"] == "given" and fn.calls == 0
    fn = Counter()
    a = _attrs(fn)
    del a["sha256"]
    assert "sha256" not in a and dict(a) == {"sfreq": 100.0, "subject": "s1", "run": ""} and fn.calls == 0


def test_sensor_recording_with_a_hash_call_keeps_it_pending_through_xarray():
    fn = Counter("f" * 64)
    rec = sensor_recording(np.zeros((2, 10)), sfreq=100.0, ch_names=["C3", "C4"], ch_types=["eeg", "eeg"],
                           pos=np.zeros((2, 3)), source="x", sha256=fn)
    for derived in (rec.copy(), rec.copy(deep=True), rec.isel(time=slice(0, 5)), rec[["signal"]],
                    rec.sel(channel=["C3"])):
        assert derived.attrs.pending() == ("sha256",)
    recording.validate_recording(rec, "eeg", "x")
    assert fn.calls == 0
    eager = sensor_recording(np.zeros((2, 10)), sfreq=100.0, ch_names=["C3", "C4"], ch_types=["eeg", "eeg"],
                             pos=np.zeros((2, 3)), source="x", sha256="f" * 64)
    xr.testing.assert_identical(rec, eager)  # compares the attrs too: computes the hash
    assert fn.calls == 1 and rec.attrs == eager.attrs and list(rec.attrs) == list(eager.attrs)
    assert pickle.loads(pickle.dumps(rec)).attrs["sha256"] == "f" * 64


def test_lazy_file_sha256_is_the_files_hash_and_empty_for_a_changed_file(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789" * 1000)
    assert lazy_file_sha256(path)() == file_sha256(path)
    later = lazy_file_sha256(path)
    path.write_bytes(b"other bytes")
    os.utime(path, ns=(1, 1))
    with pytest.warns(UserWarning, match=r"a\.bin: the file changed or was removed after it was read"):
        assert later() == ""
    gone = lazy_file_sha256(path)
    path.unlink()
    with pytest.warns(UserWarning, match="a.bin"):
        assert gone() == ""


def test_a_failing_computation_stays_pending_and_threads_compute_once():
    import threading
    import time

    state = {"fail": True, "calls": 0}

    def fn():
        state["calls"] += 1
        if state["fail"]:
            raise OSError("disk")
        time.sleep(0.05)
        return "abc"

    a = _attrs(fn)
    with pytest.raises(OSError):
        a["sha256"]
    assert a.pending() == ("sha256",)
    state["fail"] = False
    out = []
    threads = [threading.Thread(target=lambda: out.append(a["sha256"])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == ["abc"] * 4 and state["calls"] == 2 and a.pending() == ()
