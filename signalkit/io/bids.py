"""BIDS through mne-bids: datasets (``sub-*/[ses-*/]<datatype>/``) and the sidecar tables
(``*_electrodes.tsv`` + ``*_coordsystem.json``) beside a single file.

A file inside a BIDS root (a folder holding ``dataset_description.json``) is read with
``mne_bids.read_raw_bids``: channel types and bad channels from ``channels.tsv``, events from
``events.tsv``, positions from ``electrodes.tsv`` (mne-bids moves them to MNE's frames).
A BIDS-named file outside a root still gets the positions of the electrodes table beside it.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np

from signalkit.errors import ConfigError, InputError

_ENTITY = re.compile(r"([a-zA-Z]+)-([a-zA-Z0-9]+)")
_UNITS = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}


def _entities(name: str) -> dict[str, str]:
    stem = name.split(".")[0]
    return {k: v for k, v in (_ENTITY.fullmatch(part).groups() for part in stem.split("_")
                              if _ENTITY.fullmatch(part))}


def bids_root(path: str | Path) -> Path | None:
    """The BIDS root above ``path`` (the nearest parent with ``dataset_description.json``)."""
    for parent in Path(path).resolve().parents:
        if (parent / "dataset_description.json").is_file():
            return parent
    return None


def _import_mne_bids():
    try:
        import mne_bids
    except ImportError:
        raise ConfigError("BIDS datasets are read with mne-bids: pip install 'signalkit-ml[bids]'") from None
    return mne_bids


def sidecar_electrodes(path: str | Path) -> tuple[Path, Path] | None:
    """``(electrodes.tsv, coordsystem.json)`` beside ``path`` whose entities (``sub``, ``ses``,
    ``acq``, ``space``) agree with the file's; the one with most agreeing entities wins."""
    path = Path(path)
    own = _entities(path.name)
    if "sub" not in own:
        return None
    best, score = None, -1
    for tsv in path.parent.glob("*_electrodes.tsv"):
        ent = _entities(tsv.name)
        if any(own.get(k) not in (None, v) for k, v in ent.items() if k != "space"):
            continue
        coords = tsv.with_name(tsv.name.replace("_electrodes.tsv", "_coordsystem.json"))
        if not coords.is_file():
            space = {k: v for k, v in ent.items() if k != "space"}
            cands = [c for c in path.parent.glob("*_coordsystem.json")
                     if {k: v for k, v in _entities(c.name).items() if k != "space"} == space]
            if not cands:
                continue
            coords = cands[0]
        if len(ent) > score:
            best, score = (tsv, coords), len(ent)
    return best


def _datatype_key(datatype: str) -> str:
    return {"eeg": "EEG", "meg": "MEG", "ieeg": "iEEG"}.get(datatype, "EEG")


def apply_electrodes(raw: mne.io.BaseRaw, tsv: Path, coords: Path, datatype: str) -> dict:
    """Set the positions of the electrodes table on ``raw``; return ``{"frame", "names"}``.

    A coordinate system mne-bids knows goes through ``mne_bids``' own reading (positions moved
    as read_raw_bids moves them); another one (e.g. FreeSurfer ``LIA``) keeps the table's
    coordinates, in metres, in that system. ``names``: channels the table gives a position.
    """
    try:
        meta = json.loads(coords.read_text(encoding="utf-8"))
        with open(tsv, newline="", encoding="utf-8") as fh:
            table = list(csv.reader(fh, delimiter="\t"))
    except (OSError, ValueError) as err:
        raise InputError(f"{tsv}: cannot read the electrodes table ({type(err).__name__}: {err})") from None
    key = _datatype_key(datatype)
    frame = str(meta.get(f"{key}CoordinateSystem", ""))
    unit = str(meta.get(f"{key}CoordinateUnits", "m"))
    names = {}
    header = table[0] if table else []
    cols = [header.index(c) if c in header else -1 for c in ("name", "x", "y", "z")]
    if min(cols) >= 0:
        channels, scale = set(raw.ch_names), _UNITS.get(unit, 1.0)
        for row in table[1:]:
            try:
                xyz = [float(row[c]) for c in cols[1:]]
            except (IndexError, ValueError):
                continue  # "n/a" or a short row: no position
            name = row[cols[0]]
            if name in channels and all(np.isfinite(xyz)):
                names[name] = np.array(xyz) * scale
    if not names:
        return {"frame": frame, "names": set()}
    try:
        from mne_bids.config import ALLOWED_SPACES, BIDS_TO_MNE_FRAMES
        from mne_bids.dig import _read_dig_bids

        known = frame in ALLOWED_SPACES.get(datatype, ()) and frame in BIDS_TO_MNE_FRAMES and unit in _UNITS
    except ImportError:
        known = False
    if known:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _read_dig_bids(str(tsv), str(coords), datatype, raw)
    else:
        for ch in raw.info["chs"]:
            if ch["ch_name"] in names:
                ch["loc"][:3] = names[ch["ch_name"]]
    return {"frame": frame, "names": set(names)}


def read_bids_raw(path: Path, root: Path, datatype: str, extra_params: dict | None = None) -> mne.io.BaseRaw:
    """``mne_bids.read_raw_bids`` of a file inside the BIDS dataset at ``root`` (``extra_params``:
    keyword options of the format's MNE reader)."""
    mne_bids = _import_mne_bids()
    try:
        bpath = mne_bids.get_bids_path_from_fname(path, check=False)
        bpath.update(root=root, datatype=bpath.datatype or datatype, check=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mne_bids.read_raw_bids(bpath, extra_params=extra_params or None, verbose="error")
    except (ConfigError, InputError):
        raise
    except Exception as err:
        from signalkit.io.mne_checks import unreadable

        raise unreadable(path, err) from None


def bids_sources(root: str | Path, datatype: str, extensions: Sequence[str],
                 subjects: Sequence[str] | None = None, tasks: Sequence[str] | None = None) -> list[str]:
    """The recordings of ``datatype`` in the BIDS dataset at ``root`` (``subjects``/``tasks``
    filter them; ids without the ``sub-``/``task-`` prefix)."""
    mne_bids = _import_mne_bids()
    exts = [e for e in extensions if e in (".edf", ".bdf", ".vhdr", ".set", ".fif", ".gdf", ".cnt", ".mff",
                                           ".ds", ".sqd", ".con", ".mef", ".nwb", ".eeg", ".lay")]
    subs = _ids(root, "subject", subjects, "sub-", mne_bids)
    tks = _ids(root, "task", tasks, "task-", mne_bids)
    paths = mne_bids.find_matching_paths(root, subjects=subs, tasks=tks, datatypes=datatype,
                                         suffixes=datatype, extensions=exts or None)
    from signalkit.io.mne_formats import select_sources

    files = select_sources(sorted({str(p.fpath) for p in paths}))
    if not files:
        raise InputError(f"{root}: no {datatype} recordings in the BIDS dataset"
                         + (f" for subjects {list(subs)}" if subs else "") + (f" tasks {list(tks)}" if tks else ""))
    return files


def _ids(root, entity: str, wanted, prefix: str, mne_bids) -> list[str] | None:
    """The dataset's ``entity`` values named by ``wanted`` (``"01"``, ``"sub-01"``, or ``1`` as a
    command line gives ``01``); an id the dataset lacks is a :class:`ConfigError`."""
    if not wanted:
        return None
    have = list(mne_bids.get_entity_vals(root, entity))
    out = []
    for w in ([wanted] if isinstance(wanted, (str, int)) else list(wanted)):
        text = str(w).removeprefix(prefix)
        hits = [h for h in have if h == text or (text.isdigit() and h.isdigit() and int(h) == int(text))]
        if not hits:
            raise ConfigError(f"{'subjects' if entity == 'subject' else 'tasks'}: {w!r} is not a {entity} of "
                              f"{root} (has: {', '.join(have[:10])})")
        out += hits
    return out
