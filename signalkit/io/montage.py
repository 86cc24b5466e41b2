"""Channel-name normalisation and standard montage positions (through MNE)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import mne
import numpy as np

from signalkit.errors import ConfigError

_PREFIX = re.compile(r"^(EEG|EOG|ECG|EMG|MEG)[\s_-]+", re.IGNORECASE)
_SUFFIX = re.compile(r"([\s_-]+(REF|LE|RE|AVG|AR|CAR|M1|M2|A1|A2))$", re.IGNORECASE)


def clean_channel_name(name: str) -> str:
    """Strip decoration that EEG systems add to 10-20 names.

    ``"Fc5."`` -> ``"Fc5"``, ``"EEG C3-REF"`` -> ``"C3"``, ``"C3..."`` -> ``"C3"``.
    """
    out = name.strip().strip(".").strip()
    out = _PREFIX.sub("", out)
    out = _SUFFIX.sub("", out)
    return out.strip(".").strip()


# MNE 1.13 renamed the template montages (standard_* -> colin27_*); accept both spellings.
_ALIASES = {
    f"standard_{k}": f"colin27_{k}"
    for k in ("1005", "1020", "alphabetic", "postfixed", "prefixed", "primed")
}


def resolve_montage(montage: str) -> str:
    """The name this MNE version knows for ``montage``; :class:`ConfigError` if none."""
    builtin = mne.channels.get_builtin_montages()
    if montage in builtin:
        return montage
    for a, b in _ALIASES.items():
        if montage == a and b in builtin:
            return b
        if montage == b and a in builtin:
            return a
    raise ConfigError(
        f"montage: unknown montage name {montage!r} (known: {', '.join(builtin[:10])}, ...)"
    )


@lru_cache(maxsize=16)
def _montage_positions(montage: str) -> dict[str, np.ndarray]:
    """A template montage's positions in MNE's head frame (metres), as ``raw.set_montage`` puts
    them in ``info["chs"][i]["loc"]``: the montage's own frame moved to the head frame defined
    by its fiducials (``mne.channels.compute_native_head_t``)."""
    dig = mne.channels.make_standard_montage(resolve_montage(montage))
    pos = dig.get_positions()
    names = list(pos["ch_pos"])
    xyz = np.array([pos["ch_pos"][n] for n in names], dtype=np.float64)
    if pos["coord_frame"] != "head":
        trans = mne.channels.compute_native_head_t(dig, verbose="error")
        xyz = mne.transforms.apply_trans(trans, xyz)
    return dict(zip(names, xyz))


_BIOSEMI = re.compile(r"^[A-H]([1-9]|[12][0-9]|3[0-2])$")
_EGI = re.compile(r"^E[1-9][0-9]{0,2}$")
_BIOSEMI_NETS = ("biosemi128", "biosemi160", "biosemi256")
_EGI_NETS = ("GSN-HydroCel-32", "GSN-HydroCel-64_1.0", "GSN-HydroCel-128", "GSN-HydroCel-256")


def _smallest_covering(names: Sequence[str], nets: Sequence[str]) -> str | None:
    builtin = mne.channels.get_builtin_montages()
    for net in nets:
        if net in builtin and set(names) <= set(_montage_positions(net)):
            return net
    return None


def naming_system(names: Sequence[str], default: str = "standard_1005") -> str | None:
    """The template montage whose naming system ``names`` (EEG channel names) follow, or None.

    BioSemi ABC labels (``A1``..``H32``) get the smallest BioSemi ABC cap holding them all,
    EGI labels (``E1``..``E256``) the smallest GSN HydroCel net holding them all (or None when
    none does); 10-20/10-05 names get ``default``. The system is the one most names follow,
    so ``A1``, ``C3``, ``F1`` in a BioSemi file are never given 10-05 positions by coincidence.
    """
    cleaned = [clean_channel_name(n) for n in names]
    lookup = {k.lower() for k in _montage_positions(default)}
    n_1005 = sum(c.lower() in lookup for c in cleaned)
    biosemi = [c.upper() for c in cleaned if _BIOSEMI.match(c.upper())]
    egi = [c.upper() for c in cleaned if _EGI.match(c.upper())]
    if len(egi) > n_1005 and len(egi) >= len(biosemi):
        return _smallest_covering(egi, _EGI_NETS)
    if len(biosemi) > n_1005:
        return _smallest_covering(biosemi, _BIOSEMI_NETS)
    return default if n_1005 else None


def canonical_names(names: Sequence[str], montage: str) -> dict[str, str]:
    """Map each raw channel name to the montage's canonical spelling when it matches.

    Matching is case-insensitive after :func:`clean_channel_name`; names that match nothing
    are left out of the returned mapping. Example: ``{"Fc5.": "FC5", "Cz..": "Cz"}``.
    """
    lookup = {k.lower(): k for k in _montage_positions(montage)}
    out: dict[str, str] = {}
    for name in names:
        hit = lookup.get(clean_channel_name(name).lower())
        if hit is not None:
            out[name] = hit
    return out


def montage_positions(names: Sequence[str], montage: str) -> np.ndarray:
    """``(C, 3)`` head-frame positions in metres of canonical ``names`` in a template montage
    (NaN if absent), equal to the ``loc`` that ``raw.set_montage(montage)`` gives them."""
    table = _montage_positions(montage)
    out = np.full((len(names), 3), np.nan)
    for i, name in enumerate(names):
        if name in table:
            out[i] = table[name]
    return out
