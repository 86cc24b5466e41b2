"""WeatherBench 2 metrics against hand-computed values on tiny fields."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit.metrics import weather as wm


def _wb2_global_weights(lat_deg: np.ndarray) -> np.ndarray:
    """WB2 ``get_lat_weights`` for a full-globe, ascending grid (outer edges at the poles)."""
    lat = np.deg2rad(lat_deg)
    bounds = np.concatenate([[-np.pi / 2], (lat[:-1] + lat[1:]) / 2, [np.pi / 2]])
    w = np.sin(bounds[1:]) - np.sin(bounds[:-1])
    return w / w.mean()


def test_lat_weights_pole_rows_by_hand():
    lat = np.array([-90.0, -45.0, 0.0, 45.0, 90.0])
    s = np.sin(np.deg2rad([-90, -67.5, -22.5, 22.5, 67.5, 90]))
    area = np.diff(s)  # polar caps are small but not zero
    expected = area / area.mean()
    np.testing.assert_allclose(wm.lat_weights(lat), expected, rtol=1e-12)
    assert wm.lat_weights(lat)[0] == pytest.approx((1 - np.sin(np.deg2rad(67.5))) / (2 / 5))
    np.testing.assert_allclose(wm.lat_weights(lat), _wb2_global_weights(lat), rtol=1e-12)


def test_lat_weights_match_wb2_on_64x32_grid_and_descending_order():
    lat = -87.1875 + 5.625 * np.arange(32)  # the WB2 64x32 equiangular grid (no pole rows)
    np.testing.assert_allclose(wm.lat_weights(lat), _wb2_global_weights(lat), rtol=1e-10)
    np.testing.assert_allclose(wm.lat_weights(lat[::-1]), _wb2_global_weights(lat)[::-1], rtol=1e-10)
    assert wm.lat_weights(lat).mean() == pytest.approx(1.0)


def test_lat_weights_regional_rows_use_their_own_cell():
    lat = np.array([50.0, 51.0])
    edges = np.sin(np.deg2rad([49.5, 50.5, 51.5]))
    w = np.diff(edges)
    np.testing.assert_allclose(wm.lat_weights(lat), w / w.mean())


def test_rmse_averages_mse_over_time_before_the_root():
    # lat +-45 -> equal weights; errors 1 everywhere at t0, 3 everywhere at t1
    lat = np.array([-45.0, 45.0])
    w = wm.area_weights(lat, 2)
    truth = np.zeros((2, 2, 2))
    fc = np.stack([np.ones((2, 2)), 3 * np.ones((2, 2))])
    assert wm.rmse(fc, truth, w) == pytest.approx(np.sqrt(5.0))  # not mean(1, 3) = 2
    assert wm.bias(fc, truth, w) == pytest.approx(2.0)


def test_rmse_latitude_weighted_and_masked_by_hand():
    lat = np.array([0.0, 60.0])  # edges -30, 30, 90 -> areas 1.0 and 0.5
    mask = np.array([[False, True], [False, False]])  # (0, 1) has no data
    w = wm.area_weights(lat, 2, mask)
    np.testing.assert_allclose(w, [[4 / 3, 0.0], [2 / 3, 2 / 3]])
    truth = np.zeros((1, 2, 2))
    fc = np.array([[[1.0, np.nan], [2.0, 4.0]]])  # NaN at the masked point is ignored
    # weighted mean sq err = (4/3*1 + 2/3*4 + 2/3*16) / (4/3 + 2/3 + 2/3) = 14.666../2.666..
    expected = np.sqrt((4 / 3 + 8 / 3 + 32 / 3) / (8 / 3))
    assert wm.rmse(fc, truth, w) == pytest.approx(expected)


def test_acc_uncentred_by_hand():
    lat = np.array([-45.0, 45.0])
    w = wm.area_weights(lat, 2)
    clim = np.full((2, 2), 10.0)
    truth = clim + np.array([[1.0, -1.0], [2.0, 0.0]])
    assert wm.acc(truth[None], truth[None], clim, w) == pytest.approx(1.0)
    assert wm.acc((2 * clim - truth)[None], truth[None], clim, w) == pytest.approx(-1.0)
    fc = clim + np.array([[1.0, 1.0], [1.0, 1.0]])  # anomalies f'=1, o'=(1,-1,2,0)
    expected = (1 - 1 + 2 + 0) / np.sqrt(4 * (1 + 1 + 4 + 0))
    assert wm.acc(fc[None], truth[None], clim, w) == pytest.approx(expected)
    # uncentred: a constant offset of the anomalies is NOT removed
    two = np.stack([fc, truth])
    per_t = wm.acc_per_time(two, np.stack([truth, truth]), clim, w)
    np.testing.assert_allclose(per_t, [expected, 1.0])
    assert wm.acc(two, np.stack([truth, truth]), clim, w) == pytest.approx((expected + 1) / 2)


def test_descending_latitude_input_gives_the_same_scores():
    rng = np.random.default_rng(0)
    lat = np.linspace(-80, 80, 9)
    fc, truth = rng.normal(size=(2, 4, 9, 5))
    w = wm.area_weights(lat, 5)
    w_desc = wm.area_weights(lat[::-1], 5)
    assert wm.rmse(fc[:, ::-1], truth[:, ::-1], w_desc) == pytest.approx(wm.rmse(fc, truth, w))


def test_baselines_on_a_toy_series():
    lat = np.array([-45.0, 45.0])
    w = wm.area_weights(lat, 1)
    series = np.arange(10, dtype=float)[:, None, None] * np.ones((1, 2, 1))  # +1 per step
    in_range = np.zeros(10, bool)
    in_range[5:] = True
    inits = wm.baseline_init_indices(10, in_range, 2)
    np.testing.assert_array_equal(inits, [5, 6, 7])  # valid times 7..9 stay in range
    assert wm.persistence_rmse(series, inits, 2, w) == pytest.approx(2.0)
    times = np.datetime64("2017-01-01T00") + np.arange(10) * np.timedelta64(12, "h")
    clim = wm.climatology(series[:4], times[:4])  # hours 0 and 12: means of (0, 2) and (1, 3)
    np.testing.assert_allclose(clim[(0, 0)], 1.0)
    np.testing.assert_allclose(clim[(0, 12)], 2.0)
    # valid 7, 8, 9 (hours 12, 0, 12) vs climatology 2, 1, 2 -> errors 5, 7, 7
    assert wm.climatology_rmse(series, times, inits, 2, clim, w) == pytest.approx(np.sqrt((25 + 49 + 49) / 3))
