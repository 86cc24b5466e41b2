"""Slow red-team fuzz of issue #17's points 1, 3 and 6 (``-m slow``; 312 attempts):

* 60 generated file names (brackets, quotes, commas, '=', '#', '$', spaces, non-ASCII) ingested from
  the CLI, each as source and store name: exit 0, one recording, the source unchanged;
* 12 kinds of foreign target x 4 commands (ingest, predict, export, train output_dir): exit 2, one
  line naming the argument, every file under tmp_path unchanged;
* 15 numeric keys x 10 wrong values (train and ingest): exit 2, one line naming the key, nothing written;
* 54 label typos and one-class mappings: exit 2, one line listing the store's labels, no run folder.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from signalkit.guard import MARKER
from signalkit.store import open_store

from .guard_utils import assert_one_line, run_cli, tree_hashes, write_edf

pytestmark = pytest.mark.slow

_PIECES = ["(", ")", "[", "]", "{", "}", ",", "=", "'", '"', "#", "$", "~", "+", "@", " ", "ü", "ß", "é", "日本",
           "%", "&", ";", "!", "^", ":", "a", "1", "-", "_"]


def _names(n: int = 60, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        stem = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6))).strip() or "x"
        if stem.startswith("-"):
            stem = "x" + stem
        name = f"{stem}.edf"
        if name not in out:
            out.append(name)
    return out


@pytest.mark.parametrize("name", _names())
def test_fuzz_ingest_file_names(capsys, tmp_path, name):
    src = write_edf(tmp_path / name)
    digest = tree_hashes(tmp_path)
    store = tmp_path / f"{name[:-4]}.zarr"
    code, err = run_cli(capsys, "ingest", "eeg", src, store, "progress=false")
    assert code == 0, (name, err)
    assert len(open_store(store)) == 1
    assert {k: v for k, v in tree_hashes(tmp_path).items() if k in digest} == digest


def _foreign(kind: str, tmp_path, src):
    """Build a target signalkit must not replace; returns (path, needle in the error)."""
    t = tmp_path / "target"
    if kind == "file":
        t.write_text("x")
    elif kind == "folder":
        t.mkdir(); (t / "a.txt").write_text("a")
    elif kind == "nested":
        (t / "sub").mkdir(parents=True); (t / "sub" / "b.bin").write_bytes(b"\0\1")
    elif kind == "fake_zarr":
        t.mkdir(); (t / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    elif kind == "bad_marker":
        t.mkdir(); (t / MARKER).write_text("{not json"); (t / "c.txt").write_text("c")
    elif kind == "other_kind":
        t.mkdir(); (t / MARKER).write_text(json.dumps({"kind": "elsewhere"})); (t / "d.txt").write_text("d")
    elif kind == "link_dir":
        (tmp_path / "real").mkdir(); (tmp_path / "real" / "e.txt").write_text("e"); os.symlink(tmp_path / "real", t)
    elif kind == "link_file":
        (tmp_path / "f.txt").write_text("f"); os.symlink(tmp_path / "f.txt", t)
    elif kind == "source":
        return src, "source"
    elif kind == "source_folder":
        return src.parent, "source"
    elif kind == "cwd":
        return ".", "working folder"
    elif kind == "parent_of_cwd":
        return str(tmp_path), "working folder"
    return t, "target"


KINDS = ["file", "folder", "nested", "fake_zarr", "bad_marker", "other_kind", "link_dir", "link_file", "source",
         "source_folder", "cwd", "parent_of_cwd"]


@pytest.mark.parametrize("command", ["ingest", "predict", "export", "train"])
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_foreign_targets(capsys, tmp_path, monkeypatch, small_store, command, kind):
    data = tmp_path / "data"
    data.mkdir()
    src = write_edf(data / "rec.edf") if command == "ingest" else data / "x.ckpt"
    if command != "ingest":
        src.write_bytes(b"not a checkpoint")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    target, needle = _foreign(kind, tmp_path, src)
    before = tree_hashes(tmp_path)
    key = {"ingest": "store:", "predict": "output:", "export": "out:", "train": "output_dir:"}[command]
    if command == "ingest":
        args = ["ingest", "eeg", src, target]
    elif command == "predict":
        args = ["predict", f"ckpt_path={src}", f"output={target}"]
    elif command == "export":
        args = ["export", f"ckpt_path={src}", f"out={target}"]
    else:
        if kind in ("source", "source_folder"):
            target = small_store
        args = ["train", "experiment=eeg/motor_imagery", f"data.store={small_store}", f"output_dir={target}"]
    code, err = run_cli(capsys, *args)
    assert_one_line(code, err, key, needle if needle != "target" else "")
    assert tree_hashes(tmp_path) == before


NUMERIC = ["trainer.max_epochs", "trainer.max_steps", "trainer.log_every_n_steps", "data.batch_size", "data.num_workers",
           "task.lr", "task.weight_decay", "seed", "data.window_s", "trainer.gradient_clip_val",
           "jobs", "preprocess.l_freq", "preprocess.h_freq", "preprocess.notch", "preprocess.resample"]
WRONG = ["abc", "fast", "[1,2]", "{a: 1}", "nan", "inf", "true", "-1e9", "''", "1x"]


@pytest.mark.parametrize("value", WRONG)
@pytest.mark.parametrize("key", NUMERIC)
def test_fuzz_wrong_values(capsys, tmp_path, small_store, key, value):
    before = tree_hashes(tmp_path)
    if key == "jobs" or key.startswith("preprocess."):
        src = tmp_path / "rec.edf"
        write_edf(src)
        before = tree_hashes(tmp_path)
        args = ["ingest", "eeg", src, tmp_path / "s.zarr", f"{key}={value}"]
    else:
        args = ["train", "experiment=eeg/motor_imagery", f"data.store={small_store}", f"output_dir={tmp_path / 'r'}",
                f"{key}={value}"]
    code, err = run_cli(capsys, *args)
    assert_one_line(code, err, f"{key}:")
    assert tree_hashes(tmp_path) == before


def _label_cases(n: int = 54, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    cases = ["{left_hand: 0}", "{right_hand: 0}", "[left_hand]", "{left_hand: 0, right_hand: 0}"]
    while len(cases) < n:
        word = list(rng.choice(["left_hand", "right_hand"]))
        i = rng.randrange(len(word))
        op = rng.choice(["swap", "drop", "case", "add"])
        if op == "swap" and i + 1 < len(word):
            word[i], word[i + 1] = word[i + 1], word[i]
        elif op == "drop":
            del word[i]
        elif op == "case":
            word[i] = word[i].upper()
        else:
            word.insert(i, rng.choice("xyz_"))
        typo = "".join(word)
        if typo in ("left_hand", "right_hand"):
            continue
        other = "right_hand" if "left" in typo else "left_hand"
        case = f"{{{other}: 0, {typo}: 1}}"
        if case not in cases:
            cases.append(case)
    return cases


@pytest.mark.parametrize("events", _label_cases())
def test_fuzz_labels(capsys, tmp_path, small_store, events):
    code, err = run_cli(capsys, "train", "experiment=eeg/motor_imagery", f"data.store={small_store}",
                        f"output_dir={tmp_path / 'run'}", f"data.events={events}")
    assert_one_line(code, err, "data.events:", "left_hand (16)", "right_hand (16)")
    assert not (tmp_path / "run").exists()
