"""Labels are checked before training: a typo in ``data.events`` is an error, not a perfect score.

:func:`check_labels` refuses (one :class:`~signalkit.errors.ConfigError` line naming
``data.events`` and listing the labels the store has, with counts):

* a configured label that no recording of the store holds;
* fewer than two classes (one-class "decoding" scores 1.0 whatever the model does);
* a class without windows in the training split, or in a non-empty test split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import pandas as pd

from signalkit.errors import ConfigError
from signalkit.recording import str_values


def store_label_counts(store) -> Counter:
    """``{label: number of events}`` over every recording of ``store``."""
    counts: Counter = Counter()
    for rid in store:
        ds = store[rid]
        if ds.sizes.get("event", 0) and "event_label" in ds:
            counts.update(str(v) for v in str_values(ds["event_label"].values))
    return counts


def _listing(counts: Counter) -> str:
    if not counts:
        return "the store has no event labels"
    return "the store has " + ", ".join(f"{k} ({n})" for k, n in sorted(counts.items()))


def check_labels(store, mapping: Mapping[str, int], names: Sequence[str], splits: Mapping[str, pd.DataFrame],
                 key: str = "data.events") -> None:
    """Raise :class:`ConfigError` unless ``mapping`` ({label: class}) fits ``store`` and ``splits``.

    Args:
        store: an open :class:`~signalkit.store.Store`.
        mapping: label -> class id (from :func:`~signalkit.datamodules.windows.label_mapping`).
        names: class names ordered by class id.
        splits: ``{"train"|"val"|"test": index table}`` with a ``target`` column.
    """
    counts = store_label_counts(store)
    missing = [label for label in mapping if counts.get(label, 0) == 0]
    if missing:
        raise ConfigError(f"{key}: no events labelled {', '.join(map(repr, missing))} in {store.path}; "
                          f"{_listing(counts)}")
    if len(names) < 2:
        raise ConfigError(f"{key}: {len(names)} class(es) ({', '.join(names) or 'none'}); decoding needs at "
                          f"least two; {_listing(counts)}")
    for stage in ("train", "test"):
        index = splits.get(stage)
        if index is None or (stage != "train" and index.empty):
            continue
        have = Counter(int(t) for t in index["target"])
        empty = [names[c] for c in range(len(names)) if have.get(c, 0) == 0]
        if empty:
            per_class = ", ".join(f"{names[c]} ({have.get(c, 0)})" for c in range(len(names)))
            raise ConfigError(f"{key}: class(es) {', '.join(empty)} have no windows in the {stage} split "
                              f"(windows per class: {per_class}); {_listing(counts)}")


__all__ = ["check_labels", "store_label_counts"]
