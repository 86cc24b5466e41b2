"""Weather baselines against hand computations: climatologies, anomaly persistence, linear regression."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit.baselines import weather as bw
from signalkit.errors import ConfigError


def _times(n: int, step_h: int, start: str = "2013-01-01T00") -> np.ndarray:
    return (np.datetime64(start) + np.arange(n) * np.timedelta64(step_h, "h")).astype("datetime64[ns]")


def test_hour_climatology_is_the_mean_per_hour_of_day():
    times = _times(8, 6)  # hours 0, 6, 12, 18, 0, 6, 12, 18
    fields = np.arange(8, dtype=float)[:, None, None, None] * np.ones((1, 1, 2, 3))
    fields[0, 0, 0, 0] = np.nan  # a masked point counts as 0
    clim = bw.Climatology("hour")
    clim.add(fields[:5], times[:5])
    clim.add(fields[5:], times[5:])  # streamed in two blocks
    c = clim.at(times[[0, 1, 2, 3]])
    np.testing.assert_allclose(c[:, 0, 1, 1], [(0 + 4) / 2, (1 + 5) / 2, (2 + 6) / 2, (3 + 7) / 2])
    assert c[0, 0, 0, 0] == pytest.approx(4 / 2)
    assert clim.keys == [(0, 0), (0, 6), (0, 12), (0, 18)]


def test_harmonic_climatology_recovers_an_annual_cycle_per_hour_and_point():
    times = _times(4 * 365 * 2, 6)  # two years, 6-hourly
    y = 2 * np.pi * np.remainder(times.astype(np.int64) / 3.6e12 / (24 * 365.2425), 1.0)
    hours = (times.astype("datetime64[h]").astype(np.int64) % 24)
    rng = np.random.default_rng(0)
    amp = rng.normal(size=(1, 2, 2))
    truth = (280 + amp * np.cos(y)[:, None, None, None] + 0.5 * np.sin(3 * y)[:, None, None, None]
             + (hours == 12)[:, None, None, None] * 3.0 * (1 + 0.2 * np.cos(y))[:, None, None, None])
    clim = bw.Climatology("harmonic", harmonics=3)
    clim.add(truth, times)
    np.testing.assert_allclose(clim.at(times[:50]), truth[:50], atol=1e-4)


def test_harmonic_climatology_is_least_squares_per_hour():
    times = _times(4 * 400, 6)
    fields = np.random.default_rng(1).normal(size=(len(times), 1, 1, 2))
    clim = bw.Climatology("harmonic", harmonics=2)
    clim.add(fields, times)
    hours = times.astype("datetime64[h]").astype(np.int64) % 24
    y = 2 * np.pi * np.remainder(times.astype(np.int64) / 3.6e12 / (24 * 365.2425), 1.0)
    basis = np.stack([np.ones_like(y), np.cos(y), np.sin(y), np.cos(2 * y), np.sin(2 * y)], 1)
    for h in (0, 6, 12, 18):
        sel = hours == h
        coef = np.linalg.lstsq(basis[sel], fields[sel, 0, 0, :], rcond=None)[0]
        np.testing.assert_allclose(clim.at(times[sel][:3])[:, 0, 0], basis[sel][:3] @ coef, atol=1e-6)


def test_auto_kind_and_missing_hours():
    assert bw.resolve_kind("auto", 31) == "hour" and bw.resolve_kind("auto", 365) == "harmonic"
    with pytest.raises(ConfigError, match="data.climatology"):
        bw.resolve_kind("monthly", 10)
    clim = bw.Climatology("hour")
    clim.add(np.zeros((2, 1, 1, 1)), _times(2, 12))  # hours 0 and 12 only
    with pytest.raises(ConfigError, match="hour of day 6"):
        clim.at(_times(2, 6)[1:])


def test_anomaly_persistence_by_hand():
    x0 = np.array([[1.0, 2.0]])
    c0, cv = np.array([[0.5, 0.5]]), np.array([[2.0, -1.0]])
    np.testing.assert_allclose(bw.anomaly_persistence(x0, c0, cv), [[2.5, 0.5]])  # x + c(t+L) - c(t)


def test_linear_regression_matches_lstsq_per_point_and_recovers_an_ar2():
    rng = np.random.default_rng(2)
    n, pts = 3000, 3
    a = np.zeros((n, 1, 1, pts))
    phi = np.array([[0.6, 0.3], [0.9, -0.2], [0.2, 0.1]])  # per point AR(2) coefficients
    for t in range(2, n):
        a[t] = phi[:, 0] * a[t - 1] + phi[:, 1] * a[t - 2] + rng.normal(size=(1, 1, pts))
    inits = np.arange(1, n - 2)
    hist = np.stack([a[inits - 1], a[inits]], 1)  # oldest first, as the model's inputs
    targets = np.stack([a[inits + 1], a[inits + 2]], 1)  # leads 1 and 2 steps
    lin = bw.LinearAnomaly(lags=2, n_leads=2, ridge=0.0)
    half = len(inits) // 2
    lin.add(hist[:half], targets[:half])
    lin.add(hist[half:], targets[half:])  # streamed
    pred = lin.predict(hist[:5])
    for p in range(pts):
        design = np.stack([a[inits, 0, 0, p], a[inits - 1, 0, 0, p], np.ones(len(inits))], 1)
        for lead in range(2):
            coef = np.linalg.lstsq(design, targets[:, lead, 0, 0, p], rcond=None)[0]
            np.testing.assert_allclose(pred[:, lead, 0, 0, p], design[:5] @ coef, atol=1e-8)
            if lead == 0:
                np.testing.assert_allclose(coef[:2], phi[p], atol=0.05)


def test_damped_anomaly_persistence_is_the_lag_regression_through_the_origin():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(200, 1, 2, 3))  # (T, V, H, W) anomalies
    inits = np.arange(1, 195)
    hist = np.stack([a[inits - 1], a[inits]], 1)  # oldest first
    targets = np.stack([a[inits + 1], a[inits + 4]], 1)  # leads 1 and 4 steps
    damped = bw.damped_anomaly(n_leads=2)
    damped.add(hist, targets)
    pred = damped.predict(hist)
    for li, lead in enumerate((1, 4)):
        alpha = (a[inits] * a[inits + lead]).sum(0) / (a[inits] ** 2).sum(0)  # by hand, per point
        np.testing.assert_allclose(pred[:, li], alpha * a[inits], rtol=1e-9, atol=1e-12)
    zero = bw.damped_anomaly(1)
    zero.add(np.zeros((4, 2, 1, 1, 1)), np.ones((4, 1, 1, 1, 1)))  # a masked point: no anomaly
    assert np.all(zero.predict(np.ones((1, 2, 1, 1, 1))) == 0.0)
