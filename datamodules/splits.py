"""Leakage-free splits of a window index by subject, session, run or time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from signalkit.errors import ConfigError

STAGES = ("train", "val", "test")
GROUP_KEYS = {"subject": ["subject"], "session": ["subject", "session"],
              "run": ["subject", "session", "run"], "recording": ["recording"]}


def _counts(n: int, fractions: Sequence[float]) -> tuple[int, int, int]:
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or f.sum() <= 0:
        raise ConfigError(f"data.split.fractions: expected three non-negative numbers, got {list(fractions)}")
    f = f / f.sum()
    n_test = int(round(n * f[2])) if f[2] > 0 else 0
    n_val = int(round(n * f[1])) if f[1] > 0 else 0
    if n >= 3:
        n_test = max(n_test, 1 if f[2] > 0 else 0)
        n_val = max(n_val, 1 if f[1] > 0 else 0)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ConfigError(f"data.split: {n} group(s) cannot be split into train/val/test with fractions {list(fractions)}")
    return n_train, n_val, n_test


def _same_id(a: str, b: str) -> bool:
    """Equal ids, numeric ones by value (run ``1`` is run ``01``)."""
    return a == b or (a.isdigit() and b.isdigit() and int(a) == int(b))


def split_index(
    index: pd.DataFrame,
    by: str = "subject",
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    assign: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Split a window index into ``train``/``val``/``test`` with no group in two splits.

    Args:
        index: one row per window with columns ``recording, start, stop, subject, session, run``.
        by: ``subject`` | ``session`` | ``run`` | ``recording`` | ``time``. Group splits put whole
            groups in one split (seeded shuffle); ``time`` cuts each recording's time axis at the
            cumulative fractions and drops windows that straddle a cut.
        fractions: train/val/test shares of groups (or of time).
        assign: explicit group ids per stage (``{"test": ["S003"]}``), overriding the shuffle;
            unassigned groups go to ``train``. An id names a whole key (``001/1/03``), a subject
            (``001``), or with ``by=session`` / ``by=run`` the session / run id (``03``: run 03
            of every subject, as in leave-one-run-out; numeric ids match by value, ``1`` = ``01``).
    """
    if index.empty:
        raise ConfigError("data: no windows to split (check data.events and data.window_s)")
    if by == "time":
        return _split_time(index, fractions)
    if by not in GROUP_KEYS:
        raise ConfigError(f"data.split.by: expected one of {', '.join([*GROUP_KEYS, 'time'])}, got {by!r}")
    keys = index[GROUP_KEYS[by]].astype(str).agg("/".join, axis=1)
    groups = sorted(keys.unique())
    if assign:
        unknown = set(assign) - set(STAGES)
        if unknown:
            raise ConfigError(f"data.split.assign: unknown stage(s) {sorted(unknown)}")
        stage_of = {g: "train" for g in groups}
        for stage, members in assign.items():
            for g in members:
                # a group's full key, else (splits by session / run) its own id, else its subject:
                # run "1" of subject "1" is the run, not the whole subject
                matches = ([k for k in groups if k == str(g)]
                           or [k for k in groups if by != "subject" and _same_id(k.split("/")[-1], str(g))]
                           or [k for k in groups if k.split("/")[0] == str(g)])
                if not matches:
                    have = sorted({k.split("/")[-1] for k in groups})
                    raise ConfigError(f"data.split.assign.{stage}: no {by} {g!r} in the store "
                                      f"(its {by}s: {', '.join(have)})")
                for k in matches:
                    stage_of[k] = stage
    else:
        rng = np.random.default_rng(seed)
        order = [groups[i] for i in rng.permutation(len(groups))]
        n_train, n_val, _ = _counts(len(groups), fractions)
        stage_of = {g: ("train" if i < n_train else "val" if i < n_train + n_val else "test")
                    for i, g in enumerate(order)}
    stage = keys.map(stage_of)
    return {s: index[stage == s].reset_index(drop=True) for s in STAGES}


def _split_time(index: pd.DataFrame, fractions: Sequence[float]) -> dict[str, pd.DataFrame]:
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()
    out = {s: [] for s in STAGES}
    for _, rows in index.groupby("recording", sort=False):
        n = int(rows["n_times"].iloc[0])
        cuts = np.concatenate([[0], np.round(np.cumsum(f) * n).astype(int)])
        for k, s in enumerate(STAGES):
            inside = (rows["start"] >= cuts[k]) & (rows["stop"] <= cuts[k + 1])
            out[s].append(rows[inside])
    return {s: pd.concat(v).reset_index(drop=True) if v else index.iloc[:0] for s, v in out.items()}
