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


@lru_cache(maxsize=8)
def _montage_positions(montage: str) -> dict[str, np.ndarray]:
    dig = mne.channels.make_standard_montage(resolve_montage(montage))
    return {k: np.asarray(v, dtype=np.float64) for k, v in dig.get_positions()["ch_pos"].items()}


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
    """``(C, 3)`` positions in metres of canonical ``names`` in a standard montage (NaN if absent)."""
    table = _montage_positions(montage)
    out = np.full((len(names), 3), np.nan)
    for i, name in enumerate(names):
        if name in table:
            out[i] = table[name]
    return out
