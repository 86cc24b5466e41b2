"""The data module's linear anomaly fits: per lead, and the one-step fit the model's local term starts at."""

from __future__ import annotations

import numpy as np

from signalkit.datamodules import WeatherDataModule

SPLIT = {"train": ["2017-01-01", "2017-01-06"], "val": ["2017-01-07", "2017-01-08"],
         "test": ["2017-01-09", "2017-01-10"]}


def _ridge_fit(design: np.ndarray, target: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """LinearAnomaly's normal equations for one point by hand: the ridge scaled by the mean diagonal."""
    g = design.T @ design
    reg = np.eye(len(g)) * ridge
    reg[-1, -1] = 0.0
    return np.linalg.solve(g + np.trace(g) / len(g) * reg + np.eye(len(g)) * 1e-12, design.T @ target)


def test_one_step_fit_when_one_step_is_not_a_lead_time(synthetic_store):
    """Hourly model steps, leads 3 and 6 h: besides the per-lead fit the data module fits
    a(t+1) on a(t), a(t-1) per grid point over the training init times; checked by hand at two points."""
    dm = WeatherDataModule(synthetic_store, split=SPLIT, history=2, step_hours=1, lead_times=[3, 6], rollout_steps=6)
    dm.setup()
    assert dm.baselines["lead_steps"] == [3, 6]
    one, per_lead = dm.baselines["linear_one_step"], dm.baselines["linear"]
    assert one.coef.shape[:2] == (1, 3) and per_lead.coef.shape[:2] == (2, 3)
    a = dm._sources_cache[0][:, 0]  # (T, H, W) normalised anomalies, masked points 0
    for k, lin in ((1, one), (3, per_lead), (6, per_lead)):
        inits = dm._index("train", 1 if k == 1 else 6)[:, 1]
        row = 0 if k in (1, 3) else 1
        for h, w in ((3, 4), (7, 11)):
            design = np.stack([a[inits, h, w], a[inits - 1, h, w], np.ones(len(inits))], 1).astype(np.float64)
            coef = _ridge_fit(design, a[inits + k, h, w].astype(np.float64))
            np.testing.assert_allclose(lin.coef[row, :, 0, h, w], coef, rtol=1e-6, atol=1e-9)


def test_no_separate_fit_when_one_step_is_a_lead_time(synthetic_store):
    dm = WeatherDataModule(synthetic_store, split=SPLIT, history=2, step_hours=6, lead_times=[6, 12], rollout_steps=2)
    dm.setup()
    assert dm.baselines["lead_steps"] == [1, 2] and "linear_one_step" not in dm.baselines
