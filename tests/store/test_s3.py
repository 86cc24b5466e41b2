"""Stores on a real S3 endpoint (moto's server on 127.0.0.1 through s3fs): ingest, reuse, open,
training reads with several DataLoader workers, and predict give what a local store gives."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto")

from signalkit.io import expand_sources  # noqa: E402
from signalkit.store import ingest, open_store  # noqa: E402
from tests.support import make_bucket, s3_endpoint, same_snapshot, store_snapshot  # noqa: E402


@pytest.fixture(scope="module")
def endpoint():
    with pytest.MonkeyPatch.context() as mp, s3_endpoint(mp) as url:
        yield url


@pytest.fixture()
def bucket(endpoint) -> str:
    name = f"signalkit-{uuid.uuid4().hex[:10]}"
    make_bucket(name)
    return name


@pytest.fixture(scope="module")
def eeg_files(mi_edf_dir):
    return expand_sources(mi_edf_dir, "eeg")[:3]


@pytest.fixture(scope="module")
def local_eeg(eeg_files, tmp_path_factory) -> str:
    return ingest(eeg_files, str(tmp_path_factory.mktemp("s3ref") / "mi.zarr"), "eeg", progress=False)


def _names(bucket: str) -> list[str]:
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.invalidate_cache()
    return sorted(p.rsplit("/", 1)[-1] for p in fs.ls(bucket, detail=False))


def test_ingest_open_and_reuse_on_s3(eeg_files, local_eeg, bucket, monkeypatch):
    url = f"s3://{bucket}/mi.zarr"
    ingest(eeg_files[:2], url, "eeg", progress=False)
    assert _names(bucket) == ["mi.zarr"]  # committed, no partial left
    import signalkit.store as store_mod

    read = []
    real = store_mod._read_and_write
    monkeypatch.setattr(store_mod, "_read_and_write", lambda item: read.append(item[0]) or real(item))
    ingest(eeg_files, url, "eeg", progress=False)  # the two unchanged groups are copied on the server
    assert read == eeg_files[2:]
    assert same_snapshot(store_snapshot(url), store_snapshot(local_eeg))
    assert _names(bucket) == ["mi.zarr"]


def test_storage_options_give_the_endpoint(eeg_files, local_eeg, bucket, endpoint, monkeypatch):
    import fsspec
    import s3fs

    monkeypatch.delenv("AWS_ENDPOINT_URL")  # only storage_options know the endpoint now
    monkeypatch.setattr(fsspec.config, "conf", {})
    s3fs.S3FileSystem.clear_instance_cache()
    url = f"s3://{bucket}/opts.zarr"
    ingest(eeg_files[:1], url, "eeg", progress=False, storage_options={"endpoint_url": endpoint})
    st = open_store(url, storage_options={"endpoint_url": endpoint})
    rid = next(iter(st))
    np.testing.assert_array_equal(st[rid]["signal"].values, open_store(local_eeg)[rid]["signal"].values)


def test_training_reads_with_two_loader_workers(local_eeg, bucket):
    """The windows that 2 DataLoader worker processes read from the S3 store equal the local ones."""
    import torch

    from signalkit.datamodules import SignalDataModule

    url = f"s3://{bucket}/mi.zarr"
    sources = [open_store(local_eeg).provenance(r)["source"] for r in open_store(local_eeg)]
    ingest(sources, url, "eeg", progress=False)
    batches = {}
    for name, path in (("local", local_eeg), ("s3", url)):
        dm = SignalDataModule(path, window_s=2.0, events=["left_hand", "right_hand"], batch_size=2,
                              num_workers=2, preload=False, normalize=False)
        dm.setup("fit")
        batches[name] = [(b["x"], b["y"]) for b in dm.val_dataloader()]  # 2 worker processes read
    assert len(batches["s3"]) == len(batches["local"]) > 1
    for (xs, ys), (xl, yl) in zip(batches["s3"], batches["local"]):
        torch.testing.assert_close(xs, xl, rtol=0, atol=0)
        torch.testing.assert_close(ys, yl, rtol=0, atol=0)


@pytest.mark.slow
def test_train_from_s3_with_loader_workers(local_eeg, bucket, tmp_path):
    from signalkit.training import train
    from tests.support import tiny_overrides

    url = f"s3://{bucket}/mi.zarr"
    sources = [open_store(local_eeg).provenance(r)["source"] for r in open_store(local_eeg)]
    ingest(sources, url, "eeg", progress=False)
    metrics = train([*tiny_overrides(url, tmp_path / "run", epochs=1), "data.num_workers=2", "data.preload=false"])
    assert metrics["train/epochs"] == 1.0 and np.isfinite(metrics["val/loss"])


@pytest.mark.slow  # trains a small forecaster first (~40 s on 2 loaded cores)
def test_predict_from_s3_equals_local(bucket, tmp_path):
    """A weather forecaster trained on a local store predicts the same from the store on S3."""
    import xarray as xr

    from signalkit.predict import predict
    from signalkit.training import train
    from signalkit.synthetic.weather import advecting_field, write_netcdf

    values = advecting_field()
    nc = write_netcdf(tmp_path / "wx.nc", values, descending=True)
    local = ingest([str(nc)], str(tmp_path / "wx.zarr"), "weather", {}, progress=False)
    url = ingest([str(nc)], f"s3://{bucket}/wx.zarr", "weather", {}, progress=False)
    split = ["data.split.train=[2017-01-01,2017-01-06]", "data.split.val=[2017-01-07,2017-01-08]",
             "data.split.test=[2017-01-09,2017-01-10]"]
    run = tmp_path / "run"
    train(["experiment=weather/regional", f"data.store={local}", *split, "data.lead_times=[6,12]",
           "data.rollout_steps=2", "task.rollout_steps=2", "model.dim=8", "model.backbone.depth=1",
           "model.backbone.num_blocks=1", "trainer.max_epochs=1", "trainer.enable_progress_bar=false",
           "test=false", f"output_dir={run}"])
    ckpt = str(run / "checkpoints" / "last.ckpt")
    out_local = predict([f"ckpt_path={ckpt}", f"output={tmp_path / 'local.zarr'}"])
    out_s3 = predict([f"ckpt_path={ckpt}", f"data.store={url}", f"output={tmp_path / 's3.zarr'}"])
    a = xr.open_zarr(out_local, consolidated=False)["forecast"].values
    b = xr.open_zarr(out_s3, consolidated=False)["forecast"].values
    assert a.shape == b.shape and np.isfinite(a).any()
    np.testing.assert_array_equal(a, b)


def test_only_loopback_is_reachable(endpoint):
    """While the endpoint is up, this process can reach no host but 127.0.0.1: the tests above ran
    under this guard (an attempt anywhere else fails the module at teardown)."""
    import socket

    from tests.support import loopback_only

    assert socket.getaddrinfo.__qualname__ == "loopback_only.<locals>.getaddrinfo"
    with pytest.MonkeyPatch.context() as mp, loopback_only(mp) as attempts:  # what the guard does, on its own list
        for host in ("s3.amazonaws.com", "169.254.169.254", "10.255.255.1"):
            with pytest.raises(OSError, match="no network beyond 127.0.0.1"):
                socket.create_connection((host, 443), timeout=1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with s, pytest.raises(OSError, match="no network beyond 127.0.0.1"):
            s.connect(("8.8.8.8", 53))
        assert attempts == ["lookup s3.amazonaws.com", "lookup 169.254.169.254", "lookup 10.255.255.1",
                            "connect 8.8.8.8:53"]
        socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), timeout=5).close()
