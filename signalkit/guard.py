"""Paths signalkit writes are guarded: it replaces only what it made itself.

Every folder signalkit writes as a whole (a store, a forecast, a run folder, a pretrained
folder) carries a marker file ``.signalkit`` (JSON: ``kind``, ``signalkit_version``). Before
a command replaces or writes into a path, :func:`check_target` refuses (one line, exit 2):

* a path that exists and is not signalkit's (a file, or a folder without the marker; stores
  written before the marker existed are recognised by their zarr attrs ``schema_version``);
* a source being read by the same command, or a folder holding one;
* the working folder or a folder above it.

Interrupted-write recovery (:mod:`signalkit.store`) deletes only folders carrying the marker.

:func:`atomic_path` / :func:`write_text_atomic` are the one way signalkit writes a single file
atomically (markers, run-folder JSON and YAML, checkpoints, pretrained folders): a temporary
sibling unique to the writer, moved into place with ``os.replace``, removed on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from signalkit.errors import ConfigError
from signalkit.version import __version__

MARKER = ".signalkit"
KINDS = ("store", "forecast", "run", "pretrained")


def is_local(path: str | os.PathLike) -> bool:
    """Whether ``path`` is on the local file system (not an fsspec URL such as ``s3://``)."""
    text = str(path)
    return "://" not in text or text.startswith("file://")


def _local(path: str | os.PathLike) -> Path:
    text = str(path)
    return Path(text[len("file://"):] if text.startswith("file://") else text)


def tmp_sibling(path: str | os.PathLike) -> Path:
    """A temporary name beside ``path`` that no other process or thread uses at the same time:
    ``.<name>.<pid>-<hex>.tmp`` (hidden; a name that is hidden already keeps its one dot)."""
    path = Path(path)
    return path.with_name(f".{path.name.lstrip('.')}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """``with atomic_path(p) as tmp:`` write ``tmp``; when the block ends without an error ``tmp``
    is moved onto ``p`` (``os.replace``: a reader sees the old file or the new one, never half of
    one). ``tmp`` is removed if anything fails."""
    path = Path(path)
    tmp = tmp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write the text file ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_marker(folder: str | os.PathLike, kind: str) -> None:
    """Write signalkit's marker file into ``folder`` (which must exist; local paths only).

    Atomic (:func:`write_text_atomic`: a temporary ``.signalkit.<pid>-<hex>.tmp`` moved into place) and left alone when
    it already says the same: the processes of a multi-node run that share one run folder each call
    this, and a reader never sees a half-written marker.
    """
    if not is_local(folder):
        return
    path = _local(folder)
    payload = {"kind": kind, "signalkit_version": __version__}
    try:
        if json.loads((path / MARKER).read_text()) == payload:
            return
    except (OSError, ValueError):
        pass
    write_text_atomic(path / MARKER, json.dumps(payload) + "\n")


def _empty(folder: Path) -> bool:
    """No entries except other processes' marker files being written (``.signalkit.*.tmp``)."""
    return all(p.name.startswith(MARKER + ".") and p.name.endswith(".tmp") for p in folder.iterdir())


def marker_kind(folder: str | os.PathLike) -> str | None:
    """The ``kind`` in ``folder``'s marker file; ``"store"`` for a store written before the marker
    (zarr attrs with ``schema_version``); ``None`` when signalkit did not make ``folder``."""
    path = _local(folder)
    marker = path / MARKER
    if marker.is_file():
        try:
            kind = json.loads(marker.read_text()).get("kind")
        except (OSError, ValueError, AttributeError):
            return None
        return str(kind) if kind in KINDS else None
    config = path / "config.json"
    if config.is_file():
        try:
            doc = json.loads(config.read_text())
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict) and doc.get("format") == "signalkit-pretrained":
            return "pretrained"
    run_config = path / "config.yaml"
    if run_config.is_file():  # a run folder written before the marker: its resolved run config
        try:
            keys = {line.split(":", 1)[0] for line in run_config.read_text().splitlines() if ":" in line}
        except (OSError, UnicodeDecodeError):
            keys = set()
        if {"data", "model", "task", "trainer", "output_dir"} <= keys:
            return "run"
    meta = path / "zarr.json"
    if meta.is_file():
        try:
            doc = json.loads(meta.read_text())
        except (OSError, ValueError):
            return None
        attrs = doc.get("attributes", {}) if isinstance(doc, dict) else {}
        if isinstance(attrs, dict) and "schema_version" in attrs and "recordings" in attrs:
            return "store"
        if isinstance(attrs, dict) and attrs.get("description", "").startswith("signalkit weather forecasts"):
            return "forecast"
    return None


def _within(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def check_target(path: str | os.PathLike, kind: str, *, what: str, sources: Iterable[str | os.PathLike] = (),
                 allow_empty: bool = True) -> None:
    """Refuse (:class:`ConfigError`, naming ``what`` and the path) to write ``kind`` at ``path``
    unless it is absent, an empty folder, or a folder signalkit made as ``kind``.

    Args:
        path: the folder about to be written or replaced (local paths only are checked).
        kind: ``store``, ``forecast``, ``run`` or ``pretrained``.
        what: the argument or config key naming the path (``store``, ``output``, ``output_dir``, ``out``).
        sources: files the same command reads; the target may be none of them nor hold one.
    """
    if not is_local(path):
        return
    target = _local(path).absolute()
    real = Path(os.path.realpath(target))
    cwd = Path(os.path.realpath(os.getcwd()))
    if _within(cwd, real):
        raise ConfigError(f"{what}: {path} is the working folder (or holds it); signalkit will not replace it")
    for src in sources:
        if not str(src) or not is_local(src):
            continue
        src_real = Path(os.path.realpath(_local(src)))
        if src_real == real:
            raise ConfigError(f"{what}: {path} is also a source being read; choose another path")
        if _within(src_real, real):
            raise ConfigError(f"{what}: {path} holds a source being read ({src}); choose another path")
    if not os.path.lexists(target):
        return
    if not target.is_dir() or target.is_symlink():
        raise ConfigError(f"{what}: {path} exists and is not a folder signalkit made; move it away or choose another path")
    found = marker_kind(target)
    if found is None and allow_empty and _empty(target):
        return
    if found is None:  # another process may have moved its marker in since the first look (it stays there)
        found = marker_kind(target)
    if found == kind:
        return
    made = f"a signalkit {found}" if found else "not made by signalkit"
    raise ConfigError(f"{what}: {path} exists and is {made} (expected a signalkit {kind}); "
                      f"move it away or choose another path")


__all__ = ["KINDS", "MARKER", "check_target", "is_local", "marker_kind", "write_marker"]
