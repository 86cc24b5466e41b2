"""Ingest on a Dask cluster: each recording is read and written by one task on a Dask worker.

``signalkit ingest ... cluster=tcp://scheduler:8786`` (an existing ``distributed`` scheduler) or
``cluster=local`` (a :class:`distributed.LocalCluster` of ``jobs`` worker processes on this machine)
runs the same per-recording task as ``jobs=N`` (:func:`signalkit.store._read_and_write`), so the
rules are those of :func:`signalkit.store.ingest`:

- every recording is written as its own group of the run's temporary store, and the store is
  committed once (root metadata written, then moved into place) after every task has finished;
- a worker that dies mid-task leaves only a group of the uncommitted temporary store; the scheduler
  runs the task again on another worker (which rewrites that group whole), and if it gives up
  (``distributed.scheduler.allowed-failures``) the run fails with nothing committed;
- a re-run reuses the groups of the committed store whose source and config are unchanged.

The workers must see the sources and the store under the same paths as this process: on one
machine that is given; on a cluster use shared storage or object storage (``s3://``). The run checks
after the tasks that every group is visible from here and fails (committing nothing) when not.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dask
import fsspec

from signalkit.errors import ConfigError, StoreError


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("cluster: needs the `distributed` package "
                          "(pip install 'signalkit-ml[cluster]')") from None
    return distributed


def connect(cluster: str, jobs: int = 1) -> tuple[Any, Callable[[], None]]:
    """A ``distributed.Client`` for ``cluster`` and a function that closes what was opened.

    ``cluster="local"`` starts a LocalCluster of ``max(jobs, 1)`` single-threaded worker processes
    (readers hold the GIL); any other value is a scheduler address (``tcp://host:8786``).
    """
    distributed = _distributed()
    if cluster == "local":
        # no statistical profiler on the workers (it samples every thread each 10 ms: CPU the readers need)
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            local = distributed.LocalCluster(n_workers=max(1, int(jobs)), threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
        client = distributed.Client(local)

        def close() -> None:
            client.close()
            local.close()

        return client, close
    try:  # connect timeout: distributed.comm.timeouts.connect (30 s by default)
        client = distributed.Client(cluster, timeout=dask.config.get("distributed.comm.timeouts.connect"))
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(f"cluster: cannot reach a Dask scheduler at {cluster!r} ({type(err).__name__}: {err})") from None
    return client, client.close


def _for_workers(item: tuple, remote: bool) -> tuple:
    """The task's arguments; on a remote cluster, relative local paths become absolute."""
    path = item[0]
    if remote and "://" not in path and not os.path.isabs(path):
        path = os.path.abspath(path)
    return (path, *item[1:])


def run_on_cluster(todo: list[tuple], cluster: str, jobs: int, progress: bool,
                   task: Callable[[tuple], dict]) -> Iterator[tuple[str, dict]]:
    """Run ``task(item)`` for every item of ``todo`` on the cluster; yield ``(rid, provenance)``
    in ``todo`` order once all have finished (a failure raises before anything is yielded).

    ``item`` is ``(path, modality, reader_kwargs, tmp_store, rid)`` as in :func:`signalkit.store.ingest`.
    """
    from tqdm.auto import tqdm

    if not todo:
        return
    distributed = _distributed()
    client, close = connect(cluster, jobs)
    run = uuid.uuid4().hex[:8]
    futures = []
    try:
        remote = cluster != "local"
        futures = [client.submit(task, _for_workers(item, remote), key=f"signalkit-ingest-{run}-{i}", pure=False)
                   for i, item in enumerate(todo)]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[dict | None] = [None] * len(todo)
        with tqdm(total=len(todo), desc="ingest", unit="file", leave=False,
                  disable=None if progress else True) as bar:
            for fut in distributed.as_completed(futures):
                i = index[fut.key]
                try:
                    results[i] = fut.result()
                except distributed.KilledWorker:
                    _drain(client, futures)
                    raise StoreError(f"{todo[i][0]}: the Dask workers reading it died repeatedly; nothing "
                                     "was committed (re-run to complete the store)") from None
                except BaseException:
                    _drain(client, futures)
                    raise
                bar.update()
        _check_visible(todo)
        for item, prov in zip(todo, results):
            yield item[4], prov
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
        close()


def _drain(client: Any, futures: list, timeout: float = 300.0) -> None:
    """After a failure: cancel the tasks not yet started and wait for the running ones, so that no
    worker still writes into the temporary store once the caller removes it."""
    import distributed

    keys = {f.key for f in futures}
    try:
        running = {k for ks in client.processing().values() for k in ks} & keys
    except Exception:  # noqa: BLE001 - scheduler gone: nothing left to wait for
        return
    client.cancel([f for f in futures if f.key not in running and not f.done()])
    pending = [f for f in futures if f.key in running and not f.done()]
    if pending:
        try:
            distributed.wait(pending, timeout=timeout)
        except Exception:  # noqa: BLE001 - a timeout or a lost worker: the caller raises the first error
            pass


def _check_visible(todo: list[tuple]) -> None:
    """Every group the workers wrote is visible from this process (shared or object storage)."""
    for item in todo:
        tmp, rid = item[3], item[4]
        fs, root = fsspec.core.url_to_fs(tmp)
        if not fs.exists(f"{root.rstrip('/')}/{rid}/zarr.json"):
            raise StoreError(f"{tmp}: the Dask workers wrote group {rid!r} where this machine cannot see it; "
                             "put the store on storage the workers and this machine share (or s3://)")


__all__ = ["connect", "run_on_cluster"]
