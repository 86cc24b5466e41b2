"""Checks made before and after MNE opens a file, so that a damaged or invalid file ends as one
:class:`InputError` naming it (never a silently wrong signal, a hang or MNE's internal message).

- EDF/BDF: header sizes against the file size (a record count of -1, "unknown", is valid: MNE
  reads the whole records on disk), digital and physical ranges that are empty (min == max),
  files holding no signal (an annotations-only EDF+ such as a hypnogram).
- BrainVision: the marker and data files the header names exist, and the data file holds a whole
  number of samples of every channel.
- FIF: the tag chain does not loop (MNE would follow it forever).
"""

from __future__ import annotations

import configparser
import re
import struct
from pathlib import Path

from signalkit.errors import InputError

_ANNOT_LABELS = ("edf annotations", "bdf annotations")


def one_line(err: BaseException, limit: int = 240) -> str:
    """An exception's type and first line, cut at a word boundary to at most ``limit`` chars."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " ..."
    return f"{type(err).__name__}: {text}"


def unreadable(path: Path, err: BaseException) -> InputError:
    """The one-line error for a file MNE fails on (MaxShield files get the way out named)."""
    if "maxshield" in str(err).lower():
        return InputError(f"{path}: recorded with MaxShield (internal active shielding) on; process it with "
                          "MaxFilter first, or read it anyway with mne_kwargs.allow_maxshield=true")
    return InputError(f"{path}: cannot read the file ({one_line(err)})")


def _field(blob: bytes, start: int, width: int) -> str:
    return blob[start:start + width].decode("latin-1").strip()


def check_edf(path: Path) -> None:
    """Validate an EDF/BDF header against the file (see module docstring)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise InputError(f"{path}: cannot read the file (truncated: no complete 256-byte EDF header)")
        try:
            n_sig = int(_field(head, 252, 4))
            n_rec = int(_field(head, 236, 8))
        except ValueError:
            return  # MNE reports a malformed header itself
        if n_sig <= 0 or n_sig > 100_000:
            return
        sig = fh.read(256 * n_sig)
    if len(sig) < 256 * n_sig:
        raise InputError(f"{path}: the file is truncated (its header announces {n_sig} signals)")

    def column(offset: int, width: int) -> list[str]:
        base = n_sig * offset
        return [_field(sig, base + i * width, width) for i in range(n_sig)]

    labels = column(0, 16)
    data = [i for i, lab in enumerate(labels) if lab.lower() not in _ANNOT_LABELS]
    if not data:
        raise InputError(f"{path}: the file holds no signal channels (annotations only, e.g. a hypnogram EDF+); "
                         "it has no recording to read")
    pmin, pmax = column(16 + 80 + 8, 8), column(16 + 80 + 16, 8)
    dmin, dmax = column(16 + 80 + 24, 8), column(16 + 80 + 32, 8)
    for kind, lo, hi in (("digital", dmin, dmax), ("physical", pmin, pmax)):
        try:
            empty = [labels[i] for i in data if float(lo[i]) == float(hi[i])]
        except ValueError:
            continue
        if empty:
            raise InputError(f"{path}: channel(s) {', '.join(empty[:5])} have an empty {kind} range "
                             f"({kind} minimum == maximum): the signal cannot be scaled")
    try:
        per_record = sum(int(n) for n in column(16 + 80 + 8 * 5 + 80, 8))
    except ValueError:
        return
    width = 3 if path.suffix.lower() == ".bdf" else 2
    on_disk = (size - 256 * (n_sig + 1)) // max(1, per_record * width)
    if n_rec > 0 and on_disk < n_rec:
        raise InputError(f"{path}: the file is truncated (its header announces {n_rec} data records, "
                         f"the file holds {on_disk})")


def _vhdr(path: Path) -> configparser.ConfigParser:
    text = path.read_bytes().decode("utf-8", errors="replace")
    text = text[text.find("["):] if "[" in text else ""
    cfg = configparser.ConfigParser(interpolation=None, strict=False)
    cfg.optionxform = str
    try:
        cfg.read_string(text)
    except configparser.Error:
        pass  # MNE reports a malformed header itself
    return cfg


_BV_BYTES = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}


def check_brainvision(path: Path) -> None:
    """The marker and data files a BrainVision header names exist; the data is whole samples."""
    cfg = _vhdr(path)
    if not cfg.has_section("Common Infos"):
        return
    common = cfg["Common Infos"]
    for key, what in (("MarkerFile", "marker"), ("DataFile", "data")):
        name = common.get(key, "").strip()
        if name and not (path.parent / name).is_file():
            raise InputError(f"{path}: its {what} file {name} (header key {key}) is missing")
    name = common.get("DataFile", "").strip()
    try:
        n_ch = int(common.get("NumberOfChannels", "0"))
    except ValueError:
        return
    fmt = cfg.get("Binary Infos", "BinaryFormat", fallback="").strip().upper()
    if not name or n_ch <= 0 or fmt not in _BV_BYTES or common.get("DataFormat", "BINARY").strip().upper() != "BINARY":
        return
    frame = n_ch * _BV_BYTES[fmt]
    size = (path.parent / name).stat().st_size
    if size == 0 or size % frame:
        raise InputError(f"{path}: its data file {name} is truncated ({size} bytes is not a whole number of "
                         f"samples of {n_ch} channels x {_BV_BYTES[fmt]} bytes)")


def check_marker_range(path: Path, caught_warnings: list) -> None:
    """A BrainVision/EEGLAB file whose markers lie past the end of its data was cut short."""
    for w in caught_warnings:
        if re.search(r"annotation\(s\) that were outside data range", str(w.message)):
            raise InputError(f"{path}: the data is truncated (markers lie past the end of the recorded samples)")


def check_fif_chain(path: Path) -> None:
    """Walk a FIF file's tag chain (16-byte headers: kind, type, size, next) as MNE does when the
    tag directory is damaged; a chain that loops or runs backwards would hang MNE forever."""
    size = path.stat().st_size
    seen: set[int] = set()
    pos = 0
    with open(path, "rb") as f:
        while pos is not None and pos + 16 <= size:
            if pos in seen or pos < 0:
                raise InputError(f"{path}: cannot read the file (corrupt FIF: its tag chain loops at byte {pos})")
            seen.add(pos)
            f.seek(pos)
            _, _, tag_size, nxt = struct.unpack(">iIii", f.read(16))
            pos = pos + 16 + tag_size if nxt == 0 else (nxt if nxt > 0 else None)
