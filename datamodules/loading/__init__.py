"""How windows reach the model: collate functions, shared-memory worker batches, resumable samplers,
the chunk reader and the staged loaders every data module uses.

* :mod:`.collate`: ``collate_sensor`` (pads mixed montages, ``ch_mask``), ``WorkerBatch``
* :mod:`.shared_batches`: worker batches in reused shared-memory slots
* :mod:`.samplers`: ``EpochShuffleSampler``, ``ResumableDataLoader`` (mid-epoch resume)
* :mod:`.chunk_reader`: ``ChunkMemmap``, window reads straight from zarr chunks
* :mod:`.loaders`: ``StagedDataModule``, ``stage_loader``
"""
