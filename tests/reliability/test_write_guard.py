"""Paths signalkit writes are guarded: ingest, predict, export and train output_dir replace only
what signalkit made (issue #17, point 1). Each test builds the bad target, runs the CLI, and checks
the exit code, the one line, and that every file around is unchanged (sha256 of the whole tree)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from signalkit.guard import MARKER, check_target, marker_kind
from signalkit.errors import ConfigError

from .guard_utils import assert_one_line, run_cli, tree_hashes, write_edf


@pytest.fixture
def rec(tmp_path) -> Path:
    return write_edf(tmp_path / "rec.edf")


def test_ingest_refuses_a_regular_file(capsys, tmp_path, rec):
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "ingest", "eeg", rec, tmp_path / "notes.txt")
    assert_one_line(code, err, "store:", "notes.txt", "not a folder signalkit made")
    assert tree_hashes(tmp_path) == before


def test_ingest_refuses_the_source_itself(capsys, tmp_path, rec):
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "ingest", "eeg", rec, rec)
    assert_one_line(code, err, "store:", "rec.edf", "source")
    assert tree_hashes(tmp_path) == before


def test_ingest_refuses_the_folder_holding_the_source(capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_edf(data / "rec.edf")
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "ingest", "eeg", data / "rec.edf", data)
    assert_one_line(code, err, "store:", "holds a source")
    code, err = run_cli(capsys, "ingest", "eeg", data, data)
    assert_one_line(code, err, "store:", "source")
    assert tree_hashes(tmp_path) == before


def test_ingest_refuses_the_working_folder(capsys, tmp_path, rec, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("years of work")
    monkeypatch.chdir(work)
    before = tree_hashes(tmp_path)
    for store in (".", str(work), str(tmp_path)):
        code, err = run_cli(capsys, "ingest", "eeg", rec, store)
        assert_one_line(code, err, "store:", "working folder")
    assert tree_hashes(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.edf", "work"]  # no moved-aside backup


def test_ingest_refuses_a_folder_that_is_not_a_store(capsys, tmp_path, rec):
    user = tmp_path / "photos.zarr"
    user.mkdir()
    (user / "cat.jpg").write_bytes(b"\xff\xd8 not a store")
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "ingest", "eeg", rec, user)
    assert_one_line(code, err, "store:", "photos.zarr", "not made by signalkit")
    assert tree_hashes(tmp_path) == before


def test_ingest_replaces_its_own_store_and_marks_it(capsys, tmp_path, rec):
    store = tmp_path / "s.zarr"
    assert run_cli(capsys, "ingest", "eeg", rec, store)[0] == 0
    assert json.loads((store / MARKER).read_text())["kind"] == "store"
    assert run_cli(capsys, "ingest", "eeg", rec, store)[0] == 0  # re-ingest: its own store
    (store / MARKER).unlink()  # a store written before the marker: recognised by its zarr attrs
    assert marker_kind(store) == "store"
    assert run_cli(capsys, "ingest", "eeg", rec, store)[0] == 0
    assert (store / MARKER).is_file()
    empty = tmp_path / "empty.zarr"
    empty.mkdir()  # an empty folder holds nothing to lose
    assert run_cli(capsys, "ingest", "eeg", rec, empty)[0] == 0


def test_recovery_deletes_only_what_carries_the_marker(capsys, tmp_path, rec):
    """A dead run's leftovers are removed only when they carry signalkit's marker; a user's folder
    that happens to be named like one (dead pid and all) is left alone."""
    store = tmp_path / "s.zarr"
    users = tmp_path / "s.zarr.old-999999-deadbeef"
    users.mkdir()
    (users / "keep.txt").write_text("mine")
    ours = tmp_path / "s.zarr.partial-999998-cafecafe"
    ours.mkdir()
    (ours / MARKER).write_text(json.dumps({"kind": "store", "signalkit_version": "0"}))
    keep = tree_hashes(users)
    assert run_cli(capsys, "ingest", "eeg", rec, store)[0] == 0
    assert not ours.exists()
    assert tree_hashes(users) == keep
    # no store in place: a user's folder named like a backup is not moved into the store's place
    import shutil

    shutil.rmtree(store)
    from signalkit.store import open_store
    from signalkit.errors import StoreError

    with pytest.raises(StoreError):
        open_store(store)
    assert tree_hashes(users) == keep and not store.exists()


def test_predict_refuses_an_existing_folder(capsys, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "paper.pdf").write_bytes(b"%PDF")
    (tmp_path / "forecast.txt").write_text("a file")
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "predict", f"ckpt_path={tmp_path / 'x.ckpt'}", f"output={out}")
    assert_one_line(code, err, "output:", "results", "not made by signalkit")
    code, err = run_cli(capsys, "predict", f"ckpt_path={tmp_path / 'x.ckpt'}", f"output={tmp_path / 'forecast.txt'}")
    assert_one_line(code, err, "output:", "forecast.txt")
    assert tree_hashes(tmp_path) == before


def test_export_refuses_an_existing_folder(capsys, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text('{"mine": true}')
    before = tree_hashes(tmp_path)
    code, err = run_cli(capsys, "export", f"ckpt_path={tmp_path / 'x.ckpt'}", f"out={out}")
    assert_one_line(code, err, "out:", "model", "not made by signalkit")
    assert tree_hashes(tmp_path) == before


def test_train_output_dir_refuses_a_file_a_foreign_folder_and_the_working_folder(capsys, tmp_path, small_store,
                                                                                  monkeypatch):
    (tmp_path / "a_file").write_text("x")
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "config.yaml").write_text("my: own config\n")
    monkeypatch.chdir(foreign)
    before = tree_hashes(tmp_path)
    base = ["train", "experiment=eeg/motor_imagery", f"data.store={small_store}"]
    for target, needle in ((tmp_path / "a_file", "not a folder"), (foreign, "working folder"),
                           (".", "working folder"), (small_store, "source")):
        code, err = run_cli(capsys, *base, f"output_dir={target}")
        assert_one_line(code, err, "output_dir:", needle)
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(capsys, *base, f"output_dir={foreign}")
    assert_one_line(code, err, "output_dir:", "docs", "not made by signalkit")
    assert tree_hashes(tmp_path) == before


@pytest.mark.parametrize("kind", ["store", "forecast", "run", "pretrained"])
def test_check_target_accepts_only_its_own_kind(tmp_path, kind):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / MARKER).write_text(json.dumps({"kind": kind}))
    check_target(folder, kind, what="out")
    other = next(k for k in ("store", "forecast", "run", "pretrained") if k != kind)
    with pytest.raises(ConfigError, match=f"is a signalkit {kind}"):
        check_target(folder, other, what="out")
    link = tmp_path / "link"
    os.symlink(folder, link)
    with pytest.raises(ConfigError, match="not a folder"):
        check_target(link, kind, what="out")  # a link is never replaced (its target may be anything)


def test_atomic_path_moves_the_file_into_place_only_when_the_block_succeeds(tmp_path):
    """The one atomic-write helper (markers, run-folder files, checkpoints, pretrained folders)."""
    from signalkit.guard import atomic_path, tmp_sibling, write_text_atomic

    target = tmp_path / "metrics.json"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            assert tmp.parent == tmp_path and tmp.name.startswith(".metrics.json.") and tmp.name.endswith(".tmp")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    a, b = tmp_sibling(tmp_path / ".signalkit"), tmp_sibling(tmp_path / ".signalkit")
    assert a != b and a.name.startswith(".signalkit.") and not a.name.startswith("..")
