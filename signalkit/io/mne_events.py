"""Events of a Raw as MNE gives them: its annotations, and the stim channel's events from
``mne.find_events`` with MNE's defaults and MNE's default choice of stim channel.

MNE's choice (``MNE_STIM_CHANNEL`` from MNE's config, then ``STI101``, then ``STI 014``, else every
channel typed ``stim``; EDF/BDF ``Status``/``Trigger`` channels are typed stim by MNE's reader).
When MNE falls back to every stim-typed channel, analog ones (values that are not whole
numbers, such as a +-10 V ``STI301``) are left out: they hold no trigger codes. Events closer
than two samples (one-sample triggers) make ``find_events`` refuse with its defaults; as its
message advises for such data, they are then read with ``shortest_event=1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import mne
import numpy as np
import xarray as xr

from signalkit.errors import ConfigError
from signalkit.recording import event_variables

IGNORED_ANNOTATIONS = ("bad", "edge")
SOURCES = ("auto", "annotations", "stim", "none")


def annotation_events(raw: mne.io.BaseRaw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(onset_s, duration_s, label)`` of the annotations, onsets relative to the first sample.

    ``BAD_*``/``EDGE`` annotations are not events (BrainVision's ``Comment/BAD_x`` included).
    """
    ann = raw.annotations
    keep = [i for i, d in enumerate(ann.description)
            if not d.rsplit("/", 1)[-1].lower().startswith(IGNORED_ANNOTATIONS)]
    if not keep:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=str)
    onsets = np.asarray(ann.onset)[keep]
    idx = raw.time_as_index(onsets, use_rounding=True, origin=ann.orig_time)
    labels = np.asarray([str(d) for d in np.asarray(ann.description)[keep].tolist()], dtype=str)
    return idx / raw.info["sfreq"], np.asarray(ann.duration)[keep], labels


def _is_digital(raw: mne.io.BaseRaw, name: str) -> bool:
    i = raw.ch_names.index(name)
    values = raw._data[i] if raw.preload else raw.get_data(picks=[i], verbose="error")[0]
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def default_stim_channels(raw: mne.io.BaseRaw) -> list[str]:
    """MNE's default stim channel(s) for ``raw`` (see module docstring), analog ones left out."""
    from mne.utils.config import _get_stim_channel, get_config

    try:
        names = list(_get_stim_channel(None, raw.info, raise_error=False))
    except ValueError:
        return []
    named = names[:1] in (["STI101"], ["STI 014"]) or (names and names[0] == get_config("MNE_STIM_CHANNEL"))
    if names and not named:  # MNE's fallback: every stim-typed channel
        names = [n for n in names if _is_digital(raw, n)]
    return names


def stim_events(
    raw: mne.io.BaseRaw,
    stim_channel: str | Sequence[str] | None = None,
    *,
    mask: int | None = None,
    consecutive: bool | str = "increasing",
    min_duration: float = 0.0,
) -> np.ndarray:
    """``(E, 3)`` events of ``mne.find_events`` (sample from the recording start, previous, code).

    ``stim_channel=None`` uses MNE's default choice; ``mask`` (e.g. the 16 trigger bits of a
    BioSemi ``Status`` channel: 65535) is applied with MNE's ``mask_type="and"``.
    """
    if stim_channel is None:
        channels = default_stim_channels(raw)
    else:
        channels = [stim_channel] if isinstance(stim_channel, str) else list(stim_channel)
        missing = [c for c in channels if c not in raw.ch_names]
        if missing:
            raise ConfigError(f"events.stim_channel: {missing[0]!r} is not a channel of the file")
    if not channels:
        return np.zeros((0, 3), dtype=np.int64)
    kwargs = dict(stim_channel=channels, consecutive=consecutive, min_duration=min_duration,
                  mask=mask, mask_type="and", verbose="error")
    try:
        found = mne.find_events(raw, **kwargs)
    except ValueError as err:
        if "shortest_event" not in str(err):
            raise
        found = mne.find_events(raw, shortest_event=1, **kwargs)
    found = np.asarray(found, dtype=np.int64).reshape(-1, 3)
    found[:, 0] -= raw.first_samp
    return found


def raw_events(raw: mne.io.BaseRaw, config: dict | None = None) -> dict[str, xr.Variable]:
    """The Recording's event variables of ``raw`` (see :func:`~signalkit.recording.event_variables`).

    ``config`` keys: ``source`` (``auto``: annotations and stim events; ``annotations``; ``stim``;
    ``none``), ``stim_channel`` (name or names; default MNE's choice), ``mask``, ``consecutive``
    (MNE's ``"increasing"`` by default; ``true`` also takes a return to a non-zero baseline),
    ``min_duration`` (s). Stim events are labelled by their code (``"1"``, ``"32"``) and last 0 s.
    """
    cfg = {"source": "auto", "stim_channel": None, "mask": None, "consecutive": "increasing",
           "min_duration": 0.0, **(config or {})}
    unknown = set(cfg) - {"source", "stim_channel", "mask", "consecutive", "min_duration"}
    if unknown:
        raise ConfigError(f"events: unknown key(s) {sorted(unknown)} (keys: source, stim_channel, mask, "
                          "consecutive, min_duration)")
    source = cfg["source"]
    if source not in SOURCES:
        raise ConfigError(f"events.source: expected {'|'.join(SOURCES)}, got {source!r}")
    consecutive = cfg["consecutive"]
    if consecutive not in (True, False, "increasing"):
        raise ConfigError(f"events.consecutive: expected true, false or increasing, got {consecutive!r}")
    mask = cfg["mask"]
    if mask is not None and (isinstance(mask, bool) or not isinstance(mask, int) or mask <= 0):
        raise ConfigError(f"events.mask: expected a positive integer bit mask, got {mask!r}")
    onset, duration, label = [np.zeros(0)], [np.zeros(0)], [np.zeros(0, dtype=str)]
    if source in ("auto", "annotations"):
        o, d, lab = annotation_events(raw)
        onset.append(o), duration.append(d), label.append(lab)
    if source in ("auto", "stim"):
        found = stim_events(raw, cfg["stim_channel"], mask=mask, consecutive=consecutive,
                            min_duration=float(cfg["min_duration"] or 0.0))
        found = found[found[:, 2] != 0]
        onset.append(found[:, 0] / raw.info["sfreq"])
        duration.append(np.zeros(len(found)))
        label.append(found[:, 2].astype(str))
    onset_all = np.concatenate(onset)
    order = np.argsort(onset_all, kind="stable")
    labels = np.asarray([str(v) for x in label for v in np.asarray(x).tolist()], dtype=str)
    return event_variables(onset_all[order], np.concatenate(duration)[order], labels[order])
