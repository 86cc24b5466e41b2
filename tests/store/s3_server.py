"""An S3 endpoint on 127.0.0.1 for the tests: moto's server mode in a thread of this process, as
s3fs's own test suite runs it. Nothing leaves the machine: the endpoint, the credentials and the
region all come from the environment variables the AWS SDKs and s3fs read."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

ENV = {"AWS_ACCESS_KEY_ID": "signalkit-test", "AWS_SECRET_ACCESS_KEY": "signalkit-test-secret",
       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1,localhost",
       "no_proxy": "127.0.0.1,localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1, point ``AWS_ENDPOINT_URL`` and the test credentials at it;
    yield the endpoint URL. fsspec's cached S3 filesystems are dropped before and after."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    import s3fs

    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
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
        server.stop()


def make_bucket(name: str) -> None:
    import s3fs

    s3fs.S3FileSystem(anon=False).mkdir(name)
