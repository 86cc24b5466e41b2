"""Index-based windows over a store: an index table built once, zarr slices per item.

``build_sensor_index`` turns a store's metadata into a table with one row per window
(recording, start, stop, target, subject, session, run); ``WindowDataset`` slices the zarr
arrays for a row. The store is opened lazily in each DataLoader worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import zarr
from torch.utils.data import Dataset, get_worker_info

from signalkit.datamodules.loading.chunk_reader import ChunkMemmap
from signalkit.datamodules.loading.collate import WorkerBatch, batch_array
from signalkit.datamodules.loading.shared_batches import release_slot
from signalkit.errors import ConfigError, InputError
from signalkit.recording import SIGNAL, ch_type_ids, str_values
from signalkit.store import Store

INDEX_COLUMNS = ("recording", "start", "stop", "target", "subject", "session", "run", "n_times")


def label_mapping(events: Sequence[str] | Mapping[str, int]) -> tuple[dict[str, int], list[str]]:
    """Normalise ``data.events`` to ``{label: class}`` and class names ordered by class id.

    A list gives classes in its order; a mapping may merge several labels into one class.
    """
    if isinstance(events, Mapping):
        mapping = {str(k): int(v) for k, v in events.items()}
    else:
        mapping = {str(k): i for i, k in enumerate(events)}
    n = max(mapping.values()) + 1 if mapping else 0
    if sorted(set(mapping.values())) != list(range(n)):
        raise ConfigError(f"data.events: class ids must be 0..{n - 1}, got {sorted(set(mapping.values()))}")
    names = ["+".join(k for k, v in mapping.items() if v == c) for c in range(n)]
    return mapping, names


def effective_window_s(store: Store, window_s: float | None, default_s: float = 4.0) -> float:
    """``window_s``, or for ``None`` the epoch length of an epoched store (each epoch is one
    window), else ``default_s``. Recordings of an epoched store must share one epoch length."""
    if window_s is not None:
        return float(window_s)
    lengths = {float(store[rid].attrs.get("epoch_samples", 0) or 0) / float(store[rid].attrs["sfreq"])
               for rid in store}
    lengths.discard(0.0)
    if len(lengths) > 1:
        raise ConfigError(f"data.window_s: the store's epochs have different lengths {sorted(lengths)} s; set it")
    return lengths.pop() if lengths else float(default_s)


def _same_epoch(start: int, length: int, epoch: int) -> bool:
    return epoch <= 0 or start // epoch == (start + length - 1) // epoch


def build_sensor_index(
    store: Store,
    window_s: float | None,
    *,
    events: Sequence[str] | Mapping[str, int] | None = None,
    tmin_s: float = 0.0,
    stride_s: float | None = None,
) -> pd.DataFrame:
    """One row per window of every recording in ``store``.

    With ``events`` (labels to keep, or label -> class), a window starts at each matching
    event onset + ``tmin_s`` and its ``target`` is the class id; otherwise fixed-length windows
    every ``stride_s`` (default ``window_s``) with ``target = -1``. Windows that do not fit in
    the recording are dropped. All recordings must share one sampling rate.

    Epoched recordings (attr ``epoch_samples``: epochs laid end to end) never give a window
    that straddles two epochs: fixed windows are laid inside each epoch, and an event window
    that would cross into the next epoch is dropped. ``window_s=None`` takes the epoch as the
    window (see :func:`effective_window_s`).
    """
    window_s = effective_window_s(store, window_s)
    rows = []
    rates = {}
    mapping = label_mapping(events)[0] if events is not None else None
    for rid in store:
        ds = store[rid]
        prov = store.provenance(rid)
        sfreq = float(ds.attrs["sfreq"])
        rates[rid] = sfreq
        n_times = int(ds.sizes["time"])
        epoch = int(ds.attrs.get("epoch_samples", 0) or 0)
        length = int(round(window_s * sfreq))
        if length < 1:
            raise ConfigError(f"data.window_s: {window_s} s is shorter than one sample at {sfreq} Hz")
        ident = (prov.get("subject", ""), prov.get("session", ""), prov.get("run", ""))
        if mapping is not None:
            if ds.sizes.get("event", 0) == 0:
                raise InputError(f"{prov.get('source', rid)}: no events in the recording, but data.events asks for event windows")
            labels = str_values(ds["event_label"].values)
            onsets = ds["event_onset_s"].values
            for label, onset in zip(labels, onsets):
                if label in mapping:
                    start = int(round((onset + tmin_s) * sfreq))
                    if start >= 0 and start + length <= n_times and _same_epoch(start, length, epoch):
                        rows.append((rid, start, start + length, mapping[label], *ident, n_times))
        else:
            step = int(round((stride_s or window_s) * sfreq))
            if step < 1:
                raise ConfigError(f"data.stride_s: {stride_s} s is shorter than one sample")
            span = epoch if epoch > 0 else n_times
            for first in range(0, n_times, span):
                for start in range(first, min(first + span, n_times) - length + 1, step):
                    rows.append((rid, start, start + length, -1, *ident, n_times))
    if len(set(rates.values())) > 1:
        raise ConfigError(f"data: recordings have different sampling rates {sorted(set(rates.values()))}; "
                          "set preprocess.resample at ingest")
    index = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    if mapping is not None and index.empty:
        raise InputError(f"{store.path}: no events labelled {sorted(mapping)} fit a {window_s} s window")
    return index


class ChannelStandardizer:
    """Per-channel-name mean and standard deviation, applied as ``(x - mean) / std``."""

    def __init__(self, stats: Mapping[str, Sequence[float]]):
        self.stats = {str(k): (float(v[0]), float(v[1])) for k, v in stats.items()}
        stds = [s for _, s in self.stats.values()]
        self.default = (0.0, float(np.median(stds)) if stds else 1.0)

    def arrays(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(C, 1)`` mean and std arrays for a montage (unknown channels get the median std)."""
        ms = np.array([self.stats.get(str(n), self.default) for n in names], dtype=np.float32)
        std = np.where(ms[:, 1] > 0, ms[:, 1], 1.0).astype(np.float32)
        return ms[:, :1], std[:, None]

    def to_dict(self) -> dict[str, list[float]]:
        return {k: [m, s] for k, (m, s) in self.stats.items()}


class WindowDataset(Dataset):
    """Windows of a sensor store: item ``i`` is row ``i`` of ``index``.

    Returns dicts with ``x (C, T)`` float32 (normalised when ``norm`` is given), ``pos (C, 3)``
    (metres, NaN -> 0), ``ch_type (C,)``, ``y`` (class id, when the index has targets) and
    ``rec`` (recording number, for error messages). ``preload=True`` reads every recording into
    memory once per process; otherwise each item reads one zarr slice.
    """

    def __init__(self, store: Store, index: pd.DataFrame, norm: ChannelStandardizer | None = None,
                 preload: bool = False, with_target: bool = True):
        self.path = store.path
        self.index = index.reset_index(drop=True)
        self.recordings = list(dict.fromkeys(self.index["recording"]))
        rec_no = {r: i for i, r in enumerate(self.recordings)}
        self._rec = self.index["recording"].map(rec_no).to_numpy()
        self._start = self.index["start"].to_numpy()
        self._stop = self.index["stop"].to_numpy()
        self._target = self.index["target"].to_numpy()
        self.with_target = with_target and bool((self._target >= 0).any())
        self.meta = []
        for rid in self.recordings:
            ds = store[rid]
            names = str_values(ds["channel"].values)
            pos = np.nan_to_num(ds["pos"].values.astype(np.float32), nan=0.0)
            mean, std = norm.arrays(names) if norm else (None, None)
            self.meta.append({
                "names": names, "pos": torch.from_numpy(pos),
                "ch_type": torch.from_numpy(ch_type_ids(str_values(ds["ch_type"].values))),
                "mean": mean, "std": std, "source": store.provenance(rid).get("source", rid),
            })
        self._tables()
        self.preload = preload
        self._arrays: list | None = None
        self._pid: int | None = None

    def _tables(self) -> None:
        """Per-recording metadata padded to the largest montage, for whole-batch gathers:
        ``pos (R, C, 3)``, ``ch_type (R, C)``, ``ch_mask (R, C)``, ``mean``/``std (R, C, 1)``
        (0 and 1 on padded channels, so padding stays exactly 0)."""
        n_ch = np.array([len(m["names"]) for m in self.meta], dtype=np.int64)
        r, c = len(self.meta), int(n_ch.max()) if len(n_ch) else 0
        self._n_ch = n_ch
        self._pos_tab = torch.zeros(r, c, 3)
        self._type_tab = torch.zeros(r, c, dtype=torch.long)
        self._mask_tab = torch.zeros(r, c, dtype=torch.bool)
        self._norm = any(m["mean"] is not None for m in self.meta)
        self._mean_tab = np.zeros((r, c, 1), dtype=np.float32)
        self._std_tab = np.ones((r, c, 1), dtype=np.float32)
        for k, m in enumerate(self.meta):
            n = int(n_ch[k])
            self._pos_tab[k, :n] = m["pos"]
            self._type_tab[k, :n] = m["ch_type"]
            self._mask_tab[k, :n] = True
            if m["mean"] is not None:
                self._mean_tab[k, :n], self._std_tab[k, :n] = m["mean"], m["std"]
        self._target64 = self._target.astype(np.int64)

    def _open(self) -> list:
        if self._arrays is None or self._pid != os.getpid():
            arrays = self._signal_arrays()
            if self.preload:
                self._arrays = [a[...] for a in arrays]
            else:  # memory-mapped chunk files where the store allows it, else zarr slices
                self._arrays = [ChunkMemmap.open(self.path, a, f"{rid}/{SIGNAL}") or a
                                for rid, a in zip(self.recordings, arrays)]
            self._pid = os.getpid()
        return self._arrays

    def _signal_arrays(self) -> list:
        from signalkit.errors import StoreError

        root = zarr.open_group(self.path, mode="r")
        arrays = []
        for rid in self.recordings:
            try:
                arrays.append(root[rid][SIGNAL])
            except Exception as err:  # damaged array metadata: one line naming it
                raise StoreError(f"{self.path}: recording {rid}, variable {SIGNAL}: metadata unreadable "
                                 f"({type(err).__name__}); the store is damaged, re-run `signalkit ingest`") from None
        return arrays

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        arrays = self._open()
        r = int(self._rec[i])
        arr = arrays[r]
        if isinstance(arr, ChunkMemmap):
            x = arr.read(int(self._start[i]), int(self._stop[i])).astype(np.float32, copy=False)
        else:
            x = np.asarray(arr[:, self._start[i]:self._stop[i]], dtype=np.float32)
        meta = self.meta[r]
        if meta["mean"] is not None:
            x = (x - meta["mean"]) / meta["std"]
        item = {"x": torch.from_numpy(np.ascontiguousarray(x)), "pos": meta["pos"],
                "ch_type": meta["ch_type"], "rec": r}
        if self.with_target:
            item["y"] = int(self._target[i])
        return item

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A whole batch at once (the DataLoader's batched fetch): the same Batch that
        :func:`~signalkit.datamodules.loading.collate.collate_sensor` builds from ``[self[i] for i in indices]``.

        Index math and metadata are gathered for the whole batch (one indexing op per field from
        the padded per-recording tables); each window is copied once, from its chunk straight into
        one preallocated ``x (B, C, T)`` (in shared memory inside a DataLoader worker);
        normalisation is one vectorised pass. No per-window tensors or dicts. From a worker the
        Batch travels as a :class:`~signalkit.datamodules.loading.collate.WorkerBatch`.
        """
        arrays = self._open()
        idx = np.asarray(indices, dtype=np.int64)
        recs = self._rec[idx]
        starts, stops = self._start[idx], self._stop[idx]
        b, length = len(idx), int(stops[0] - starts[0]) if len(idx) else 0
        sizes = self._n_ch[recs]
        n_ch = int(sizes.max()) if b else 0
        mixed = bool((sizes != n_ch).any())
        x_t, x, ticket = batch_array((b, n_ch, length), zero=mixed)
        try:
            for k, (r, start, stop, c) in enumerate(zip(recs.tolist(), starts.tolist(), stops.tolist(), sizes.tolist())):
                arr = arrays[r]
                if isinstance(arr, ChunkMemmap):
                    arr.read_into(x[k, :c], start, stop)
                else:
                    x[k, :c] = arr[:, start:stop]
        except BaseException:
            if ticket is not None:  # the batch never leaves: its shared slot is free again
                release_slot(ticket)
            raise
        if self._norm:  # same float32 ops as __getitem__: (x - mean) / std, per recording's channels
            x -= self._mean_tab[recs, :n_ch]
            x /= self._std_tab[recs, :n_ch]
        rec_t = torch.from_numpy(recs.astype(np.int64))
        batch = (WorkerBatch(ticket=ticket) if get_worker_info() is not None else {})
        batch.update(
            x=x_t,
            pos=self._pos_tab[:, :n_ch].index_select(0, rec_t),
            ch_type=self._type_tab[:, :n_ch].index_select(0, rec_t),
            ch_mask=self._mask_tab[:, :n_ch].index_select(0, rec_t),
            rec=rec_t)
        if self.with_target:
            batch["y"] = torch.from_numpy(self._target64[idx])
        return batch

    def source_of(self, rec: int) -> str:
        """The source file of recording number ``rec`` (for messages naming the data)."""
        return str(self.meta[rec]["source"])


def channel_stats(dataset: WindowDataset, max_windows: int = 512, seed: int = 0) -> ChannelStandardizer:
    """Per-channel-name mean/std over (a seeded sample of) the windows of ``dataset``."""
    rng = np.random.default_rng(seed)
    n = len(dataset)
    picks = rng.choice(n, size=min(n, max_windows), replace=False) if n else []
    acc: dict[str, list[np.ndarray]] = {}
    for i in picks:
        item = dataset[int(i)]
        for name, row in zip(dataset.meta[item["rec"]]["names"], item["x"].numpy()):
            acc.setdefault(str(name), []).append(row)
    stats = {}
    for name, rows in acc.items():
        v = np.concatenate(rows).astype(np.float64)
        stats[name] = (float(v.mean()), float(v.std()))
    return ChannelStandardizer(stats)


def __getattr__(name: str):
    if name == "ChannelNorm":  # renamed: backbones.common had a different ChannelNorm (kept for one release)
        import warnings

        warnings.warn("signalkit.datamodules.windows.ChannelNorm is now ChannelStandardizer", DeprecationWarning,
                      stacklevel=2)
        return ChannelStandardizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
