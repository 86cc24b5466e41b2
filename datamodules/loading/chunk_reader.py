"""Direct reads of uncompressed local zarr chunks through ``np.memmap``.

zarr-python has a fixed cost of about half a millisecond per read; a window is a few kilobytes,
so that cost dominates random window access. A store written by signalkit keeps ``signal``
uncompressed (codec ``bytes`` only), so each chunk file is a plain C-order array that can be
memory-mapped once per worker and sliced without zarr. Anything else falls back to zarr.
"""

from __future__ import annotations

import os

import numpy as np
import zarr


class ChunkMemmap:
    """``reader[:, start:stop]`` for a 2-D ``(C, T)`` zarr v3 array chunked along ``T`` only.

    Build with :meth:`open`, which returns ``None`` when the array cannot be read this way
    (remote store, compression, another chunk layout or key encoding).
    """

    def __init__(self, folder: str, shape: tuple[int, int], chunk_t: int, dtype: np.dtype):
        self.folder = folder
        self.shape = shape
        self.chunk_t = chunk_t
        self.dtype = dtype
        self._maps: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, store_path: str, array: zarr.Array, name: str) -> ChunkMemmap | None:
        meta = array.metadata
        if "://" in store_path and not store_path.startswith("file://"):
            return None
        if getattr(meta, "zarr_format", 3) != 3 or array.ndim != 2 or array.chunks[0] != array.shape[0]:
            return None
        codecs = getattr(meta, "codecs", ())
        if len(codecs) != 1 or type(codecs[0]).__name__ != "BytesCodec":
            return None
        endian = getattr(getattr(codecs[0], "endian", None), "value", "little")
        enc = meta.chunk_key_encoding
        if type(enc).__name__ != "DefaultChunkKeyEncoding" or getattr(enc, "separator", "/") != "/":
            return None
        folder = os.path.join(store_path.removeprefix("file://"), name, "c", "0")
        if not os.path.isdir(folder):
            return None
        dtype = np.dtype(array.dtype).newbyteorder("<" if endian == "little" else ">")
        return cls(folder, tuple(array.shape), int(array.chunks[1]), dtype)

    def _chunk(self, k: int) -> np.ndarray:
        m = self._maps.get(k)
        if m is None:
            path = os.path.join(self.folder, str(k))
            # a plain ndarray view: slicing an np.memmap subclass costs ~3 us per slice
            m = np.memmap(path, dtype=self.dtype, mode="r").view(np.ndarray).reshape(self.shape[0], self.chunk_t)
            self._maps[k] = m
        return m

    def read_into(self, out: np.ndarray, start: int, stop: int) -> None:
        """Copy the signal between two sample indices into ``out`` (``(C, stop - start)``, any dtype)."""
        ct = self.chunk_t
        first, last = start // ct, (stop - 1) // ct
        if first == last:
            out[...] = self._chunk(first)[:, start - first * ct:stop - first * ct]
            return
        for k in range(first, last + 1):
            lo = max(start, k * ct)
            hi = min(stop, (k + 1) * ct)
            out[:, lo - start:hi - start] = self._chunk(k)[:, lo - k * ct:hi - k * ct]

    def read(self, start: int, stop: int) -> np.ndarray:
        """``(C, stop - start)`` copy of the signal between two sample indices."""
        out = np.empty((self.shape[0], stop - start), dtype=self.dtype.newbyteorder("="))
        self.read_into(out, start, stop)
        return out
