"""Readers: one per format family, each returning a Recording (``xarray.Dataset``).

``READERS`` maps a modality to its reader function and the file extensions it accepts;
modalities register themselves here so that ``signalkit ingest <modality>`` finds them.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from signalkit.errors import ConfigError, InputError


@dataclass(frozen=True)
class Reader:
    """A modality's reader: ``read(path, **kwargs) -> Recording`` and its file extensions."""

    read: Callable[..., xr.Dataset]
    extensions: tuple[str, ...]


READERS: dict[str, Reader] = {}
_BUILTIN_LOADED = False


def register_reader(modality: str, read: Callable[..., xr.Dataset], extensions: tuple[str, ...]) -> None:
    """Register (or replace) the reader of a modality."""
    READERS[modality] = Reader(read, tuple(e.lower() for e in extensions))


def _register_builtin() -> None:
    from functools import partial

    from signalkit.io.mne_reader import EXTENSIONS, read_sensor

    for modality in ("eeg", "meg", "ieeg"):
        register_reader(modality, partial(read_sensor, modality=modality), EXTENSIONS)
    from signalkit.registry import import_optional

    import_optional(("signalkit.io.weather", "signalkit.io.video", "signalkit.io.nifti"))


def get_reader(modality: str) -> Reader:
    """Return the reader of ``modality`` or raise :class:`ConfigError` listing the known ones."""
    global _BUILTIN_LOADED
    if not _BUILTIN_LOADED:  # a modality module imported first may already have registered itself
        _BUILTIN_LOADED = True
        _register_builtin()
    if modality not in READERS:
        raise ConfigError(f"modality: unknown modality {modality!r} (known: {', '.join(sorted(READERS))})")
    return READERS[modality]


def read_recording(path: str | os.PathLike, modality: str = "eeg", **kwargs) -> xr.Dataset:
    """Read one file of ``modality`` into a Recording (see DESIGN.md section 3)."""
    return get_reader(modality).read(path, **kwargs)


def expand_sources(source: str | os.PathLike | list, modality: str) -> list[str]:
    """Files named by ``source``: a file, a glob, a folder (searched recursively) or a list of them.

    A file given explicitly is returned even with an unknown extension (its reader reports it);
    folders and globs keep only files the modality's reader accepts. EEGLAB ``.fdt`` and
    BrainVision ``.eeg``/``.vmrk`` companions are never returned on their own.
    """
    if isinstance(source, (list, tuple)):
        return [f for s in source for f in expand_sources(s, modality)]
    exts = get_reader(modality).extensions
    text = str(source)
    if any(ch in text for ch in "*?["):
        files = sorted(f for f in _glob.glob(text, recursive=True) if os.path.isfile(f))
    elif os.path.isdir(text) and text.rstrip("/").lower().endswith(exts):
        return [text.rstrip("/")]  # a folder that is itself a source (a .zarr store)
    elif os.path.isdir(text):
        files = sorted(str(p) for p in Path(text).rglob("*") if p.is_file())
    elif "://" in text or os.path.exists(text) or Path(text).suffix:
        return [text]
    else:
        raise InputError(f"{text}: no such file or folder")
    files = [f for f in files if any(f.lower().endswith(e) for e in exts)]
    if not files:
        raise InputError(f"{text}: no {modality} files found (extensions {', '.join(exts)})")
    return files
