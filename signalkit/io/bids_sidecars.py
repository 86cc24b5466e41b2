"""BIDS file names for NIfTI runs: entities, the inheritance rule for sidecars, masks under ``derivatives/``.

A BIDS name is ``key-value`` entities joined by ``_`` and ending in a suffix
(``sub-1_task-objectviewing_acq-25mm_run-01_bold.nii.gz``). A sidecar such as ``events.tsv``
applies to every data file whose entities include its own (the inheritance principle), so
``sub-1_task-objectviewing_run-01_events.tsv`` serves both ``acq-25mm`` and ``acq-1slice`` of run 1;
sidecars are looked up in the file's folder and its parents up to the dataset root (the folder
holding ``dataset_description.json``), the most specific one winning.
"""

from __future__ import annotations

import re
from pathlib import Path

from signalkit.errors import InputError

_ENTITY = re.compile(r"^([a-zA-Z0-9]+)-([a-zA-Z0-9]+)$")


def entities(path: str | Path) -> dict[str, str]:
    """``{key: value}`` of a BIDS file name (extension and suffix dropped); ``{}`` for other names."""
    name = Path(path).name.split(".")[0]
    out: dict[str, str] = {}
    for part in name.split("_"):
        m = _ENTITY.match(part)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def dataset_root(path: str | Path) -> Path | None:
    """The nearest parent folder holding ``dataset_description.json`` (None outside a BIDS tree)."""
    for parent in Path(path).resolve().parents:
        if (parent / "dataset_description.json").exists():
            return parent
    return None


def inherited_sidecar(path: str | Path, suffix: str) -> Path | None:
    """The sidecar ``*_<suffix>`` (e.g. ``events.tsv``) that applies to ``path`` by BIDS inheritance.

    Candidates carry a subset of the file's entities with the same values; the one with most
    entities in the nearest folder wins. Two equally specific candidates are an error (ambiguous).
    """
    path = Path(path)
    own = entities(path)
    root = dataset_root(path)
    folders = [path.parent]
    if root is not None:
        folders += [p for p in path.resolve().parent.parents if p == root or root in p.parents]
    for folder in folders:
        best: list[tuple[int, Path]] = []
        for cand in folder.glob(f"*{suffix}"):
            if not cand.name.endswith("_" + suffix) and cand.name != suffix:
                continue
            ents = entities(cand)
            if all(own.get(k) == v for k, v in ents.items()):
                best.append((len(ents), cand))
        if best:
            best.sort(key=lambda t: -t[0])
            if len(best) > 1 and best[0][0] == best[1][0]:
                raise InputError(f"{path}: ambiguous {suffix} sidecars {best[0][1].name} and {best[1][1].name}")
            return best[0][1]
    return None


def derivative_mask(path: str | Path, label: str, required: bool = True) -> Path | None:
    """The mask ``derivatives/*/sub-<s>/[...]*_label-<label>_mask.nii[.gz]`` that matches ``path``.

    A mask matches when its ``sub``, ``ses`` and ``acq`` entities (those it has) equal the file's.
    Raises :class:`InputError` naming the file and label when several match, or when none does and
    ``required`` (otherwise returns None: e.g. Haxby's ``acq-1slice`` grid has no mask, ``acq-25mm`` has).
    """
    path = Path(path)
    own = entities(path)
    root = dataset_root(path)
    if root is None or not (root / "derivatives").is_dir():
        if not required:
            return None
        raise InputError(f"{path}: mask label {label!r} asked for but the BIDS dataset has no derivatives/ folder")
    found = []
    for cand in sorted((root / "derivatives").rglob(f"*_label-{label}_mask.nii*")):
        ents = entities(cand)
        if all(ents.get(k) == own.get(k) for k in ("sub", "ses", "acq") if k in ents or k in own):
            found.append(cand)
    if not found and not required:
        return None
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise InputError(f"{path}: {what} derivatives mask with label-{label} for "
                         f"{', '.join(f'{k}-{own[k]}' for k in ('sub', 'ses', 'acq') if k in own)}")
    return found[0]
