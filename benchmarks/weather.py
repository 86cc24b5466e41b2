"""Weather quality benchmark: the default recipes against the statistical baselines, on real files.

Two cases, each: ingest the file (``signalkit ingest weather``), train the recipe on CPU within its
CPU-time budget (early stopping on the validation split), and print model and baselines from the
SAME run's ``metrics.json`` (same init times, WB2 latitude-weighted RMSE, physical units):
persistence, the smoothed training climatology, anomaly persistence ``x(t) + c(t+L) - c(t)`` and
the per-grid-point linear regression on the last anomalies. A reference block recomputes
persistence and anomaly persistence from the raw file with numpy (every test init time whose valid
time is in the test period), to tie the numbers to the file.

* ``ncep``: NCEP/NCAR Reanalysis 1 air temperature, 6-hourly 2013-2014 (``experiment=weather/ncep``;
  train 2013, validate Jan-Mar 2014, test Apr-Dec 2014).
* ``regional``: WFDE5 UK hourly 2 m temperature, January 2017, land only
  (``experiment=weather/regional``; train 1-20, validate 21-25, test 26-31).

    python benchmarks/weather.py [--data DIR] [--out DIR] [--only ncep|regional] [key=value overrides]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

CASES = {
    "ncep": {"file": "ncep_air_temperature_2013-2014.nc", "experiment": "weather/ncep",
             "ingest": {"variables": {"air": "t2m"}}, "train": ("2013-01-01", "2013-12-31"),
             "test": ("2014-04-01", "2014-12-31"), "leads": (6, 24, 72), "var": "t2m"},
    "regional": {"file": "wfde5_air_temperature_uk_2017-01.nc", "experiment": "weather/regional",
                 "ingest": {}, "train": ("2017-01-01", "2017-01-20"), "test": ("2017-01-26", "2017-01-31"),
                 "leads": (6, 12, 24), "var": "t2m"},
}
BASELINES = ("persistence", "climatology", "anomaly_persistence", "linear")


def default_data() -> Path:
    env = os.environ.get("SIGNALKIT_SAMPLE_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return root / "weather"


def reference_baselines(store: str, case: dict) -> dict[str, float]:
    """Persistence and anomaly persistence from the store's fields with numpy (issue convention)."""
    from signalkit.baselines.weather import Climatology, resolve_kind
    from signalkit.metrics import weather as wm
    from signalkit.store import open_store

    st = open_store(store)
    rec = st[next(iter(st))]
    x = rec["signal"].values[:, 0].astype(np.float64)
    times = rec["time"].values
    w = wm.area_weights(rec["lat"].values, rec.sizes["lon"], rec["mask"].values)
    day = times.astype("datetime64[D]")
    train = (day >= np.datetime64(case["train"][0])) & (day <= np.datetime64(case["train"][1]))
    test = (day >= np.datetime64(case["test"][0])) & (day <= np.datetime64(case["test"][1]))
    dt_h = float(np.median(np.diff(times)).astype("timedelta64[s]").astype(int)) / 3600
    span = (times[train][-1] - times[train][0]).astype("timedelta64[s]").astype(int) / 86400 + dt_h / 24
    clim = Climatology(resolve_kind("auto", span))
    clim.add(x[train], times[train])
    c = clim.at(times)
    out = {}
    for lead in case["leads"]:
        k = int(round(lead / dt_h))
        inits = wm.baseline_init_indices(len(times), test, k)
        out[f"persistence@{lead}h"] = float(wm.rmse(x[inits], x[inits + k], w))
        out[f"anomaly_persistence@{lead}h"] = float(wm.rmse(x[inits] + c[inits + k] - c[inits], x[inits + k], w))
    return out


def run_case(name: str, data: Path, out: Path, overrides: list[str]) -> dict:
    from signalkit.store import ingest
    from signalkit.training import train

    case = CASES[name]
    path = data / case["file"] if data.is_dir() else data
    store = str(out / f"{name}.zarr")
    ingest([str(path)], store, "weather", case["ingest"], progress=False)
    ref = reference_baselines(store, case)
    start = time.time()
    metrics = train([f"experiment={case['experiment']}", f"data.store={store}", f"output_dir={out / name}",
                     "trainer.enable_progress_bar=false", *overrides])
    return {"file": path.name, "reference": ref, "model": metrics, "wall_seconds": time.time() - start}


def table(name: str, result: dict) -> str:
    case, m = CASES[name], result["model"]
    var = case["var"]
    lines = [f"**{name}** ({result['file']}; {m.get('train/cpu_seconds', float('nan')):.0f} s of CPU training, "
             f"{m.get('train/epochs', float('nan')):.0f} epochs; model and baselines on the model's test init times)",
             "",
             "| lead | model RMSE (K) | persistence | climatology | anomaly persistence | linear | model / persistence "
             "| model / best baseline | ACC model | ACC anomaly persistence |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for lead in case["leads"]:
        key = f"test/{var}/%s@{lead}h"
        if key % "rmse" not in m:
            continue
        base = [m.get(key % f"rmse_{b}", float("nan")) for b in BASELINES]
        model = m[key % "rmse"]
        lines.append(f"| +{lead} h | {model:.3f} | " + " | ".join(f"{b:.3f}" for b in base)
                     + f" | {model / base[0]:.2f} | {model / np.nanmin(base):.2f} | {m.get(key % 'acc', float('nan')):.3f}"
                     + f" | {m.get(key % 'acc_anomaly_persistence', float('nan')):.3f} |")
    ref = result["reference"]
    lines += ["", "Reference from the file (every test init time whose valid time is in the test period): "
              + ", ".join(f"{k} {v:.3f} K" for k, v in ref.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data()), help="the weather sample folder (or one file)")
    parser.add_argument("--out", default="/tmp/signalkit_weather_bench")
    parser.add_argument("--only", choices=sorted(CASES), default=None)
    args, overrides = parser.parse_known_args(argv)
    data = Path(args.data)
    names = [args.only] if args.only else list(CASES)
    for name in names:
        path = data / CASES[name]["file"] if data.is_dir() else data
        if not path.exists():
            print(f"benchmarks/weather.py: {path}: no such file (set SIGNALKIT_SAMPLE_DATA)", file=sys.stderr)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names:
        results[name] = run_case(name, data, out, overrides)
        (out / "weather_benchmark.json").write_text(json.dumps(results, indent=2, default=str))
        print("\n" + table(name, results[name]) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
