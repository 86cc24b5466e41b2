"""``FMRIDataModule``: windows of frames from an fMRI store (volumes or atlas regions).

Two views of a run:

* ``mode="volume"``: items ``x (T, X, Y, Z)`` float32 plus ``voxel_mask (X, Y, Z)`` (the stored
  brain mask, else the voxels that vary in time); batches ``(B, T, X, Y, Z)``.
* ``mode="region"``: items ``x (R, T)`` of the ``region_signal`` variable (ingest with
  ``atlas=``), ``pos (R, 3)`` region centroids in metres and ``ch_type`` = ``region``, i.e. the
  batch the sensor tokenizer reads (one model for sensors and regions).

Targets: ``events`` gives decoding windows starting at each matching event onset + ``tmin_s``
(``y`` = class id); ``horizon > 0`` gives forecasting windows with ``y`` = the next ``horizon``
frames (``(H, X, Y, Z)`` or ``(R, H)``); otherwise fixed windows for reconstruction.
Normalisation ``"run"`` z-scores every voxel (region) with its own run's mean and standard
deviation (unsupervised, as ``nilearn``'s ``standardize``); ``"global"`` z-scores a run with one
mean and standard deviation over its brain voxels (keeps the anatomy); ``"none"``. The
reconstruction baselines in those units (each voxel's temporal mean, the run's mean over brain
voxels) stay with the dataset's run statistics (:meth:`FMRIWindowDataset.run_baselines`, looked up
by the batch's ``rec``), not in the batch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import zarr
from torch.utils.data import Dataset, default_collate

from signalkit.batch import FMRIContract
from signalkit.datamodules.base import StoreDataModule
from signalkit.datamodules.loading.collate import collate_sensor
from signalkit.datamodules.splits import STAGES
from signalkit.datamodules.windows import INDEX_COLUMNS, label_mapping
from signalkit.errors import ConfigError, InputError
from signalkit.recording import CH_TYPES, str_values
from signalkit.store import Store
from signalkit.datamodules.registry import DATA_MODULES

MODES = {"volume": "signal", "region": "region_signal"}


def build_fmri_index(store: Store, window: int, *, events: Mapping[str, int] | None = None,
                     tmin_s: float = 0.0, stride: int | None = None, horizon: int = 0,
                     recordings: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per window (columns of :data:`INDEX_COLUMNS`) of ``recordings`` (default: every
    recording of the store); lengths in frames."""
    rows = []
    for rid in (store if recordings is None else recordings):
        ds, prov = store[rid], store.provenance(rid)
        n, tr = int(ds.sizes["time"]), float(ds.attrs.get("tr") or 0)
        ident = (prov.get("subject", ""), prov.get("session", ""), prov.get("run", ""))
        if events is not None:
            if tr <= 0:
                raise InputError(f"{prov.get('source', rid)}: no TR in the recording; cannot place event windows")
            labels, onsets = str_values(ds["event_label"].values), ds["event_onset_s"].values
            for label, onset in zip(labels, onsets):
                start = int(round((float(onset) + tmin_s) / tr))
                if label in events and start >= 0 and start + window <= n:
                    rows.append((rid, start, start + window, events[label], *ident, n))
        else:
            for start in range(0, n - window - horizon + 1, stride or window):
                rows.append((rid, start, start + window, -1, *ident, n))
    index = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    if index.empty:
        what = f"events {sorted(events)}" if events is not None else f"{window}-frame windows (+{horizon})"
        raise ConfigError(f"data.window_s: no {what} fit the runs of {store.path}")
    return index


class FMRIWindowDataset(Dataset):
    """Windows of an fMRI store: item ``i`` is row ``i`` of ``index`` (see module docstring)."""

    def __init__(self, store: Store, index: pd.DataFrame, mode: str = "volume", horizon: int = 0,
                 stats: dict | None = None, preload: bool = False):
        self.path, self.mode, self.horizon, self.preload = store.path, mode, int(horizon), preload
        self.var = MODES[mode]
        self.index = index.reset_index(drop=True)
        self.recordings = list(dict.fromkeys(self.index["recording"]))
        rec_no = {r: i for i, r in enumerate(self.recordings)}
        self._rec = self.index["recording"].map(rec_no).to_numpy()
        self._start, self._stop = self.index["start"].to_numpy(), self.index["stop"].to_numpy()
        self._target = self.index["target"].to_numpy()
        self.with_target = bool((self._target >= 0).any())
        self.meta = []
        region_id = CH_TYPES.index("region")
        for rid in self.recordings:
            ds = store[rid]
            st = (stats or {}).get(rid, {})
            meta = {"mean": st.get("mean"), "std": st.get("std"), "source": store.provenance(rid).get("source", rid)}
            if mode == "volume" and st:
                meta["voxel_mask"] = torch.from_numpy(np.asarray(st["mask"], dtype=bool))
                meta["voxel_mean"] = torch.from_numpy(st["voxel_mean"])
                meta["global_mean"] = st["global_mean"]
            else:
                pos = np.nan_to_num(ds["region_pos"].values.astype(np.float32) / 1000.0)  # mm -> m
                meta["pos"] = torch.from_numpy(pos)
                meta["ch_type"] = torch.full((pos.shape[0],), region_id, dtype=torch.long)
            self.meta.append(meta)
        self._arrays: list | None = None
        self._pid: int | None = None

    def _open(self) -> list:
        if self._arrays is None or self._pid != os.getpid():
            root = zarr.open_group(self.path, mode="r")
            arrays = [root[rid][self.var] for rid in self.recordings]
            self._arrays = [a[...] for a in arrays] if self.preload else arrays
            self._pid = os.getpid()
        return self._arrays

    def __len__(self) -> int:
        return len(self.index)

    def _frames(self, r: int, start: int, stop: int) -> np.ndarray:
        x = np.asarray(self._open()[r][start:stop], dtype=np.float32)
        meta = self.meta[r]
        if meta["mean"] is not None:
            x = (x - meta["mean"]) / meta["std"]
        return x if self.mode == "volume" else np.ascontiguousarray(x.T)  # (R, t)

    def __getitem__(self, i: int) -> dict:
        r, start, stop = int(self._rec[i]), int(self._start[i]), int(self._stop[i])
        item: dict[str, Any] = {"x": torch.from_numpy(self._frames(r, start, stop)), "rec": r}
        meta = self.meta[r]
        if self.mode == "volume":
            if "voxel_mask" in meta:
                item["voxel_mask"] = meta["voxel_mask"]
        else:
            item["pos"], item["ch_type"] = meta["pos"], meta["ch_type"]
        if self.horizon:
            item["y"] = torch.from_numpy(self._frames(r, stop, stop + self.horizon))
        elif self.with_target:
            item["y"] = int(self._target[i])
        return item

    def run_baselines(self, rec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Reconstruction baselines of the runs ``rec (B,)`` in normalised units.

        Returns each voxel's temporal mean over its run ``(B, X, Y, Z)`` and the run's mean over
        its brain voxels ``(B,)`` (float32), or ``None`` without volume statistics (regions).
        """
        runs = [int(r) for r in rec.reshape(-1).tolist()]
        if self.mode != "volume" or not all("voxel_mean" in self.meta[r] for r in runs):
            return None
        return (torch.stack([self.meta[r]["voxel_mean"] for r in runs]),
                torch.tensor([self.meta[r]["global_mean"] for r in runs], dtype=torch.float32))

    def source_of(self, rec: int) -> str:
        return str(self.meta[rec]["source"])

    def region_windows(self) -> tuple[np.ndarray, np.ndarray]:
        """Region time series of every window ``(N, R, T)`` and targets ``(N,)`` (FC baseline)."""
        root = zarr.open_group(self.path, mode="r")
        out = []
        for r, start, stop in zip(self._rec, self._start, self._stop):
            out.append(np.asarray(root[self.recordings[r]]["region_signal"][start:stop], dtype=np.float32).T)
        return np.stack(out), self._target.copy()


def run_stats(store: Store, rid: str, var: str, normalize: str = "run") -> dict[str, Any]:
    """Normalisation of one run and its baselines, in the normalised units.

    Returns ``mean``/``std`` (per voxel for ``"run"``, scalars over the brain for ``"global"``,
    ``None`` for ``"none"``), ``mask`` (stored brain mask, else the voxels that vary in time),
    ``voxel_mean`` (each voxel's temporal mean) and ``global_mean`` (the brain's mean).
    """
    ds = store[rid]
    sig = ds[var]
    vmean = sig.mean("time").values.astype(np.float64)
    vstd = sig.std("time").values.astype(np.float64)
    varying = vstd > 1e-6 * max(1.0, float(np.abs(vmean).max()))
    mask = ds["mask"].values.astype(bool) if ("mask" in ds and var == "signal") else varying
    inside = mask if mask.any() else np.ones_like(mask)
    g_mean = float(vmean[inside].mean())
    g_std = float(np.sqrt((vstd[inside] ** 2 + (vmean[inside] - g_mean) ** 2).mean())) or 1.0
    if normalize == "run":
        mean, std = vmean, np.where(varying, vstd, 1.0)
    elif normalize == "global":
        mean, std = np.float64(g_mean), np.float64(g_std)
    else:
        mean = std = None
    norm = (lambda v: v) if mean is None else (lambda v: (v - mean) / std)
    f32 = (lambda v: None if v is None else np.asarray(v, dtype=np.float32))
    return {"mean": f32(mean), "std": f32(std), "mask": mask,
            "voxel_mean": f32(norm(vmean)),
            "global_mean": float(norm(np.float64(g_mean))) if normalize != "run" else 0.0}


def select_acq(store: Store, acq: str | None) -> list[str]:
    """The recordings of ``store`` whose source file carries the BIDS entity ``acq-<acq>`` (all
    recordings for ``None``); :class:`ConfigError` naming ``data.acq`` when none does."""
    rids = list(store)
    if acq is None:
        return rids
    from signalkit.io.bids_sidecars import entities

    have = {rid: entities(Path(str(store.provenance(rid).get("source") or rid)).name).get("acq") for rid in rids}
    keep = [rid for rid in rids if have[rid] == str(acq)]
    if not keep:
        found = sorted({f"acq-{a}" for a in have.values() if a}) or ["no acq- entity"]
        raise ConfigError(f"data.acq: no recording of {store.path} has acq-{acq} (its files: {', '.join(found)})")
    return keep


def collate_volume(samples: Sequence[dict]) -> dict:
    """Stack volume samples (every run of the store must share one grid)."""
    shapes = {tuple(s["x"].shape[1:]) for s in samples}
    if len(shapes) > 1:
        raise ConfigError(f"data.mode: volume batches need one grid shape, got {sorted(shapes)}; "
                          "use data.mode=region (atlas) for runs of different grids")
    return default_collate(list(samples))


@DATA_MODULES.register("fmri")
class FMRIDataModule(StoreDataModule):
    """Windows of an fMRI store for decoding, forecasting or masked reconstruction.

    Args:
        store: a store written by ``signalkit ingest fmri``.
        mode: ``"volume"`` or ``"region"`` (see module docstring).
        window_s, tmin_s, stride_s: window length, start relative to event onsets, and stride of
            fixed windows, in seconds (converted to frames with the runs' TR).
        events: labels to decode (list, class = position, or ``{label: class}``).
        horizon: frames to forecast after each window (0 = no forecasting target).
        split: as :class:`signalkit.datamodules.SignalDataModule` (subject|session|run|recording|time).
        normalize: ``"run"`` (per-voxel z-score within each run), ``"global"`` (one z-score per
            run over its brain voxels) or ``"none"``.
        acq: keep only the runs whose file names carry the BIDS ``acq-<acq>`` entity (a store that
            holds several acquisitions of the same runs, e.g. Haxby's ``acq-25mm`` and ``acq-1slice``);
            ``None``: every run.
    """

    def __init__(self, store: str, mode: str = "volume", window_s: float = 16.0, tmin_s: float = 0.0,
                 stride_s: float | None = None, events: Sequence[str] | Mapping[str, int] | None = None,
                 horizon: int = 0, split: Mapping[str, Any] | None = None, batch_size: int = 8,
                 num_workers: int = 0, normalize: str = "run", preload: bool | str = "auto",
                 modality: str | None = "fmri", acq: str | None = None):
        super().__init__()
        self._init_store(store, events, split, batch_size, num_workers, preload, modality)
        if mode not in MODES:
            raise ConfigError(f"data.mode: expected volume|region, got {mode!r}")
        normalize = {True: "run", False: "none", None: "none"}.get(normalize, normalize)
        if normalize not in ("run", "global", "none"):
            raise ConfigError(f"data.normalize: expected run|global|none, got {normalize!r}")
        self.mode = mode
        self.window_s, self.tmin_s, self.stride_s = float(window_s), float(tmin_s), stride_s
        self.horizon = int(horizon)
        self.normalize = str(normalize)
        self.acq = None if acq is None else str(acq)
        self.datasets: dict[str, FMRIWindowDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        store = self._open_store()
        var = MODES[self.mode]
        trs = set()
        self.recordings = select_acq(store, self.acq)
        for rid in self.recordings:
            if var not in store[rid]:
                raise ConfigError(f"data.mode: recording {rid} of {self.store_path} has no {var!r} "
                                  "(ingest with atlas=<labels.nii.gz> for region mode)")
            trs.add(round(float(store[rid].attrs.get("tr") or 0), 6))
        if len(trs) > 1:
            raise ConfigError(f"data: runs have different TRs {sorted(trs)}")
        grids = {tuple(store[rid][var].shape[1:]) for rid in self.recordings}
        if self.mode == "volume" and len(grids) > 1:
            raise ConfigError(f"data.acq: the runs of {self.store_path} have different grids {sorted(grids)}; "
                              "keep one acquisition with data.acq=<value> (BIDS acq- entity) or use data.mode=region")
        self.store, self.tr = store, (trs.pop() or 1.0)
        self.window = max(1, int(round(self.window_s / self.tr)))
        stride = max(1, int(round(float(self.stride_s) / self.tr))) if self.stride_s else None
        mapping = label_mapping(self.events)[0] if self.events is not None else None
        index = build_fmri_index(store, self.window, events=mapping, tmin_s=self.tmin_s, stride=stride,
                                 horizon=self.horizon, recordings=self.recordings)
        splits = self._split(store, index)
        stats = {rid: run_stats(store, rid, var, self.normalize) for rid in self.recordings}
        preload = self._preload_auto(store[r][var].shape for r in self.recordings)
        self.datasets = {s: FMRIWindowDataset(store, splits[s], self.mode, self.horizon, stats, preload)
                         for s in STAGES}
        self.index = index

    def data_contract(self) -> dict:
        """The input contract a model trained on this data expects (saved with the model)."""
        self.setup()
        first = self.store[self.recordings[0]]
        contract = {"modality": "fmri", "mode": self.mode, "tr": self.tr, "window_s": self.window_s,
                    "n_frames": self.window, "horizon": self.horizon,
                    "normalization": self.normalize, "target_names": self.class_names}
        if self.mode == "volume":
            contract["grid"] = [int(n) for n in first["signal"].shape[1:]]
            contract["affine"] = first.attrs.get("affine")
        else:
            contract["channels"] = [str(v) for v in str_values(first["region"].values)]
            contract["positions"] = (first["region_pos"].values / 1000.0).tolist()
        return FMRIContract.of(**contract).to_dict()

    def fc_baseline(self) -> dict[str, float]:
        """Accuracy of the FC + logistic-regression baseline (train -> test windows); ``{}`` without
        region signals or class targets."""
        self.setup()
        train, test = self.datasets["train"], self.datasets["test"]
        if not self.events or not len(test) or "region_signal" not in self.store[train.recordings[0]]:
            return {}
        from signalkit.baselines.fc import fc_baseline

        return fc_baseline(*train.region_windows(), *test.region_windows())

    def linear_svm_baseline(self) -> dict[str, float]:
        """The linear SVM on the same windows, time-averaged (block-averaged volumes, z-scored per
        run as the model sees them), inside the voxel mask; train -> test. ``{}`` without class
        targets, in region mode or with an empty test split."""
        self.setup()
        train, test = self.datasets["train"], self.datasets["test"]
        if not self.events or self.mode != "volume" or self.horizon or not len(test):
            return {}
        from signalkit.baselines.linear_svm import block_features, linear_svm_baseline

        def features(ds: FMRIWindowDataset) -> tuple[np.ndarray, np.ndarray]:
            items = [ds[i] for i in range(len(ds))]
            x = np.stack([block_features(it["x"].numpy()[None], it["voxel_mask"].numpy()
                                         if "voxel_mask" in it else None)[0] for it in items])
            return x, np.asarray([it["y"] for it in items])

        return linear_svm_baseline(*features(train), *features(test))

    def collate_fn(self):
        return collate_volume if self.mode == "volume" else collate_sensor
