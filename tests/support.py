"""Helpers shared by the tests (plain functions and constants, not fixtures).

Every helper a test imports comes from here (``from tests.support import ...``); fixtures live in
conftest files (``tests/conftest.py`` registers the modality fixture modules in ``tests/fixtures/``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from signalkit.synthetic.video import write_ffv1  # noqa: F401  (real-format writers used by fixtures)
from signalkit.synthetic.weather import advecting_field, write_netcdf  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[1]


# --- sample data, threads ------------------------------------------------------------------------

def sample_subdir(sample_data: Path, name: str) -> Path:
    """``<sample data>/<name>``, or a skip naming it when that folder is missing."""
    if not (sample_data / name).is_dir():
        pytest.skip(f"sample data ({name}/) not available (set SIGNALKIT_SAMPLE_DATA)")
    return sample_data / name


def one_torch_thread():
    """Generator for an autouse fixture: torch on one thread during each test, restored after.

    ``tests/conftest.py`` uses it for every test (``_one_thread``).
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --- kernels -------------------------------------------------------------------------------------

def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """``||out - ref|| / ||ref||`` (complex tensors compared through their real view)."""
    if out.is_complex():
        out, ref = torch.view_as_real(out), torch.view_as_real(ref)
    out, ref = out.double(), ref.double()
    den = ref.norm().item()
    num = (out - ref).norm().item()
    return num / den if den > 0 else num


def gen(seed: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (kernel inputs)."""
    return torch.Generator().manual_seed(seed)


def scan_inputs(Bt=2, Dm=4, N=3, L=13, G=None, seed=8, requires_grad=False):
    """Seeded float64 inputs of ``selective_scan``: u, delta, z ``(Bt, Dm, L)``, A ``(Dm, N)``, B, C ``(Bt[, G], N, L)``, D, delta_bias ``(Dm,)``."""
    g = gen(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    bc = (Bt, N, L) if G is None else (Bt, G, N, L)
    t = dict(
        u=r(Bt, Dm, L),
        delta=0.5 * r(Bt, Dm, L),
        A=-torch.rand(Dm, N, generator=g, dtype=torch.float64) * 2,
        B=r(*bc),
        C=r(*bc),
        D=r(Dm),
        z=r(Bt, Dm, L),
        delta_bias=0.1 * r(Dm),
    )
    if requires_grad:
        for v in t.values():
            v.requires_grad_(True)
    return t


# --- backbones: small ragged grids, D=16 ---------------------------------------------------------

SHAPES = {1: (37,), 2: (9, 13), 3: (5, 6, 7)}
DIM = 16

# family kwargs keeping the parametrised matrix fast (every family's defaults are also built once)
SMALL: dict[str, dict] = {
    "large_kernel": {"kernel_size": 7, "small_kernel": 3},
    "replk": {"kernel_size": 9},
    "pfg": {"kernel_sizes": (5, 9)},
    "ssm": {"d_state": 4, "expand": 1},
    "convssm": {"d_state": 4},
    "afno": {"num_blocks": 2},
    "gfnet": {"filter_size": 8},
}


# --- plots ---------------------------------------------------------------------------------------

def save(fig, path) -> None:
    """Render ``fig`` to a PNG and check a non-empty file came out."""
    fig.savefig(path)
    assert path.stat().st_size > 1000


# --- tiny sensor models (pretrained format, tasks) -----------------------------------------------

# a model small enough for one CPU thread (same tokenizer/backbone families as eeg_decoder)
TINY = {"dim": 16, "patch_size": 16, "virtual_channels": 4,
        "backbone": {"name": "large_kernel", "depth": 2, "kernel_size": 7, "small_kernel": 3, "mlp_ratio": 2.0}}


def tiny_config(head: dict | None = None) -> dict:
    """Plain model config of a tiny sensor model with the given head (decoding, 2 classes by default)."""
    return {"name": "tiny", "modality": "eeg", "dim": TINY["dim"], "causal": False,
            "tokenizer": {"name": "sensor", "patch_size": TINY["patch_size"],
                          "virtual_channels": TINY["virtual_channels"]},
            "backbone": dict(TINY["backbone"]),
            "head": dict(head or {"name": "decoding", "num_classes": 2, "pool": "attention"})}


def contract(names: list[str]) -> dict:
    from signalkit.io.montage import montage_positions

    pos = montage_positions(names, "standard_1005")
    return {"modality": "eeg", "sfreq": 160.0, "channels": list(names), "ch_types": ["eeg"] * len(names),
            "positions": [[float(v) for v in p] for p in pos], "normalization": {n: [0.0, 1.0] for n in names},
            "target_names": ["left_hand", "right_hand"]}


def sensor_batch(names: list[str], b: int = 3, t: int = 160, seed: int = 0) -> dict:
    """A batch ``x (B, C, T)`` with the standard positions of ``names``."""
    from signalkit.io.montage import montage_positions

    g = torch.Generator().manual_seed(seed)
    c = len(names)
    pos = torch.tensor(montage_positions(names, "standard_1005"), dtype=torch.float32)
    return {"x": torch.randn(b, c, t, generator=g), "pos": pos.expand(b, c, 3).clone(),
            "ch_type": torch.zeros(b, c, dtype=torch.long), "ch_mask": torch.ones(b, c, dtype=torch.bool)}


# --- tiny training runs through the CLI config ---------------------------------------------------

def tiny_overrides(store: str, out, epochs: int = 2, batches: int = 3) -> list[str]:
    """A tiny decoder (dim 16, depth 1) of the demo recipe trained ``epochs`` x ``batches`` steps, no test, no bar."""
    return ["experiment=eeg/motor_imagery", f"data.store={store}", f"output_dir={out}",
            "model.dim=16", "model.backbone.depth=1", "model.backbone.kernel_size=7",
            "model.backbone.mlp_ratio=1.0", "model.head.pool=mean", "data.batch_size=4",
            f"trainer.max_epochs={epochs}", f"trainer.limit_train_batches={batches}",
            "trainer.limit_val_batches=2", "trainer.enable_progress_bar=false",
            "trainer.log_every_n_steps=1", "trainer.deterministic=true", "test=false", "seed=7"]


# the date split of the synthetic weather store (``synthetic_store``: 10 days from 2017-01-01)
SYN_SPLIT = ["data.split.train=[2017-01-01,2017-01-06]", "data.split.val=[2017-01-07,2017-01-08]",
             "data.split.test=[2017-01-09,2017-01-10]"]


# --- stores --------------------------------------------------------------------------------------

def store_snapshot(path: str) -> tuple[dict, dict]:
    """(root attrs, {rid: {name: numpy array}}) of every variable and coordinate of a store."""
    from signalkit.store import open_store

    st = open_store(path)
    content = {}
    for rid in st:
        ds = st[rid].load()
        content[rid] = {name: np.asarray(ds[name].values) for name in [*ds.data_vars, *ds.coords]}
        content[rid]["__attrs__"] = dict(ds.attrs)
    return dict(st.attrs), content


def same_snapshot(a: tuple[dict, dict], b: tuple[dict, dict]) -> bool:
    if a[0] != b[0] or a[1].keys() != b[1].keys():
        return False
    for rid in a[1]:
        va, vb = a[1][rid], b[1][rid]
        if va.keys() != vb.keys():
            return False
        for k in va:
            if k == "__attrs__":
                if va[k] != vb[k]:
                    return False
            elif not np.array_equal(va[k], vb[k], equal_nan=va[k].dtype.kind == "f"):
                return False
    return True


# --- weather files -------------------------------------------------------------------------------





# --- video files ---------------------------------------------------------------------------------



# --- video models --------------------------------------------------------------------------------

def tiny_video_config(backbone: dict, causal: bool = False, t_in: int | None = 4, t_out: int | None = 3, stem: bool = False) -> dict:
    """Plain config of an 8-wide frames model (tokenizer ``frames``, head ``frames``) around ``backbone``."""
    return {"name": "t", "dim": 8, "causal": causal,
            "tokenizer": {"name": "frames", "in_channels": 1, "hidden": 8, "downsample": 2, "stem": stem},
            "backbone": backbone, "head": {"name": "frames", "t_in": t_in, "t_out": t_out}}


# --- Dask-cluster ingest: byte-level store comparison, a slow reader for the worker-kill test --------

def store_files(path: str | Path) -> dict[str, bytes]:
    """Every file of a local store, by path relative to the store: bytes compared bit for bit."""
    root = Path(path)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sleepy(block: np.ndarray, delay: float) -> np.ndarray:
    time.sleep(delay)
    return block


def read_slow_eeg(path, delay: float = 0.6, block: int = 512, **kwargs):
    """The EEG reader, but the signal comes back as a dask array whose blocks take ``delay`` s each:
    :func:`signalkit.store.write_recording` then writes the group chunk by chunk over seconds."""
    import dask.array as da

    from signalkit.io.mne_reader import read_sensor

    rec = read_sensor(path, modality="eeg", **kwargs)
    sig = rec["signal"]
    lazy = da.from_array(sig.values, chunks=(sig.shape[0], block)).map_blocks(_sleepy, delay, dtype=sig.dtype)
    rec["signal"] = (sig.dims, lazy)
    return rec


def install_slow_reader(delay: float = 0.6, block: int = 512) -> int:
    """Run on a worker (``client.run``): make its ``eeg`` reader slow; return the worker's pid."""
    from functools import partial

    from signalkit.io import reader_extensions, register_reader

    exts = reader_extensions("eeg")  # loads the built-in readers first, so they do not override ours
    register_reader("eeg", partial(read_slow_eeg, delay=delay, block=block), exts)
    return os.getpid()


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)


# --- an S3 endpoint on 127.0.0.1: moto's server mode (python -m moto.server) in a process of its own,
# as s3fs's own test suite runs it; endpoint, credentials and region from the usual variables ------

ENV = {"AWS_ACCESS_KEY_ID": "signalkit-test", "AWS_SECRET_ACCESS_KEY": "signalkit-test-secret",
       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1,localhost",
       "no_proxy": "127.0.0.1,localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}")
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
            opener.open(f"http://127.0.0.1:{port}/moto-api/", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto server did not start")


def _loopback(host) -> bool:
    text = host.decode() if isinstance(host, bytes) else str(host)
    return host is None or text == "localhost" or text.startswith("127.") or text in ("::1", "0:0:0:0:0:0:0:1")


@contextlib.contextmanager
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """In this process (and the DataLoader workers it forks), refuse every name lookup and every
    connection to a host other than 127.0.0.1 / ::1 / localhost: an ``OSError`` is raised and the
    host recorded in the yielded list (recorded too where the caller swallows the error)."""
    attempts: list[str] = []
    real_getaddrinfo, real_connect, real_connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host):
            attempts.append(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"tests: no network beyond 127.0.0.1 (lookup of {host})")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            attempts.append(f"connect {address[0]}:{address[1]}")
            raise ConnectionRefusedError(f"tests: no network beyond 127.0.0.1 (connect to {address[0]})")

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts


@contextlib.contextmanager
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1, point ``AWS_ENDPOINT_URL`` and the test credentials at it;
    yield the endpoint URL. fsspec's cached S3 filesystems are dropped before and after. While it is
    up, this process reaches no host but 127.0.0.1 (:func:`loopback_only`; an attempt fails the test)."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    import s3fs

    port = free_port()
    # a process of its own (as s3fs's tests run moto_server): the test process and its DataLoader
    # workers do not share a GIL with the server
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_until_up(port, server)
    endpoint = f"http://127.0.0.1:{port}"
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        with loopback_only(monkeypatch) as attempts:
            yield endpoint
        assert attempts == [], f"network beyond 127.0.0.1 was tried: {attempts}"
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.terminate()
        server.wait(timeout=30)


def make_bucket(name: str) -> None:
    import s3fs

    s3fs.S3FileSystem(anon=False).mkdir(name)
