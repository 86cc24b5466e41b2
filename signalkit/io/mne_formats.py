"""Which files MNE reads: the extension table of ``mne.io.read_raw`` and how a folder's files
group into recordings (companion files, folder formats such as CTF ``.ds`` and EGI ``.mff``).

The table is MNE's own (``mne.io.read_raw``'s list of supported formats), so every format that
MNE reads is accepted without a list kept here by hand; epoched FIF (``-epo.fif``) is added.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from signalkit.errors import ConfigError

# Epoched files read with mne.read_epochs (their suffix also ends in .fif, which read_raw takes).
EPOCH_SUFFIXES = ("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")
# MNE formats stored as a folder (one recording per folder; never descend into them).
FOLDER_EXTENSIONS = (".ds", ".mff")
# Generic extensions other software uses too (notes, MATLAB workspaces, NIfTI/Analyze headers):
# a folder walk keeps them only when a glob or the path names them explicitly.
_GENERIC = (".txt", ".mat", ".bin", ".hdr", ".asc", ".dat", ".data", ".raw")
# (primary, companion): the companion is part of the primary's recording (same stem, same folder).
_COMPANIONS = {
    ".eeg": (".vhdr", ".ahdr"),  # BrainVision data file (a Nihon Kohden .eeg has no .vhdr beside it)
    ".dat": (".lay", ".dap", ".rs3", ".cdt"),  # Persyst / Curry data files
    ".dap": (".dat", ".cdt"), ".rs3": (".dat", ".cdt"), ".cef": (".cdt", ".dat"),
    ".cdt.dpa": (".cdt",), ".cdt.cef": (".cdt",),
}


# Files an MNE reader takes that read_raw's table leaves out: EGI simple binary (read_raw_egi).
_EXTRA = {".raw": ("EGI", "read_raw_egi")}


@lru_cache(maxsize=1)
def _supported() -> dict[str, dict[str, Callable]]:
    """MNE's ``{extension: {format name: reader}}`` table behind ``mne.io.read_raw`` (plus
    :data:`_EXTRA`, read with the named reader directly)."""
    try:
        import mne
        from mne.io._read_raw import _get_supported

        table = {k.lower(): dict(v) for k, v in _get_supported().items()}
        for ext, (fmt, func) in _EXTRA.items():
            if ext not in table and hasattr(mne.io, func):
                table[ext] = {fmt: getattr(mne.io, func)}
        return table
    except ImportError:  # pragma: no cover - an MNE without the table: the formats it always had
        import mne

        return {".edf": {"EDF": mne.io.read_raw_edf}, ".bdf": {"BDF": mne.io.read_raw_bdf},
                ".gdf": {"GDF": mne.io.read_raw_gdf}, ".fif": {"FIF": mne.io.read_raw_fif},
                ".fif.gz": {"FIF": mne.io.read_raw_fif}, ".vhdr": {"BrainVision": mne.io.read_raw_brainvision},
                ".set": {"EEGLAB": mne.io.read_raw_eeglab}}


def raw_extensions() -> tuple[str, ...]:
    """Every extension ``mne.io.read_raw`` reads (lower case, with the dot), MNE's table."""
    return tuple(_supported())


def sensor_extensions() -> tuple[str, ...]:
    """The extensions the EEG/MEG/iEEG readers accept: MNE's raw formats plus epoched FIF."""
    return tuple(dict.fromkeys(raw_extensions() + EPOCH_SUFFIXES))


@lru_cache(maxsize=1)
def _longest_first() -> tuple[str, ...]:
    """The epoch suffixes, then MNE's extensions longest first (the order :func:`split_ext` tries)."""
    return EPOCH_SUFFIXES + tuple(sorted(_supported(), key=len, reverse=True))


def split_ext(path: str | os.PathLike) -> str | None:
    """The longest known extension of ``path`` (``.fif.gz``, ``.cdt.dpa``, ``-epo.fif``), or None."""
    name = os.path.basename(os.fspath(path).rstrip("/")).lower()
    for ext in _longest_first():
        if name.endswith(ext):
            return ext
    return None


def is_epoched(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an MNE epochs file (``-epo.fif``)."""
    return split_ext(path) in EPOCH_SUFFIXES


def direct_reader(path: str | os.PathLike) -> Callable | None:
    """The MNE reader to call directly for an extension read_raw does not route (EGI ``.raw``)."""
    ext = split_ext(path)
    if ext in _EXTRA:
        import mne

        return getattr(mne.io, _EXTRA[ext][1], None)
    return None


def raw_readers(path: str | os.PathLike) -> list[Callable]:
    """The MNE reader functions ``read_raw`` would try for ``path`` (in its order)."""
    ext = split_ext(path)
    return list(_supported().get(ext, {}).values()) if ext else []


def check_mne_kwargs(path: str | os.PathLike, kwargs: dict) -> dict:
    """Keep the keys of ``kwargs`` the format's MNE reader takes; :class:`ConfigError` naming the
    first key no reader of this format accepts (``preload``/``verbose`` are set by signalkit)."""
    kwargs = dict(kwargs or {})
    for key in ("preload", "verbose", "fname", "input_fname"):
        if key in kwargs:
            raise ConfigError(f"mne_kwargs.{key}: set by signalkit, not configurable")
    if not kwargs:
        return kwargs
    readers = raw_readers(path)
    if not readers:
        return kwargs
    accepted: set[str] = set()
    for reader in readers:
        params = inspect.signature(reader).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return kwargs
        accepted |= set(params)
    for key in kwargs:
        if key not in accepted:
            names = ", ".join(r.__name__ for r in readers)
            raise ConfigError(f"mne_kwargs.{key}: not an option of {names} (options: "
                              f"{', '.join(sorted(accepted - {'preload', 'verbose'}))})")
    return kwargs


def _stem_key(path: str) -> tuple[str, str]:
    ext = split_ext(path) or Path(path).suffix.lower()
    name = Path(path).name
    return str(Path(path).parent), name[: len(name) - len(ext)].lower()


def select_sources(files: Sequence[str], explicit_exts: Sequence[str] = ()) -> list[str]:
    """Drop companion files of a recording found by a folder walk or a glob.

    A BrainVision ``.eeg``/``.vmrk``, a Persyst or Curry ``.dat`` and Curry's ``.dap``/``.rs3``/
    ``.cef`` are left out when their primary file (``.vhdr``, ``.lay``, ``.cdt``...) with the same
    stem is in the same folder; generic extensions (``.txt``, ``.mat``, ``.bin``...) are kept only
    when ``explicit_exts`` names them (the glob asked for them).
    """
    by_stem: dict[tuple[str, str], set[str]] = {}
    for f in files:
        by_stem.setdefault(_stem_key(f), set()).add(split_ext(f) or "")
    out = []
    for f in files:
        ext = split_ext(f) or ""
        if ext in _GENERIC and ext not in explicit_exts:
            continue
        primaries = _COMPANIONS.get(ext, ())
        if any(p in by_stem[_stem_key(f)] for p in primaries):
            continue
        out.append(f)
    return out


def walk_sources(folder: str, exts: Sequence[str]) -> list[str]:
    """Files (and folder-format recordings such as ``.ds``/``.mff``) under ``folder`` whose name
    ends with one of ``exts``, without descending into folder-format recordings."""
    found = []
    for root, dirs, names in os.walk(folder):
        keep = []
        for d in sorted(dirs):
            if d.lower().endswith(FOLDER_EXTENSIONS) and d.lower().endswith(tuple(exts)):
                found.append(os.path.join(root, d))
            else:
                keep.append(d)
        dirs[:] = keep
        found += [os.path.join(root, n) for n in names if n.lower().endswith(tuple(exts))]
    return sorted(found)
