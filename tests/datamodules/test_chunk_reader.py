"""Memory-mapped chunk reads equal zarr reads."""

from __future__ import annotations

import numpy as np

from signalkit.datamodules import WindowDataset, build_sensor_index
from signalkit.store import open_store


def test_memmap_reads_equal_zarr_reads(mi_store):
    import zarr

    from signalkit.datamodules.chunk_reader import ChunkMemmap

    store = open_store(mi_store)
    index = build_sensor_index(store, 7.3, stride_s=3.1)  # windows that cross chunk boundaries
    ds = WindowDataset(store, index)
    root = zarr.open_group(mi_store, mode="r")
    assert isinstance(ds._open()[0], ChunkMemmap)
    for i in range(0, len(index), 7):
        row = index.iloc[i]
        ref = root[row["recording"]]["signal"][:, row["start"]:row["stop"]]
        np.testing.assert_array_equal(ds[i]["x"].numpy(), ref)
    assert ChunkMemmap.open("memory://x.zarr", root[index["recording"].iloc[0]]["signal"], "r/signal") is None
