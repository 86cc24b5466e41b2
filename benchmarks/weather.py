"""Weather quality benchmark: WFDE5 UK 2 m temperature, January 2017 (hourly, 20 x 28, 55 % sea).

1. ingest the file (``signalkit ingest weather``),
2. reference baselines on the test days (26-31 Jan): persistence at +1/+6/+24 h and the
   hour-of-day climatology of the training days (1-20 Jan) at +6 h, land points, WB2 latitude
   weights, every test init time whose valid time is still in the test days,
3. train the default recipe (``experiment=weather/regional``) on CPU and read its WB2 metrics
   (model and baselines on the model's own init times),
4. print a markdown table and write ``<out>/weather_benchmark.json``.

    python benchmarks/weather.py [--data FILE] [--out DIR] [key=value overrides for train]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def default_data() -> Path:
    env = os.environ.get("SIGNALKIT_SAMPLE_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return root / "weather" / "wfde5_air_temperature_uk_2017-01.nc"


def reference_baselines(store: str) -> dict[str, float]:
    from signalkit.metrics import weather as wm
    from signalkit.store import open_store

    st = open_store(store)
    rec = st[next(iter(st))]
    x = rec["signal"].values[:, 0].astype(np.float64)
    times = rec["time"].values
    w = wm.area_weights(rec["lat"].values, rec.sizes["lon"], rec["mask"].values)
    day = times.astype("datetime64[D]")
    test, train = day >= np.datetime64("2017-01-26"), day <= np.datetime64("2017-01-20")
    out = {}
    for lead in (1, 6, 12, 18, 24):
        inits = wm.baseline_init_indices(len(times), test, lead)
        out[f"persistence@{lead}h"] = float(wm.persistence_rmse(x, inits, lead, w))
    clim = wm.climatology(x[train], times[train], "hour")
    for lead in (6, 24):
        inits = wm.baseline_init_indices(len(times), test, lead)
        out[f"climatology@{lead}h"] = float(wm.climatology_rmse(x, times, inits, lead, clim, w))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data()))
    parser.add_argument("--out", default="/tmp/signalkit_weather_bench")
    args, overrides = parser.parse_known_args(argv)
    if not Path(args.data).exists():
        print(f"benchmarks/weather.py: {args.data}: no such file (set SIGNALKIT_SAMPLE_DATA)", file=sys.stderr)
        return 2
    from signalkit.store import ingest
    from signalkit.training import train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = str(out / "wfde5_uk.zarr")
    ingest([args.data], store, "weather", {}, progress=False)
    ref = reference_baselines(store)
    start = time.time()
    metrics = train(["experiment=weather/regional", f"data.store={store}", f"output_dir={out / 'run'}",
                     "trainer.enable_progress_bar=false", *overrides])
    wall = time.time() - start
    result = {"reference_baselines": ref, "model": metrics, "wall_seconds": wall}
    (out / "weather_benchmark.json").write_text(json.dumps(result, indent=2, default=str))

    print(f"\nreference baselines (test days, all init times with valid time in the test days), K:")
    for k, v in ref.items():
        print(f"  {k}: {v:.3f}")
    print(f"\ndefault experiment (train {metrics.get('train/seconds', 0):.0f} s, total {wall:.0f} s; "
          "model and baselines on the model's init times):\n")
    print("| lead | model RMSE (K) | persistence (K) | climatology (K) | model / persistence | ACC model | ACC persistence |")
    print("|---|---|---|---|---|---|---|")
    for lead in (6, 12, 18, 24):
        key = f"test/t2m/%s@{lead}h"
        if key % "rmse" not in metrics:
            continue
        m, p, c = metrics[key % "rmse"], metrics[key % "rmse_persistence"], metrics[key % "rmse_climatology"]
        print(f"| +{lead} h | {m:.3f} | {p:.3f} | {c:.3f} | {m / p:.2f} | {metrics[key % 'acc']:.3f} | "
              f"{metrics[key % 'acc_persistence']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
