"""EEGLAB ``.set`` files (MAT files) parsed in a helper process, once.

scipy's MAT parser can crash the process (a segfault) on a corrupted file, which must end as an
:class:`InputError`, not a crashed ingest. MNE's EEGLAB readers parse the file with
``mne.io.eeglab.eeglab._check_load_mat``; while :func:`isolated_mat_parser` is active that
function runs in a long-lived helper process (started on first use, ~1 s, and kept for later
files) and its result comes back to MNE in this process, so the file is parsed once, as MNE
alone would, and a crash takes down only the helper (replaced for the next file).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from multiprocessing import util as mp_util
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from signalkit.errors import InputError

_POOL: ProcessPoolExecutor | None = None
_PID = 0
_LOCK = threading.Lock()


def _warm() -> None:
    import mne.io.eeglab.eeglab  # noqa: F401


def _parse(fname: str, uint16_codec, preload: bool):
    import warnings

    from mne.io.eeglab.eeglab import _check_load_mat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _check_load_mat(fname, uint16_codec, preload=preload)


def _pool() -> ProcessPoolExecutor:
    global _POOL, _PID
    if _POOL is not None and _PID != os.getpid():  # a forked child: the helper is its parent's
        _POOL = None
    if _POOL is None:
        _PID = os.getpid()
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=_warm)
        # stop the helper before multiprocessing joins this process's children at exit (inside a
        # worker process the executor's own atexit hook would run only after that join: a hang)
        mp_util.Finalize(_POOL, _reset, exitpriority=10)
    return _POOL


def _reset() -> None:
    global _POOL
    if _PID != os.getpid():  # never stop a parent's helper from a forked child
        _POOL = None
        return
    pool, _POOL = _POOL, None
    if pool is not None:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()  # our own helper, by its process object
        pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def isolated_mat_parser(path: Path, timeout_s: float = 120.0) -> Iterator[None]:
    """Within the block, MNE's EEGLAB readers parse MAT files in the helper process."""
    from mne.io.eeglab import eeglab as module

    original = getattr(module, "_check_load_mat", None)
    if original is None:  # pragma: no cover - another MNE layout: parse in the helper first
        _submit(path, str(path), None, False, timeout_s)
        yield
        return

    def parse(fname, uint16_codec=None, *, preload=False):
        return _submit(path, str(fname), uint16_codec, preload, timeout_s)

    with _LOCK:
        module._check_load_mat = parse
        try:
            yield
        finally:
            module._check_load_mat = original


def _submit(path: Path, fname: str, uint16_codec, preload: bool, timeout_s: float):
    try:
        return _pool().submit(_parse, fname, uint16_codec, preload).result(timeout=timeout_s)
    except BrokenProcessPool:
        _reset()
        raise InputError(f"{path}: cannot read the file (corrupt MAT file: the parser crashed)") from None
    except FutureTimeout:
        _reset()
        raise InputError(f"{path}: cannot read the file (the MAT parser did not finish in {timeout_s:.0f} s)") from None
