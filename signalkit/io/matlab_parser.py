"""EEGLAB ``.set`` files (MAT files) parsed in a helper process, once.

scipy's MAT parser can crash the process (a segfault) on a corrupted file, which must end as an
:class:`InputError`, not a crashed ingest. MNE's EEGLAB readers parse the file with
``mne.io.eeglab.eeglab._check_load_mat``; while :func:`isolated_mat_parser` is active that
function runs in a long-lived helper process (started on first use, ~1 s, and kept for later
files) and its result comes back to MNE in this process, so a crash takes down only the helper
(replaced for the next file) and this process never parses a MAT file. The helper is a plain
subprocess over a socket pair, so daemonic workers (Dask, ``multiprocessing.Pool``) can start it.

The helper always parses with ``preload=True``: the whole file in one pass, as
``read_raw_eeglab(preload=True)`` does (MNE's ``preload=False`` parse reads a ``.set`` up to three
times, and for data embedded in the ``.set`` it would parse the file once more in this process
when the data is loaded). The data array comes back through the pipe as its own raw message
(one copy into the pipe and one out, never pickled); the rest of the struct as one pickle.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from signalkit.errors import InputError

_HELPER: tuple | None = None  # (process, connection) of this process's helper
_PID = 0
_LOCK = threading.RLock()
_OUT_OF_BAND_BYTES = 1 << 16  # top-level arrays this large (the data) travel as raw pipe messages


def _parse(fname: str, uint16_codec):
    import warnings

    from mne.io.eeglab.eeglab import _check_load_mat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _check_load_mat(fname, uint16_codec, preload=True)


def _split_arrays(eeg) -> tuple[object, list]:
    """Take the large numeric arrays (the data) out of the parsed struct's top level: they travel
    as raw pipe messages, the rest as one pickle."""
    import numpy as np

    arrays = []
    if isinstance(eeg, dict):
        for key, value in list(eeg.items()):
            if isinstance(value, np.ndarray) and value.nbytes >= _OUT_OF_BAND_BYTES and not value.dtype.hasobject:
                transposed = value.flags.f_contiguous and not value.flags.c_contiguous  # MAT is column-major
                arrays.append((key, value.T if transposed else np.ascontiguousarray(value), transposed))
                eeg[key] = None
    return eeg, arrays


_EMPTY_ARGS: dict[str, tuple] = {}


def _reduce_array(a):
    """How a reply pickles an ndarray: an empty 1-D array of plain numbers or text (a MAT file's
    empty fields: ~200 in an EEGLAB struct) as ``numpy.empty((0,), dtype)`` with one argument
    tuple per dtype, which pickle writes once (numpy's own reduction costs several microseconds
    to write and to read per array, most of the reply's cost); any other array as numpy reduces
    it. ``numpy.empty`` gives what MNE's parse in this process gives (strides included)."""
    import numpy as np

    if a.ndim == 1 and a.size == 0 and a.dtype.kind in "biufcUS":
        args = _EMPTY_ARGS.get(a.dtype.str)
        if args is None:
            args = _EMPTY_ARGS[a.dtype.str] = ((0,), a.dtype.str)
        return np.empty, args
    return a.__reduce_ex__(4)


def _dumps(value) -> bytes:
    """``pickle.dumps(value, protocol=4)``, empty arrays as :func:`_reduce_array` writes them."""
    import copyreg
    import io

    import numpy as np

    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=4)
    pickler.dispatch_table = {**copyreg.dispatch_table, np.ndarray: _reduce_array}
    pickler.dump(value)
    return buf.getvalue()


def _serve(conn) -> None:
    """The helper's loop: one request ``(fname, uint16_codec)`` in, one reply out, until EOF.

    A reply is ``(kind, arrays)``, then the pickle, then one message per array: ``kind`` "ok"
    (the parsed struct, its large top-level arrays listed as ``(key, dtype, shape, transposed)``)
    or "err" (the exception, or its text if it cannot be pickled)."""
    import mne.io.eeglab.eeglab  # noqa: F401 - imported once, before the first request

    while True:
        try:
            fname, codec = conn.recv()
        except (EOFError, OSError):
            return
        arrays: list = []
        try:
            eeg, arrays = _split_arrays(_parse(fname, codec))
            blob = _dumps(eeg)
            kind = "ok"
        except BaseException as err:  # MNE raises many types for damaged files
            arrays = []
            try:
                blob = pickle.dumps(err, protocol=4)
            except Exception:
                blob = pickle.dumps(RuntimeError(f"{type(err).__name__}: {err}"), protocol=4)
            kind = "err"
        conn.send((kind, [(key, a.dtype.str, a.shape, t) for key, a, t in arrays]))
        conn.send_bytes(blob)
        for _, a, _ in arrays:
            conn.send_bytes(a.reshape(-1).view("u1"))


def _serve_fd(fd: int) -> None:
    """The helper process's entry point: serve requests on the inherited socket ``fd``."""
    _serve(Connection(fd))


def _start() -> tuple:
    """Start the helper as a plain child process (``subprocess``, not ``multiprocessing``: a
    daemonic process, such as a Dask or ``multiprocessing.Pool`` worker, may not start
    multiprocessing children but may run a subprocess), talking over one socket pair. The child
    gets this process's ``sys.path`` so it imports the same signalkit and MNE; its own working
    directory is never put on the path (``-P``, Python >= 3.11)."""
    ours, theirs = socket.socketpair()
    fd = theirs.detach()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    code = "import sys; from signalkit.io.matlab_parser import _serve_fd; _serve_fd(int(sys.argv[1]))"
    flags = ["-P"] if sys.version_info >= (3, 11) else []
    try:
        proc = subprocess.Popen([sys.executable, *flags, "-c", code, str(fd)], pass_fds=(fd,), env=env,
                                stdin=subprocess.DEVNULL, close_fds=True)
    finally:
        os.close(fd)
    return proc, Connection(ours.detach())


def _helper() -> tuple:
    global _HELPER, _PID
    if _HELPER is not None and _PID != os.getpid():  # a forked child: the helper is its parent's
        _HELPER = None
    if _HELPER is None or _HELPER[0].poll() is not None:
        _reset()
        _PID, _HELPER = os.getpid(), _start()
    return _HELPER


def _reset() -> None:
    global _HELPER
    if _PID != os.getpid():  # never stop a parent's helper from a forked child
        _HELPER = None
        return
    helper, _HELPER = _HELPER, None
    if helper is not None:
        proc, conn = helper
        conn.close()
        if proc.poll() is None:
            proc.kill()  # our own helper, by its process object
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


atexit.register(_reset)  # stop this process's helper when it exits


def _receive(conn, timeout_s: float):
    import numpy as np

    if not conn.poll(timeout_s):
        raise TimeoutError
    kind, arrays = conn.recv()
    value = pickle.loads(conn.recv_bytes())
    for key, dtype, shape, transposed in arrays:
        out = np.empty(shape, dtype=dtype)
        conn.recv_bytes_into(out.reshape(-1).view("u1"))
        value[key] = out.T if transposed else out
        if isinstance(getattr(value, "__dict__", None), dict) and key in value.__dict__:
            value.__dict__[key] = value[key]  # an unpickled MNE Bunch keeps its attributes apart
    return kind, value


def _submit(path: Path, fname: str, uint16_codec, timeout_s: float):
    with _LOCK:
        _, conn = _helper()
        try:
            conn.send((fname, uint16_codec))
            kind, value = _receive(conn, timeout_s)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            _reset()
            raise InputError(f"{path}: cannot read the file (corrupt MAT file: the parser crashed)") from None
        except TimeoutError:
            _reset()
            raise InputError(f"{path}: cannot read the file (the MAT parser did not finish in {timeout_s:.0f} s)") from None
    if kind == "err":
        raise value
    return value


@contextlib.contextmanager
def isolated_mat_parser(path: Path, timeout_s: float = 120.0) -> Iterator[None]:
    """Within the block, MNE's EEGLAB readers parse MAT files in the helper process."""
    from mne.io.eeglab import eeglab as module

    original = getattr(module, "_check_load_mat", None)
    if original is None:  # pragma: no cover - another MNE layout: parse in the helper first
        _submit(path, str(path), None, timeout_s)
        yield
        return

    def parse(fname, uint16_codec=None, *, preload=False):
        return _submit(path, str(fname), uint16_codec, timeout_s)

    with _LOCK:
        module._check_load_mat = parse
        try:
            yield
        finally:
            module._check_load_mat = original
