"""Direct reads of uncompressed local zarr chunks through ``np.memmap``.

zarr-python has a fixed cost of about half a millisecond per read; a window is a few kilobytes,
so that cost dominates random window access. A store written by signalkit keeps ``signal``
uncompressed (codec ``bytes`` only), so each chunk file is a plain C-order array that can be
memory-mapped once per worker and sliced without zarr. Anything else falls back to zarr.

Stores written with a ``crc32c`` codec after ``bytes`` (signalkit's, since checksums were
added) end each chunk file with the 4-byte checksum: a chunk is verified once, when it is first
mapped (about 0.1 ms per 0.5 MB chunk), and a damaged, zeroed, truncated or missing chunk is a
:class:`~signalkit.errors.StoreError` naming the store, recording, variable and chunk.
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

    def __init__(self, folder: str, shape: tuple[int, int], chunk_t: int, dtype: np.dtype,
                 checksum: bool = False, where: str = "", fill_value: float = 0.0):
        self.folder = folder
        self.shape = shape
        self.chunk_t = chunk_t
        self.dtype = dtype
        self.checksum = checksum
        self.where = where or folder
        self.fill_value = fill_value
        self._maps: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, store_path: str, array: zarr.Array, name: str) -> ChunkMemmap | None:
        meta = array.metadata
        if "://" in store_path and not store_path.startswith("file://"):
            return None
        if getattr(meta, "zarr_format", 3) != 3 or array.ndim != 2 or array.chunks[0] != array.shape[0]:
            return None
        codecs = tuple(getattr(meta, "codecs", ()))
        names = tuple(type(c).__name__ for c in codecs)
        if names not in (("BytesCodec",), ("BytesCodec", "Crc32cCodec")):
            return None
        endian = getattr(getattr(codecs[0], "endian", None), "value", "little")
        enc = meta.chunk_key_encoding
        if type(enc).__name__ != "DefaultChunkKeyEncoding" or getattr(enc, "separator", "/") != "/":
            return None
        folder = os.path.join(store_path.removeprefix("file://"), name, "c", "0")
        if not os.path.isdir(folder):
            return None
        dtype = np.dtype(array.dtype).newbyteorder("<" if endian == "little" else ">")
        rid, _, var = name.rpartition("/")
        where = f"{store_path}: recording {rid}, variable {var}"
        fill = getattr(meta, "fill_value", 0)
        return cls(folder, tuple(array.shape), int(array.chunks[1]), dtype, checksum=len(codecs) == 2, where=where,
                   fill_value=float(fill) if fill is not None else 0.0)

    def _damaged(self, k: int, why: str):
        from signalkit.errors import StoreError

        return StoreError(f"{self.where}, chunk {k}: {why}; the store is damaged, re-run `signalkit ingest`")

    def _chunk(self, k: int) -> np.ndarray:
        m = self._maps.get(k)
        if m is None:
            path = os.path.join(self.folder, str(k))
            n_bytes = self.shape[0] * self.chunk_t * self.dtype.itemsize
            try:
                raw = np.memmap(path, dtype=np.uint8, mode="r")
            except FileNotFoundError:
                if self.checksum:  # written with every chunk present: a missing one is damage
                    raise self._damaged(k, "chunk file missing") from None
                m = np.full((self.shape[0], self.chunk_t), self.fill_value, dtype=self.dtype)  # older stores
                self._maps[k] = m
                return m
            except ValueError:  # an empty file cannot be mapped
                raise self._damaged(k, "chunk file is empty") from None
            if raw.size != n_bytes + 4 * self.checksum:
                raise self._damaged(k, f"chunk file has {raw.size} bytes, expected {n_bytes + 4 * self.checksum}")
            if self.checksum:
                import google_crc32c

                stored = bytes(raw[n_bytes:])
                if np.uint32(google_crc32c.value(raw[:n_bytes])).tobytes() != stored:
                    raise self._damaged(k, "checksum mismatch (crc32c)")
            # a plain ndarray view: slicing an np.memmap subclass costs ~3 us per slice
            m = raw[:n_bytes].view(np.ndarray).view(self.dtype).reshape(self.shape[0], self.chunk_t)
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
