"""An S3 endpoint on 127.0.0.1 for the tests: moto's server mode (``python -m moto.server``) in a
process of its own, as s3fs's own test suite runs it. Nothing leaves the machine: the endpoint, the credentials and the
region all come from the environment variables the AWS SDKs and s3fs read."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

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


@contextlib.contextmanager
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1, point ``AWS_ENDPOINT_URL`` and the test credentials at it;
    yield the endpoint URL. fsspec's cached S3 filesystems are dropped before and after."""
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
        yield endpoint
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.terminate()
        server.wait(timeout=30)


def make_bucket(name: str) -> None:
    import s3fs

    s3fs.S3FileSystem(anon=False).mkdir(name)
