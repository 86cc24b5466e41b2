"""``signalkit predict ckpt_path=<ckpt> [output=<zarr>] [split=test] [data.store=...]``.

Weather checkpoints: forecasts of every init time of the split at the trained lead times, in
physical units, written (atomically) as a zarr store::

    forecast (init_time, lead_time, variable, lat, lon) float32   NaN where the data has no data
    coords init_time (datetime64), lead_time (timedelta64, hours), variable, lat, lon

Other modalities are not supported yet (:class:`ConfigError`).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from signalkit.errors import ConfigError

KEYS = ("ckpt_path", "output", "split", "batch_size")


def _options(overrides: Sequence[str]) -> tuple[dict, list[str]]:
    opts, rest = {}, []
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{item}: expected key=value")
        key, value = item.split("=", 1)
        (opts.__setitem__(key, value) if key in KEYS else rest.append(item))
    if "ckpt_path" not in opts:
        raise ConfigError("ckpt_path: missing (signalkit predict ckpt_path=<checkpoint> [output=<zarr>])")
    return opts, rest


def predict_weather(task, dm, split: str = "test") -> xr.Dataset:
    """Run ``task`` over ``dm``'s ``split`` -> forecast Dataset (see module docstring)."""
    if split not in ("test", "val"):
        raise ConfigError(f"split: expected test or val, got {split!r}")
    scoring = getattr(dm, "scoring_dataloader", None)
    loader = scoring(split) if callable(scoring) else None  # targets to the longest lead: gated as at test
    if loader is not None:
        if getattr(task, "hparams", {}).get("gate", False) and hasattr(task, "fit_gate"):
            val = loader if split == "val" else scoring("val")
            if val is not None:
                task.fit_gate(val)
                task._predict_baselines = dm.baselines
    else:
        loader = {"test": dm.test_dataloader, "val": dm.val_dataloader}[split]()
    task.eval()
    outs, times = [], []
    with torch.no_grad():
        for batch in loader:
            res = task.predict_step(batch, 0)
            outs.append(res["forecast"].float().cpu().numpy())
            times.append(res["time"].double().cpu().numpy())
    fc = np.concatenate(outs)
    init = (np.concatenate(times) * 3600e9).round().astype(np.int64).astype("datetime64[ns]")
    leads = np.asarray([np.timedelta64(int(round(h * 3600)), "s") for h in task.lead_times]).astype("timedelta64[ns]")
    ds = xr.Dataset(
        {"forecast": (("init_time", "lead_time", "variable", "lat", "lon"), fc.astype(np.float32))},
        coords={"init_time": init, "lead_time": leads, "variable": np.asarray(task.variables, dtype=object),
                "lat": dm.lat, "lon": dm.lon},
    )
    ds.attrs = {"description": "signalkit weather forecasts in physical units", "split": split}
    return ds


def _write_atomic(ds: xr.Dataset, output: str) -> None:
    """Write ``ds`` to ``output`` through a temporary sibling; an existing ``output`` is replaced
    only when it is a forecast signalkit wrote (:mod:`signalkit.guard`)."""
    from signalkit.guard import check_target, write_marker

    check_target(output, "forecast", what="output")
    out = Path(output)
    tmp = out.with_name(f"{out.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        ds.to_zarr(str(tmp), mode="w", consolidated=False, zarr_format=3)
        write_marker(tmp, "forecast")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def predict(overrides: Sequence[str] = ()) -> str:
    """Write the predictions of a checkpoint; returns the output path."""
    from omegaconf import OmegaConf

    from signalkit.checkpointing import load_checkpoint, load_task_weights, stored_config
    from signalkit.store import naming_damage
    from signalkit.training import build_datamodule, build_task, data_store

    from signalkit.guard import check_target

    opts, rest = _options(overrides)
    split = opts.get("split", "test")
    output = opts.get("output") or str(Path(opts["ckpt_path"]).resolve().parent.parent / f"forecast_{split}.zarr")
    check_target(output, "forecast", what="output", sources=[opts["ckpt_path"]])
    ckpt = load_checkpoint(opts["ckpt_path"])
    cfg = stored_config(ckpt, opts["ckpt_path"])
    modality = str(OmegaConf.select(cfg, "model.modality", default="") or "")
    if modality != "weather":
        raise ConfigError(f"ckpt_path: predict supports weather checkpoints for now (this one is {modality or 'unknown'})")
    for item in rest:
        key = item.split("=", 1)[0]
        if OmegaConf.select(cfg, key, default="__missing__") == "__missing__":
            raise ConfigError(f"{key}: no such config key")
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(rest))
    if "batch_size" in opts:
        cfg.data.batch_size = int(opts["batch_size"])
    with naming_damage(data_store(cfg)):
        dm = build_datamodule(cfg.data)
        dm.setup("test")
        task = build_task(cfg, dm)
        load_task_weights(task, ckpt, opts["ckpt_path"])
        check_target(output, "forecast", what="output", sources=[opts["ckpt_path"], str(cfg.data.get("store", ""))])
        _write_atomic(predict_weather(task, dm, split), output)
    return output
