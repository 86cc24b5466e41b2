"""Fixtures for the weather tests: the sample-data folder and seeded synthetic NetCDF / Zarr files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signalkit.synthetic.weather import advecting_field, write_netcdf  # noqa: F401  (used by the weather tests)
from tests.support import one_torch_thread, sample_subdir


@pytest.fixture(scope="session")
def weather_data(sample_data) -> Path:
    """The weather folder of the real sample data (``sample_data`` is in tests/conftest.py)."""
    return sample_subdir(sample_data, "weather")


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture(scope="session")
def synthetic_nc(tmp_path_factory) -> Path:
    """Hourly advecting 2 m temperature, 10 days, 8 x 12 grid, descending latitude, 'sea' mask."""
    values = advecting_field()
    values[:, :2, :3] = np.nan  # fixed no-data area
    return write_netcdf(tmp_path_factory.mktemp("wx") / "synthetic_t2m.nc", values, descending=True)


@pytest.fixture(scope="session")
def synthetic_store(synthetic_nc, tmp_path_factory) -> str:
    from signalkit.store import ingest

    store = str(tmp_path_factory.mktemp("wxstore") / "synthetic.zarr")
    ingest([str(synthetic_nc)], store, "weather", {}, progress=False)
    return store
