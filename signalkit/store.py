"""The zarr store: many Recordings in one store, one group per recording.

Layout (zarr format 3, local path or any fsspec URL)::

    store.zarr/
      zarr.json            root attrs: schema_version, signalkit_version, modality,
                           config_hash, config, recordings {id: provenance}
      <recording id>/      one xarray Dataset (signal chunked along time, events, coords)

Writes go to a temporary sibling path that is moved into place at the end, so an interrupted
ingest leaves the previous store (or none) intact. Re-ingesting with the same config copies the
groups of unchanged inputs (same sha256) instead of reading them again; a different config
rebuilds everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import dask
import fsspec
import numpy as np
import xarray as xr
import zarr

from signalkit.errors import InputError, StoreError
from signalkit.guard import check_target, is_local, marker_kind, write_marker
from signalkit.recording import SIGNAL, file_sha256, source_name, validate_recording
from signalkit.version import __version__

SCHEMA_VERSION = 1
_TARGET_CHUNK_BYTES = 1 << 19  # ~0.5 MB: a window read touches one or two chunks
_LAZY_BLOCK_CHUNKS = 32  # store chunks per block when a lazy signal is written (~16 MB)


def config_hash(modality: str, config: Mapping[str, Any]) -> str:
    """Stable hash of everything that changes a store's content (modality, reader config, schema)."""
    blob = json.dumps({"modality": modality, "config": config, "schema": SCHEMA_VERSION},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _fs(path: str) -> tuple[fsspec.AbstractFileSystem, str]:
    return fsspec.core.url_to_fs(str(path))


def _source_sha256(path: str) -> str:
    """sha256 of a source file; for a folder or URL (a zarr store, a file on object storage) a hash
    of its zarr metadata documents or of its fsspec info, so those can be ingested too; "" if absent."""
    if os.path.isfile(path):
        return file_sha256(path)
    if not (os.path.isdir(path) or "://" in str(path)):
        return ""
    try:
        fs, root = _fs(path)
        if not fs.exists(root):
            return ""
        digest = hashlib.sha256()
        if fs.isdir(root):
            names = (".zmetadata", "zarr.json", ".zarray", ".zattrs", ".zgroup")
            for name in sorted(fs.find(root, maxdepth=2)):
                if name.rsplit("/", 1)[-1] in names:
                    digest.update(name[len(root):].encode())
                    digest.update(fs.cat_file(name))
        else:
            digest.update(json.dumps(fs.info(root), sort_keys=True, default=str).encode())
        return digest.hexdigest()
    except Exception as err:
        raise InputError(f"{path}: cannot read ({type(err).__name__}: {err})") from None


def _recording_id(path: str, sha: str, taken: set[str]) -> str:
    base = "".join(c if c.isalnum() or c in "-_." else "_" for c in source_name(path))
    rid = base
    if rid in taken:
        rid = f"{base}-{sha[:8]}"
    taken.add(rid)
    return rid


def _time_chunks(ds: xr.Dataset) -> dict:
    """Encoding that chunks ``signal`` along ``time`` into ~0.5 MB uncompressed chunks of whole frames."""
    sig = ds[SIGNAL]
    frame = int(np.prod([n for d, n in sig.sizes.items() if d != "time"])) * sig.dtype.itemsize
    t_chunk = int(max(1, min(sig.sizes["time"], _TARGET_CHUNK_BYTES // max(1, frame))))
    chunks = tuple(t_chunk if d == "time" else n for d, n in sig.sizes.items())
    # uncompressed, with a crc32c checksum per chunk: a damaged or zeroed chunk is an error on read
    enc: dict = {SIGNAL: {"chunks": chunks, "compressors": (zarr.codecs.Crc32cCodec(),)}}
    for name, var in ds.data_vars.items():
        if name != SIGNAL and var.dtype.kind in "US":
            enc[name] = {"dtype": str}  # variable-length strings, portable across zarr versions
        elif name != SIGNAL and var.dtype.kind in "biuf":
            enc[name] = {"compressors": (zarr.codecs.Crc32cCodec(),)}
    return enc


def _is_lazy(ds: xr.Dataset) -> bool:
    """Whether the signal is a dask array (a large file its reader streams) rather than in memory."""
    return SIGNAL in ds and ds[SIGNAL].chunks is not None


def write_recording(ds: xr.Dataset, store: str, group: str) -> None:
    """Write one Recording as group ``group`` of ``store`` (signal chunked along time).

    A lazy (dask) signal is written block by block, one block in memory at a time (blocks of
    whole store chunks, ~16 MB); the store is the same as for the signal in memory.
    """
    lazy = _is_lazy(ds)
    ds = ds.copy()
    for var in ds.variables.values():  # the source's codecs (a zarr v2 source's) are not the store's
        var.encoding = {}
    for name, coord in ds.coords.items():
        if coord.dtype.kind == "U":
            ds = ds.assign_coords({name: coord.astype(object)})
    for name, var in ds.data_vars.items():
        if var.dtype.kind == "U":
            ds[name] = var.astype(object)
    ds.attrs = json.loads(json.dumps(ds.attrs, default=_json_default))
    encoding = _time_chunks(ds)
    if lazy and "time" in ds[SIGNAL].dims:  # dask blocks must be whole store chunks
        axis = ds[SIGNAL].dims.index("time")
        t_chunk, block = encoding[SIGNAL]["chunks"][axis], ds[SIGNAL].chunks[axis][0]
        ds[SIGNAL] = ds[SIGNAL].chunk({"time": t_chunk * max(1, min(round(block / t_chunk), _LAZY_BLOCK_CHUNKS))})
    # one block in memory at a time, read in this thread (MNE file handles are not shared across threads)
    sync = dask.config.set(scheduler="synchronous") if lazy else contextlib.nullcontext()
    with warnings.catch_warnings(), sync:
        warnings.simplefilter("ignore")  # zarr flags its string dtype as not yet in the v3 spec
        # every chunk file is written (also those equal to the fill value), so a missing one is damage
        ds.to_zarr(store, group=group, mode="w", consolidated=False, zarr_format=3, encoding=encoding,
                   write_empty_chunks=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _read_and_write(args: tuple) -> dict:
    """Worker: read one source with the modality's reader and write its group.

    The source's sha256 is taken before the read (``sha``) and again after the write: a file
    changed while it was read is an :class:`InputError`, never a group whose data and recorded
    sha256 disagree.
    """
    path, modality, reader_kwargs, tmp, rid, sha = args
    from signalkit.io import get_reader, read_recording
    from signalkit.registry import accepted_kwargs

    kwargs = dict(reader_kwargs)
    accepted = accepted_kwargs(get_reader(modality))[0]
    if "sha256" in accepted:  # the reader does not hash the file a third time
        kwargs.setdefault("sha256", sha)
    if "validate" in accepted:  # checked once, here, not in the reader as well
        kwargs["validate"] = False
    rec = read_recording(path, modality, **kwargs)
    validate_recording(rec, modality, name=str(path))
    write_recording(rec, tmp, rid)
    after = _source_sha256(path)
    seen = str(rec.attrs.get("sha256") or sha)
    if after != sha or seen != sha:
        raise InputError(f"{path}: the file changed while it was read (sha256 {sha[:12]} before, "
                         f"{after[:12] or 'gone'} after); ingest it again once it is complete")
    rec.attrs["sha256"] = sha
    return _provenance(rec, path)


def _provenance(rec: xr.Dataset, path: str) -> dict:
    keys = ("subject", "session", "run", "sha256")
    out = {k: str(rec.attrs.get(k, "")) for k in keys}
    out["source"] = str(path)
    out["n_times"] = int(rec.sizes.get("time", 0))
    return out


def ingest(
    sources: Sequence[str],
    store: str,
    modality: str,
    reader_kwargs: Mapping[str, Any] | None = None,
    jobs: int = 1,
    progress: bool = True,
    cluster: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Ingest source files into one store, atomically; return the store path.

    Args:
        sources: files (already expanded; see :func:`signalkit.io.expand_sources`), or Recordings
            built in Python (``xarray.Dataset``, e.g. :func:`signalkit.io.arrays.from_arrays`).
        store: destination path or fsspec URL (``s3://bucket/x.zarr``, ``memory://x.zarr``).
        modality: registered reader name (``eeg``, ``meg``, ``ieeg``, ...).
        reader_kwargs: the reader's config (preprocessing, montage, ...); part of the config hash.
        jobs: parallel worker processes (1 = in-process); with ``cluster="local"``, the Dask workers.
        cluster: a Dask scheduler address, or ``"local"`` for a LocalCluster: the recordings are read
            and written on its workers (see :mod:`signalkit.store_cluster`); None = ``jobs`` processes.
        storage_options: fsspec options of the store's protocol (``endpoint_url``, ``key``, ...), see
            :func:`use_storage_options`; without them the usual environment variables apply.
    """
    use_storage_options(store, storage_options)
    reader_kwargs = dict(reader_kwargs or {})
    chash = config_hash(modality, reader_kwargs)
    check_target(store, "store", what="store", sources=sources)
    fs, root = _fs(store)
    _check_writable(store)
    _recover_interrupted(fs, root)
    old = _existing(store) if fs.exists(root) else None
    reuse = old if old is not None and old.get("config_hash") == chash else None
    tmp_root = f"{root.rstrip('/')}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = fs.unstrip_protocol(tmp_root) if "://" in str(store) else tmp_root
    try:
        zarr.open_group(tmp, mode="w", zarr_format=3)
        write_marker(tmp, "store")
    except PermissionError:
        raise StoreError(f"{store}: cannot write here (permission denied)") from None
    taken: set[str] = set()
    todo, recordings = [], {}
    try:
        for path in sources:
            if isinstance(path, xr.Dataset):  # a Recording built in Python (e.g. io.arrays.from_arrays)
                rid = _recording_id(str(path.attrs.get("source") or "recording"), path.attrs.get("sha256", ""), taken)
                validate_recording(path, modality, name=rid)
                write_recording(path, tmp, rid)
                recordings[rid] = _provenance(path, str(path.attrs.get("source", rid)))
                continue
            sha = _source_sha256(path)
            if not sha:
                raise InputError(f"{path}: file not found")
            rid = _recording_id(path, sha, taken)
            prev = _reusable(reuse, path, sha)
            if prev is not None:
                fs.copy(f"{root.rstrip('/')}/{prev[0]}", f"{tmp_root}/{rid}", recursive=True)
                recordings[rid] = prev[1]
            else:
                todo.append((str(path), modality, reader_kwargs, tmp, rid, sha))
        for rid, prov in _run(todo, jobs, progress, cluster):
            recordings[rid] = prov
        attrs = {
            "schema_version": SCHEMA_VERSION, "signalkit_version": __version__,
            "modality": modality, "config_hash": chash,
            "config": json.loads(json.dumps(reader_kwargs, default=_json_default)),
            "recordings": recordings,
        }
        zarr.open_group(tmp, mode="r+", zarr_format=3).attrs.update(attrs)
        _swap_into_place(fs, tmp_root, root)
    except BaseException as err:
        if fs.exists(tmp_root):
            fs.rm(tmp_root, recursive=True)
        if isinstance(err, PermissionError):
            raise StoreError(f"{store}: cannot write here (permission denied)") from None
        raise
    return str(store)


def _run(todo: list, jobs: int, progress: bool, cluster: str | None = None) -> Iterator[tuple[str, dict]]:
    from tqdm.auto import tqdm

    if cluster:
        from signalkit.store_cluster import run_on_cluster

        yield from run_on_cluster(todo, cluster, jobs, progress, _read_and_write)
        return
    # disable=None: no bar when stderr is not a terminal (logs, CI), and none left behind
    with tqdm(total=len(todo), desc="ingest", unit="file", leave=False,
              disable=None if (progress and todo) else True) as bar:
        if jobs <= 1 or len(todo) <= 1:
            for item in todo:
                yield item[4], _read_and_write(item)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for item, prov in zip(todo, pool.map(_read_and_write, todo)):
                    yield item[4], prov
                    bar.update()


def _reusable(reuse: dict | None, path: str, sha: str) -> tuple[str, dict] | None:
    if reuse is None:
        return None
    for rid, prov in reuse.get("recordings", {}).items():
        if prov.get("sha256") == sha and prov.get("source") == str(path):
            return rid, prov
    return None


def _swap_into_place(fs: fsspec.AbstractFileSystem, tmp_root: str, root: str) -> None:
    backup = f"{root.rstrip('/')}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    had_old = fs.exists(root)
    if had_old:
        _move(fs, root, backup)
    _move(fs, tmp_root, root)
    if had_old:
        fs.rm(backup, recursive=True)


def _move(fs: fsspec.AbstractFileSystem, src: str, dst: str) -> None:
    """Move a folder: a rename on local disks; on object storage (no rename, no real folders) a
    copy of each object (listed explicitly, so that prefixes are never copied as keys), then a delete."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols or "local" in protocols:
        fs.mv(src, dst, recursive=True)
        return
    fs.invalidate_cache()
    files = fs.find(src)
    fs.copy(files, [dst + f[len(src):] for f in files])
    fs.rm(src, recursive=True)
    fs.invalidate_cache()


def _check_writable(store: str) -> None:
    """A local store whose folder (or the folder above it) cannot be written is one line."""
    if not is_local(store):
        return
    path = os.path.abspath(str(store))
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        return  # created by the write below (fsspec makes parents)
    for folder in ([path] if os.path.isdir(path) else []) + [parent]:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"{store}: cannot write here ({folder} is read-only)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _recover_interrupted(fs: fsspec.AbstractFileSystem, root: str) -> None:
    """Clean up after an ingest killed without a chance to clean (SIGKILL, power loss).

    A killed run leaves a ``<store>.partial-<pid>-<id>`` folder, or a ``<store>.old-<pid>-<id>``
    backup it had not yet deleted; both are removed here once that process is gone (local stores
    only: a pid means nothing on object storage). If it died between the two moves of
    :func:`_swap_into_place`, no store is in place and the backup is moved back. Only folders that
    carry signalkit's marker (:mod:`signalkit.guard`) are ever deleted: a user's folder that
    happens to be named like one is left alone.
    """
    base = root.rstrip("/")
    if "/" not in base:
        return
    parent, name = base.rsplit("/", 1)
    try:
        siblings = fs.ls(parent or "/", detail=False)
    except (FileNotFoundError, OSError):
        return
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    local = "file" in protocols
    for sib in siblings:
        leaf = sib.rstrip("/").rsplit("/", 1)[-1]
        kind = next((k for k in (".partial-", ".old-") if leaf.startswith(name + k)), None)
        if kind is None:
            continue
        pid = leaf[len(name) + len(kind):].split("-", 1)[0]
        dead = local and pid.isdigit() and not _pid_alive(int(pid))
        if local and marker_kind(sib) != "store":
            continue  # not signalkit's: never moved, never deleted
        if kind == ".old-" and not fs.exists(root) and (dead or not local):
            fs.mv(sib, root, recursive=True)  # died between the two moves: put the old store back
        elif dead:
            fs.rm(sib, recursive=True)  # a dead run's partial output or undeleted backup


def _existing(store: str) -> dict | None:
    try:
        return dict(zarr.open_group(store, mode="r").attrs)
    except Exception:
        return None


CHECKSUM_MISMATCH = "Stored and computed checksum do not match"  # zarr's crc32c codec on a damaged chunk


def verify_store(path: str | os.PathLike, recordings: Sequence[str] | None = None) -> list[str]:
    """Read every chunk of every array of a store's recordings; return what is damaged.

    Each problem names the recording, the variable and the chunk (checksum mismatch, chunk
    file missing on a local store, unreadable array metadata). An empty list: the store is whole.
    Costs one full read of the store (crc32c runs at several GB/s).
    """
    import itertools

    path = str(path)
    problems = []
    try:
        root = zarr.open_group(path, mode="r")
        rids = list(recordings) if recordings is not None else list(dict(root.attrs).get("recordings", {}))
    except Exception as err:
        return [f"root metadata unreadable ({type(err).__name__})"]
    local = "://" not in path or path.startswith("file://")
    for rid in rids:
        try:
            group = root[rid]
            arrays = sorted(group.arrays(), key=lambda item: item[0])
        except Exception as err:
            problems.append(f"recording {rid}: group metadata unreadable ({type(err).__name__})")
            continue
        for name, arr in arrays:
            grid = [range(n) for n in arr.cdata_shape]
            for idx in itertools.product(*grid):
                key = "/".join(map(str, idx))
                checked = any(type(c).__name__ == "Crc32cCodec" for c in getattr(arr.metadata, "codecs", ()))
                if local and checked and not os.path.exists(
                        os.path.join(path.removeprefix("file://"), rid, name, "c", *map(str, idx))):
                    problems.append(f"recording {rid}, variable {name}, chunk {key}: chunk file missing")
                    continue
                try:
                    arr.get_block_selection(idx)
                except Exception as err:
                    why = "checksum mismatch (crc32c)" if CHECKSUM_MISMATCH in str(err) else \
                        f"unreadable ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})"
                    problems.append(f"recording {rid}, variable {name}, chunk {key}: {why}")
    return problems


def is_damaged_chunk_error(err: BaseException) -> bool:
    """Whether ``err`` (possibly re-raised by a DataLoader worker or dask) is a chunk checksum failure."""
    return CHECKSUM_MISMATCH in str(err) or CHECKSUM_MISMATCH in str(getattr(err, "__cause__", "") or "")


def worker_message(err: BaseException) -> str:
    """The original one-line message of an error a DataLoader worker re-raised with its traceback."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    head, sep, tail = last.partition(": ")
    return tail if sep and head.rsplit(".", 1)[-1].endswith("Error") else last


@contextlib.contextmanager
def naming_damage(store: str | os.PathLike | None) -> Iterator[None]:
    """Turn a chunk checksum failure raised inside the block into one :class:`StoreError`
    naming the store, recording, variable and chunk (found by :func:`verify_store`)."""
    try:
        yield
    except StoreError as err:
        if "Original Traceback" in str(err):  # raised in a DataLoader worker: keep our one line
            raise StoreError(worker_message(err)) from None
        raise
    except Exception as err:
        if store is None or not is_damaged_chunk_error(err):
            raise
        problems = verify_store(str(store)) or ["a chunk failed its checksum"]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreError(f"{store}: damaged store: {problems[0]}{more}; re-run `signalkit ingest`") from None


class Store(Mapping[str, xr.Dataset]):
    """A read-only view of a store: recording id -> lazy ``xarray.Dataset``.

    ``store.attrs`` holds the root metadata; ``store.provenance(rid)`` the per-recording one.
    Datasets are opened on first access and cached.
    """

    def __init__(self, path: str, attrs: dict):
        self.path = str(path)
        self.attrs = attrs
        self._cache: dict[str, xr.Dataset] = {}

    @property
    def modality(self) -> str:
        return str(self.attrs.get("modality", ""))

    def provenance(self, rid: str) -> dict:
        return dict(self.attrs["recordings"][rid])

    def __getitem__(self, rid: str) -> xr.Dataset:
        if rid not in self.attrs["recordings"]:
            raise KeyError(rid)
        if rid not in self._cache:
            try:
                self._cache[rid] = xr.open_zarr(self.path, group=rid, consolidated=False, zarr_format=3)
            except Exception as err:
                raise StoreError(f"{self.path}: recording {rid}: metadata unreadable ({type(err).__name__}: "
                                 f"{str(err).splitlines()[0][:160] if str(err) else ''}); the store is damaged, "
                                 "re-run `signalkit ingest`") from None
        return self._cache[rid]

    def __iter__(self) -> Iterator[str]:
        return iter(self.attrs["recordings"])

    def __len__(self) -> int:
        return len(self.attrs["recordings"])

    def __repr__(self) -> str:
        return f"Store({self.path!r}, modality={self.modality!r}, recordings={len(self)})"


def use_storage_options(url: str | os.PathLike, storage_options: Mapping[str, Any] | None) -> None:
    """Make ``storage_options`` the fsspec defaults of ``url``'s protocol in this process.

    They then apply to every later access of that protocol (zarr, xarray, copies, DataLoader workers
    forked from here): e.g. ``{"endpoint_url": "http://minio:9000"}`` for ``s3://``. Without them,
    s3fs takes credentials and endpoint from the usual variables (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``AWS_PROFILE``) or ``FSSPEC_S3_<OPTION>``.
    """
    if not storage_options or "://" not in str(url):
        return
    protocol = str(url).split("://", 1)[0]
    fsspec.config.conf.setdefault(protocol, {}).update(dict(storage_options))


def open_store(path: str | os.PathLike, storage_options: Mapping[str, Any] | None = None) -> Store:
    """Open a store written by :func:`ingest`; a mapping from recording id to a lazy Dataset.

    ``storage_options``: see :func:`use_storage_options`. Raises :class:`StoreError` when the path
    holds no store or one of another schema version.
    """
    use_storage_options(path, storage_options)
    path = str(path)
    fs, root = _fs(path)
    if not fs.exists(root):
        _recover_interrupted(fs, root)
    try:
        attrs = dict(zarr.open_group(path, mode="r").attrs)
    except Exception as err:
        damaged = fs.exists(f"{root.rstrip('/')}/zarr.json") or fs.exists(f"{root.rstrip('/')}/.zgroup")
        if damaged:
            raise StoreError(f"{path}: store metadata unreadable ({type(err).__name__}); the store is damaged, "
                             "re-run `signalkit ingest`") from None
        raise StoreError(f"{path}: no signalkit store here (run `signalkit ingest` first)") from None
    if not isinstance(attrs.get("recordings", {}), dict):
        raise StoreError(f"{path}: store metadata damaged ('recordings' is not a mapping); re-run `signalkit ingest`")
    if "schema_version" not in attrs:
        raise StoreError(f"{path}: not a signalkit store (no schema_version)")
    if attrs["schema_version"] != SCHEMA_VERSION:
        raise StoreError(
            f"{path}: store schema {attrs['schema_version']} but this signalkit reads "
            f"{SCHEMA_VERSION}; re-run `signalkit ingest`"
        )
    return Store(path, attrs)


__all__ = ["SCHEMA_VERSION", "Store", "config_hash", "ingest", "naming_damage", "open_store", "use_storage_options",
           "verify_store",
           "write_recording"]
