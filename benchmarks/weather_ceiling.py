"""How much of the +6 h change of WFDE5 UK 2 m temperature is predictable from the file itself?

Linear models on local features, scored like ``benchmarks/weather.py`` (test days 26-31 Jan 2017,
land points, WB2 latitude weights, every test init time whose valid time is in the test days):

* persistence, and persistence plus the hour-of-day climatological change (training days);
* ridge regression shared by all land pixels on a ``k x k`` neighbourhood of: the current field,
  its changes over the last 1, 2, 3, 6, 12, 18 and 24 h, yesterday's change over the same
  6 hours, the climatological change, the last 24 h range and its products with both changes,
  and the land mask (``(k*k*14)`` features), fitted on the training days (1-20 Jan);
* the same ridge fitted on the test days themselves (in-sample): an upper bound for any linear
  model on these features, however it is trained.

    python benchmarks/weather_ceiling.py [--data FILE] [--lead 6] [--k 5]

The file holds one variable over land only (the sea, 55 % of the grid, is missing), so the
air masses that arrive from the Atlantic within 6 h are not in the input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.weather import default_data

N_CHANNELS = 14


def load(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fields ``(T, H, W)`` (float64, NaN at masked points), hour of day ``(T,)``, day ``(T,)``, lat ``(H,)``."""
    from signalkit.io.weather import read_weather

    ds = read_weather(path)
    x = ds["signal"].values[:, 0].astype(np.float64)
    times = ds["time"].values
    hours = (times.astype("datetime64[h]").astype(np.int64) % 24).astype(int)
    return x, hours, times.astype("datetime64[D]"), ds["lat"].values


def features(xf: np.ndarray, clim: np.ndarray, hours: np.ndarray, land: np.ndarray, i: int, lead: int,
             k: int) -> np.ndarray:
    """``(n_land, k*k*N_CHANNELS)`` neighbourhood features of init index ``i`` (needs ``i >= 24``)."""
    change = [xf[i] - xf[i - j] for j in (1, 2, 3, 6, 12, 18, 24)]
    yday = xf[i - 24 + lead] - xf[i - 24]
    dclim = clim[(hours[i] + lead) % 24] - clim[hours[i]]
    rng = xf[i - 24:i + 1].max(0) - xf[i - 24:i + 1].min(0)
    ch = np.stack([xf[i], *change, yday, dclim, dclim * rng, yday * rng, rng, land.astype(float)])
    r = k // 2
    ch = np.pad(ch, ((0, 0), (r, r), (r, r)))
    win = np.lib.stride_tricks.sliding_window_view(ch, (k, k), axis=(1, 2))  # (C, H, W, k, k)
    return win[:, land].transpose(1, 0, 2, 3).reshape(int(land.sum()), -1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(default_data() / "wfde5_air_temperature_uk_2017-01.nc"))
    ap.add_argument("--lead", type=int, default=6, help="lead time in hours (the file is hourly)")
    ap.add_argument("--k", type=int, default=5, help="neighbourhood width in grid points")
    ap.add_argument("--ridge", type=float, default=1e3)
    args = ap.parse_args(argv)
    if not Path(args.data).exists():
        print(f"benchmarks/weather_ceiling.py: {args.data}: no such file", file=sys.stderr)
        return 2
    from signalkit.metrics import weather as wm

    x, hours, day, lat = load(args.data)
    land = np.isfinite(x).all(0)
    w = wm.area_weights(lat, x.shape[2], ~land)[land]
    w = w / w.sum()
    train, test = day <= np.datetime64("2017-01-20"), day >= np.datetime64("2017-01-26")
    xf = np.where(land, x - x[train][:, land].mean(), 0.0)
    clim = np.stack([xf[train & (hours == h)].mean(0) for h in range(24)])
    L = args.lead

    def design(sel: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Init times in ``sel`` (with 24 h of history and their target in ``sel``), features, changes."""
        idx = [i for i in range(24, len(x) - L) if sel[i] and sel[i + L]]
        X = np.concatenate([features(xf, clim, hours, land, i, L, args.k) for i in idx])
        Y = np.concatenate([(xf[i + L] - xf[i])[land] for i in idx])
        return idx, X, Y

    def fit(X: np.ndarray, Y: np.ndarray):
        m, s = X.mean(0), X.std(0) + 1e-6
        A = (X - m) / s
        beta = np.linalg.solve(A.T @ A + args.ridge * np.eye(A.shape[1]), A.T @ (Y - Y.mean()))
        return lambda F: Y.mean() + ((F - m) / s) @ beta

    def score(pred_change) -> float:
        se = [(((xf[i][land] + pred_change(i) - xf[i + L][land]) ** 2) * w).sum() for i in test_idx]
        return float(np.sqrt(np.mean(se)))

    test_idx, Xte, Yte = design(test)  # the first test inits look back into the validation days
    n = int(land.sum())
    rows = {i: Xte[j * n:(j + 1) * n] for j, i in enumerate(test_idx)}
    _, Xtr, Ytr = design(train)
    persistence = score(lambda i: 0.0)
    results = {
        "persistence": persistence,
        "persistence + climatological change": score(lambda i: (clim[(hours[i] + L) % 24] - clim[hours[i]])[land]),
    }
    model = fit(Xtr, Ytr)
    results[f"ridge on {args.k}x{args.k} neighbourhoods, fitted on training days"] = score(lambda i: model(rows[i]))
    oracle = fit(Xte, Yte)
    results["same ridge fitted on the test days (in-sample upper bound)"] = score(lambda i: oracle(rows[i]))
    print(f"+{L} h, {len(test_idx)} test init times, {n} land points, {Xtr.shape[1]} features\n")
    print("| predictor | RMSE (K) | / persistence |\n|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r:.3f} | {r / persistence:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
