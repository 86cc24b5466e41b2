"""Several processes share one run folder (DDP, ``trainer=ddp_multinode``: every rank runs the same
command with the same ``output_dir``). Concurrent writers of the marker, ``config.yaml`` and
``metrics.json`` never collide on a temporary name, and a rank checking the folder while another
writes the marker never sees a half-written one (that refused the run: "not made by signalkit")."""

from __future__ import annotations

import json
import threading

from signalkit.guard import MARKER, check_target, marker_kind, write_marker
from signalkit.run_folder import prepare_run_dir, write_json, write_text


def _hammer(target, n_threads: int = 8) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def work(i: int) -> None:
        start.wait()
        try:
            target(i)
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_json_and_text_writers(tmp_path):
    def target(i: int) -> None:
        for k in range(150):
            write_json(tmp_path / "metrics.json", {"rank": i, "step": k, "loss": float("nan")})
            write_text(tmp_path / "config.yaml", f"rank: {i}\nstep: {k}\n")

    assert _hammer(target) == []
    doc = json.loads((tmp_path / "metrics.json").read_text())  # one writer's whole document
    assert set(doc) == {"rank", "step", "loss"} and doc["loss"] is None and doc["step"] == 149
    assert (tmp_path / "config.yaml").read_text().endswith("step: 149\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "metrics.json"]  # no temporaries left


def test_ranks_preparing_one_run_folder(tmp_path):
    """Every 'rank' checks and prepares the same fresh folder at once; none is refused."""
    out = tmp_path / "run"

    def target(i: int) -> None:
        for _ in range(100):
            check_target(out, "run", what="output_dir")  # what a rank does before preparing
            prepare_run_dir(out)

    assert _hammer(target) == []
    assert marker_kind(out) == "run"
    assert [p.name for p in out.iterdir()] == [MARKER]


def test_marker_never_half_written(tmp_path):
    """Readers racing one writer that rewrites the marker (other kinds in turn) see a whole marker."""
    folder = tmp_path / "f"
    folder.mkdir()
    write_marker(folder, "run")
    seen: set = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(marker_kind(folder))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for k in range(300):
        write_marker(folder, ("store", "run")[k % 2])
    stop.set()
    for t in readers:
        t.join(timeout=60)
    assert None not in seen and seen <= {"store", "run"}


def test_unchanged_marker_is_not_rewritten(tmp_path):
    write_marker(tmp_path, "run")
    marker = tmp_path / MARKER
    before = marker.stat().st_mtime_ns, marker.stat().st_ino
    write_marker(tmp_path, "run")
    assert (marker.stat().st_mtime_ns, marker.stat().st_ino) == before
