"""Readers: one per format family, each returning a Recording (``xarray.Dataset``).

``READERS`` (a :class:`signalkit.registry.Registry`) maps a modality to its reader function, with the
file extensions it accepts as the entry's ``extensions``; the reader modules register themselves
there and are imported on the first lookup, so that ``signalkit ingest <modality>`` finds them.
"""

from __future__ import annotations

import glob as _glob
import os
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


def expand_sources(source: str | os.PathLike | list, modality: str, **filters) -> list[str]:
    """Files named by ``source``: a file, a glob, a folder (searched recursively) or a list of them.

    A file given explicitly is returned even with an unknown extension (its reader reports it);
    folders and globs keep only files the modality's reader accepts. EEGLAB ``.fdt`` and
    BrainVision ``.eeg``/``.vmrk`` companions are never returned on their own. ``filters``
    (e.g. ``subjects``, ``tasks`` for a BIDS dataset) go to the modality's own expansion.
    """
    if isinstance(source, (list, tuple)):
        return [f for s in source for f in expand_sources(s, modality, **filters)]
    exts = reader_extensions(modality)
    text = str(source)
    expand = READERS.meta(modality).get("expand")
    if expand is not None:
        own = expand(text, **filters)
        if own is not None:
            return own
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
