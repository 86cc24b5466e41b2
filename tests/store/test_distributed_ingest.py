"""Ingest on a Dask cluster (``cluster=local`` / a scheduler address) writes the same store as
``jobs=1``, bit for bit, and follows the same reuse and error rules."""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")

from signalkit import store_cluster  # noqa: E402
from signalkit.cli import main  # noqa: E402
from signalkit.errors import ConfigError, InputError  # noqa: E402
from signalkit.io import expand_sources  # noqa: E402
from signalkit.store import ingest, open_store  # noqa: E402
from tests.support import store_files  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """A scheduler + 2 single-threaded worker processes, shared by the tests of this module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as lc, distributed.Client(lc) as client:
        client.run(_warm)  # import the readers on the workers once, in setup
        yield lc.scheduler_address


def _warm() -> None:
    import signalkit.io.mne_reader  # noqa: F401
    import signalkit.store  # noqa: F401


@pytest.fixture(scope="module")
def files(mi_edf_dir):
    return expand_sources(mi_edf_dir, "eeg")[:4]


@pytest.fixture(scope="module")
def ref_store(files, tmp_path_factory):
    return ingest(files, str(tmp_path_factory.mktemp("ref") / "ref.zarr"), "eeg", jobs=1, progress=False)


def test_local_cluster_equals_jobs_1_bit_for_bit(files, ref_store, cluster, tmp_path):
    out = ingest(files, str(tmp_path / "s.zarr"), "eeg", progress=False, cluster=cluster)
    got, want = store_files(out), store_files(ref_store)
    assert got.keys() == want.keys()
    assert [k for k in want if got[k] != want[k]] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]  # no partial left


def test_scheduler_address_reuses_unchanged_groups(files, ref_store, cluster, tmp_path, monkeypatch):
    store = str(tmp_path / "s.zarr")
    ingest(files[:2], store, "eeg", progress=False, cluster=cluster)
    submitted = []
    real = store_cluster.run_on_cluster

    def spy(todo, *args, **kwargs):
        submitted.extend(item[0] for item in todo)
        return real(todo, *args, **kwargs)

    monkeypatch.setattr(store_cluster, "run_on_cluster", spy)
    ingest(files, store, "eeg", progress=False, cluster=cluster)
    assert submitted == files[2:]  # only the two new files went to the workers
    assert store_files(store) == store_files(ref_store)


def test_cli_cluster_key(files, cluster, tmp_path):
    import shutil

    src = tmp_path / "src"
    src.mkdir()
    for f in files[:2]:
        shutil.copy(f, src)
    stores = {k: str(tmp_path / f"{k}.zarr") for k in ("cluster", "jobs1")}
    assert main(["ingest", "eeg", str(src), stores["cluster"], f"cluster={cluster}", "progress=false"]) == 0
    assert main(["ingest", "eeg", str(src), stores["jobs1"], "progress=false"]) == 0
    assert len(open_store(stores["cluster"])) == 2
    assert store_files(stores["cluster"]) == store_files(stores["jobs1"])


@pytest.mark.slow  # starts its own LocalCluster (~40 s on 2 loaded cores)
def test_cluster_local_starts_its_own(files, ref_store, tmp_path):
    out = ingest(files, str(tmp_path / "s.zarr"), "eeg", jobs=2, progress=False, cluster="local")
    assert store_files(out) == store_files(ref_store)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]


def test_worker_error_is_the_readers_error(cluster, tmp_path):
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"not an edf file at all" * 10)
    with pytest.raises(InputError, match="bad.edf"):
        ingest([str(bad)], str(tmp_path / "s.zarr"), "eeg", progress=False, cluster=cluster)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.edf"]  # nothing committed, no partial


def test_unreachable_scheduler_is_a_config_error(files, tmp_path):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), pytest.raises(ConfigError, match="cluster"):
        ingest(files[:1], str(tmp_path / "s.zarr"), "eeg", progress=False, cluster="tcp://127.0.0.1:9")


def test_memory_store_is_not_visible_to_worker_processes(files, cluster):
    from signalkit.errors import StoreError

    with pytest.raises(StoreError, match="cannot see"):
        ingest(files[:1], "memory://cluster-test/s.zarr", "eeg", progress=False, cluster=cluster)
