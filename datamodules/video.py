"""Video data modules: clip windows of an ingested video store, and Moving MNIST.

Batches are ``{"x": (B, T_in, C, H, W), "y": (B, T_out, C, H, W), "rec": (B,)}`` with values
scaled to [0, 1] (uint8 frames / 255; float stores by the training recordings' min and max).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from signalkit.batch import VideoContract
from signalkit.datamodules.loading.loaders import StagedDataModule
from signalkit.datamodules.splits import STAGES, split_index
from signalkit.errors import ConfigError
from signalkit.store import open_store
from signalkit.datamodules.registry import DATA_MODULES


def clip_index(store, t_in: int, t_out: int, stride: int) -> pd.DataFrame:
    """One row per clip window: ``recording, start, stop, n_times, subject, session, run``.

    A recording with attr ``clip_length`` (several sequences concatenated) gets windows inside
    each sequence only. Raises :class:`ConfigError` when a recording is shorter than one window.
    """
    need = t_in + t_out
    rows = []
    for rid in store:
        ds = store[rid]
        n = int(ds["signal"].sizes["time"])
        clip = int(ds.attrs.get("clip_length") or n)
        if clip < need:
            raise ConfigError(f"data.t_in: recording {rid} has clips of {clip} frames, shorter than "
                              f"t_in + t_out = {t_in} + {t_out} = {need}")
        prov = store.provenance(rid)
        for c0 in range(0, n - clip + 1, clip):
            for s in range(c0, c0 + clip - need + 1, stride):
                rows.append((rid, s, s + need, n, prov.get("subject", ""), prov.get("session", ""),
                             prov.get("run", "")))
    return pd.DataFrame(rows, columns=["recording", "start", "stop", "n_times", "subject", "session", "run"])


class ClipDataset(Dataset):
    """Windows of preloaded recordings: item ``{"x": (T_in, C, H, W), "y": (T_out, C, H, W), "rec"}``."""

    def __init__(self, frames: dict[str, np.ndarray], index: pd.DataFrame, t_in: int, scale: tuple[float, float],
                 recordings: list[str]) -> None:
        self.frames, self.index, self.t_in, self.scale = frames, index.reset_index(drop=True), t_in, scale
        self.recordings = recordings
        self._rid = [recordings.index(r) for r in self.index["recording"]]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        row = self.index.iloc[i]
        lo, hi = self.scale
        clip = torch.from_numpy(np.asarray(self.frames[row["recording"]][row["start"]:row["stop"]], dtype=np.float32))
        clip = (clip - lo) / max(hi - lo, 1e-12)
        return {"x": clip[: self.t_in], "y": clip[self.t_in:], "rec": self._rid[i]}

    def source_of(self, rec: int) -> str:
        return self.recordings[rec]


class _FramesModule(StagedDataModule):
    """Shared loaders and contract of the two video data modules."""

    datasets: dict[str, Dataset]
    empty_hint = ""

    def data_contract(self) -> dict:
        self.setup()
        x = self.datasets["train"][0]["x"]
        return VideoContract.of(modality="video", t_in=self.t_in, t_out=self.t_out, channels=int(x.shape[1]),
                                height=int(x.shape[2]), width=int(x.shape[3]), value_range=[0.0, 1.0],
                                fps=getattr(self, "fps", None)).to_dict()


@DATA_MODULES.register("video")
class VideoDataModule(_FramesModule):
    """Clip windows (``t_in`` input + ``t_out`` target frames every ``stride``) of a video store.

    Args:
        store: a store written by ``signalkit ingest video``.
        split: ``{"by": recording|subject|..., "fractions", "seed", "assign", "val_from_train"}``;
            whole recordings go to one split. ``val_from_train`` (a fraction) takes validation
            windows from the end of each training recording instead (for stores of two clips).
    """

    def __init__(self, store: str, t_in: int = 10, t_out: int = 10, stride: int = 1,
                 split: Mapping[str, Any] | None = None, batch_size: int = 16, num_workers: int = 0) -> None:
        super().__init__()
        if store in (None, "", "???"):
            raise ConfigError("data.store: no store given (set data.store=<path of an ingested video store>)")
        if min(t_in, t_out, stride) < 1:
            raise ConfigError(f"data: t_in, t_out and stride must be >= 1, got {t_in}, {t_out}, {stride}")
        self.store_path, self.t_in, self.t_out, self.stride = str(store), int(t_in), int(t_out), int(stride)
        self.split_cfg = {"by": "recording", "fractions": (0.7, 0.15, 0.15), "seed": 0, "assign": None,
                          "val_from_train": None, **dict(split or {})}
        unknown = set(self.split_cfg) - {"by", "fractions", "seed", "assign", "val_from_train"}
        if unknown:
            raise ConfigError(f"data.split: unknown key(s) {sorted(unknown)}")
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.datasets = {}

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        store = open_store(self.store_path)
        if store.modality and store.modality != "video":
            raise ConfigError(f"data.store: {self.store_path} holds {store.modality}, not video")
        index = clip_index(store, self.t_in, self.t_out, self.stride)
        cfg = self.split_cfg
        splits = split_index(index, by=cfg["by"], fractions=cfg["fractions"], seed=int(cfg["seed"]),
                             assign=cfg["assign"])
        if cfg["val_from_train"]:
            splits["train"], splits["val"] = self._carve_val(splits["train"], float(cfg["val_from_train"]))
        if splits["train"].empty:
            raise ConfigError(f"data.split: the training split of {self.store_path} is empty")
        frames = {rid: np.asarray(store[rid]["signal"].values) for rid in store}
        train_rids = sorted(set(splits["train"]["recording"]))
        dtype = frames[train_rids[0]].dtype
        if dtype == np.uint8:
            scale = (0.0, 255.0)
        else:
            scale = (float(min(frames[r].min() for r in train_rids)), float(max(frames[r].max() for r in train_rids)))
        self.scale = scale
        self.fps = store[train_rids[0]].attrs.get("fps")
        recs = list(store)
        self.datasets = {s: ClipDataset(frames, splits[s], self.t_in, scale, recs) for s in STAGES}
        self.index = index

    def _carve_val(self, train: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Last ``fraction`` of each training recording's time -> validation (straddling windows dropped)."""
        keep, val = [], []
        for _, rows in train.groupby("recording", sort=False):
            cut = int(round(rows["n_times"].iloc[0] * (1 - fraction)))
            keep.append(rows[rows["stop"] <= cut])
            val.append(rows[rows["start"] >= cut])
        return pd.concat(keep).reset_index(drop=True), pd.concat(val).reset_index(drop=True)

    def split_summary(self) -> dict[str, dict[str, int]]:
        self.setup()
        return {s: {"windows": len(d), "recordings": int(d.index["recording"].nunique())}
                for s, d in self.datasets.items()}


@DATA_MODULES.register("moving_mnist")
class MovingMNISTDataModule(_FramesModule):
    """Moving MNIST generated on the fly from MNIST-format digits (see :mod:`signalkit.datamodules.moving_mnist`).

    Args:
        digits: ``.npz`` (key ``data``) or ``.npy`` of ``(N, 28, 28)`` digits.
        n_train, n_val, n_test: sequences per pass (training sequences are fresh on each pass).
        split_digits: give train/val/test disjoint digit images (80/10/10 % by index).
        test_file: optional ``mnist_test_seq.npy`` (``(20, N, 64, 64)``) used as the test set.
    """

    def __init__(self, digits: str, t_in: int = 10, t_out: int = 10, n_train: int = 10000, n_val: int = 500,
                 n_test: int = 1000, seed: int = 0, image_size: int = 64, num_digits: int = 2,
                 split_digits: bool = True, test_file: str | None = None, batch_size: int = 16,
                 num_workers: int = 0) -> None:
        super().__init__()
        if digits in (None, "", "???"):
            raise ConfigError("data.digits: no digits file given (set data.digits=<mnist npz>)")
        self.digits_path, self.t_in, self.t_out = str(digits), int(t_in), int(t_out)
        self.n = {"train": int(n_train), "val": int(n_val), "test": int(n_test)}
        self.seed, self.image_size, self.num_digits = int(seed), int(image_size), int(num_digits)
        self.split_digits, self.test_file = bool(split_digits), test_file
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.datasets = {}

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        from signalkit.datamodules.moving_mnist import MovingMNIST, load_digits, load_mnist_test_seq, split_digits

        per_stage = split_digits(load_digits(self.digits_path), self.split_digits)
        kw = dict(seed=self.seed, t_in=self.t_in, t_out=self.t_out, image_size=self.image_size,
                  num_digits=self.num_digits)
        self.datasets = {s: MovingMNIST(per_stage[s], self.n[s], s, fresh=s == "train", **kw) for s in STAGES}
        if self.test_file:
            seqs = load_mnist_test_seq(self.test_file)
            self.datasets["test"] = MovingMNIST(None, len(seqs), "test", sequences=seqs, **kw)
