"""Subject, session and run identifiers from file paths (BIDS entities or a user pattern)."""

from __future__ import annotations

import re
from pathlib import Path

from signalkit.errors import ConfigError

_BIDS = {k: re.compile(rf"(?:^|[_/\\]){k}-([A-Za-z0-9]+)") for k in ("sub", "ses", "run")}
_PHYSIONET = re.compile(r"S(?P<subject>\d{3})R(?P<run>\d{2})")


def parse_identity(path: str | Path, pattern: str | None = None) -> dict[str, str]:
    """Return ``{"subject", "session", "run"}`` (strings, possibly empty) for a file.

    ``pattern`` is a regular expression with named groups ``subject``/``session``/``run``
    searched in the full path; without one, BIDS entities (``sub-01_ses-1_run-2``) are used,
    then the PhysioNet ``S001R03`` convention, and finally the file stem as subject.
    """
    text = str(path)
    if pattern:
        try:
            match = re.search(pattern, text)
        except re.error as err:
            raise ConfigError(f"subject_pattern: invalid regular expression ({err})") from None
        if match is None:
            raise ConfigError(f"subject_pattern: {pattern!r} does not match {text}")
        groups = match.groupdict()
        return {k: str(groups.get(k) or "") for k in ("subject", "session", "run")}
    name = Path(text).name
    bids = {k: (m.group(1) if (m := rx.search(name)) else "") for k, rx in _BIDS.items()}
    if bids["sub"]:
        return {"subject": bids["sub"], "session": bids["ses"], "run": bids["run"]}
    physionet = _PHYSIONET.search(name)
    if physionet:
        return {"subject": physionet["subject"], "session": "", "run": physionet["run"]}
    stem = name.split(".")[0]
    return {"subject": stem, "session": "", "run": ""}
