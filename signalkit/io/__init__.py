"""Readers: one per format family, each returning a Recording (``xarray.Dataset``).

``READERS`` (a :class:`signalkit.registry.Registry`) maps a modality to its reader function, with the
file extensions it accepts as the entry's ``extensions``; the reader modules register themselves
there and are imported on the first lookup, so that ``signalkit ingest <modality>`` finds them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from signalkit.errors import InputError
from signalkit.registry import Registry

READERS: Registry[Callable[..., xr.Dataset]] = Registry(
    "modality", "modality", name_key="modality",
    modules=("signalkit.io.mne_reader", "signalkit.io.weather", "signalkit.io.video", "signalkit.io.nifti"),
)


def register_reader(modality: str, read: Callable[..., xr.Dataset], extensions: tuple[str, ...],
                    expand: Callable[..., list[str] | None] | None = None) -> None:
    """Register (or replace) the reader of a modality. ``expand(source, **filters) -> list[str] |
    None`` is the modality's own expansion of a folder or glob (companion files, folder formats,
    datasets); None from it falls back to the default expansion."""
    READERS.register(modality, read, replace=True, extensions=tuple(e.lower() for e in extensions),
                     expand=expand)


def get_reader(modality: str) -> Callable[..., xr.Dataset]:
    """The reader ``read(path, **kwargs) -> Recording`` of ``modality``; :class:`ConfigError` listing the
    known ones."""
    return READERS.get_builder(modality)


def reader_extensions(modality: str) -> tuple[str, ...]:
    """File extensions (lower case, with the dot) the reader of ``modality`` accepts."""
    return READERS.meta(modality)["extensions"]


def read_recording(path: str | os.PathLike, modality: str = "eeg", **kwargs) -> xr.Dataset:
    """Read one file of ``modality`` into a Recording (see DESIGN.md section 3)."""
    return get_reader(modality)(path, **kwargs)


def _real_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _scan(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder or ".") as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:  # unreadable folder, dangling link: nothing found there (as glob does)
        return []


def safe_glob(pattern: str) -> list[str]:
    """Files matching ``pattern`` (``glob.glob(pattern, recursive=True)`` semantics), sorted,
    each real file once.

    Directory symlinks are followed, but every (real directory, rest of pattern) pair is visited
    once, so symlink loops end (``glob`` would walk them until the path is too long) and a folder
    reachable through several links is listed once; files reached through several paths (links,
    overlapping ``**``) are returned once, under the first path in sorted order.
    """
    from fnmatch import fnmatchcase

    anchor, rest = os.path.splitdrive(pattern)
    absolute = rest.startswith(os.sep)
    parts = [p for p in rest.split(os.sep) if p]
    magic = re.compile(r"[*?[]")
    start = anchor + (os.sep if absolute else "")
    seen: set = set()
    found: list[str] = []

    def walk(base: str, i: int) -> None:
        key = (_real_key(base or "."), i)
        if key[0] is None or key in seen:
            return
        seen.add(key)
        if i == len(parts):
            if os.path.isfile(base):
                found.append(base)
            return
        head = parts[i]
        if head == "**":
            walk(base, i + 1)  # zero folders
            last = i == len(parts) - 1  # a trailing ** matches files too
            for entry in _scan(base):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    walk(os.path.join(base, entry.name), i)
                elif last and entry.is_file():
                    found.append(os.path.join(base, entry.name))
        elif magic.search(head):
            for entry in _scan(base):
                if (head.startswith(".") or not entry.name.startswith(".")) and fnmatchcase(entry.name, head):
                    walk(os.path.join(base, entry.name), i + 1)
        else:
            nxt = os.path.join(base, head) if base else head
            if os.path.lexists(nxt):
                walk(nxt, i + 1)

    walk(start, 0)
    out, real = [], set()
    for path in sorted(found):
        key = _real_key(path)
        if key not in real:
            real.add(key)
            out.append(path)
    return out


def expand_sources(source: str | os.PathLike | list, modality: str, **filters) -> list[str]:
    """Files named by ``source``: a file, a glob, a folder (searched recursively) or a list of them.

    A file given explicitly is returned even with an unknown extension (its reader reports it);
    folders and globs keep only files the modality's reader accepts. EEGLAB ``.fdt`` and
    BrainVision ``.eeg``/``.vmrk`` companions are never returned on their own. ``filters``
    (e.g. ``subjects``, ``tasks`` for a BIDS dataset) go to the modality's own expansion.
    """
    if isinstance(source, (list, tuple)):
        out, real = [], set()
        for f in (f for s in source for f in expand_sources(s, modality, **filters)):
            key = _real_key(f) or f
            if key not in real:  # one real file named twice is read once
                real.add(key)
                out.append(f)
        return out
    exts = reader_extensions(modality)
    text = str(source)
    expand = READERS.meta(modality).get("expand")
    if expand is not None:
        own = expand(text, **filters)
        if own is not None:
            return own
    if any(ch in text for ch in "*?["):
        files = safe_glob(text)
    elif os.path.isdir(text) and text.rstrip("/").lower().endswith(exts):
        return [text.rstrip("/")]  # a folder that is itself a source (a .zarr store)
    elif os.path.isdir(text):
        files = safe_glob(os.path.join(text, "**", "*"))
    elif "://" in text or os.path.exists(text) or Path(text).suffix:
        return [text]
    else:
        raise InputError(f"{text}: no such file or folder")
    files = [f for f in files if any(f.lower().endswith(e) for e in exts)]
    if not files:
        raise InputError(f"{text}: no {modality} files found (extensions {', '.join(exts)})")
    return files
