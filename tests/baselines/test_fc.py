"""Functional-connectivity baseline: Fisher-z features and a classifier that separates coupled windows."""

from __future__ import annotations

import numpy as np

from signalkit.baselines import fc_baseline, fc_features


def test_fc_features_are_fisher_z_correlations():
    x = np.random.default_rng(0).standard_normal((3, 5, 40))
    feats = fc_features(x)
    iu = np.triu_indices(5, k=1)
    expected = np.stack([np.arctanh(np.corrcoef(w)[iu]) for w in x])
    np.testing.assert_allclose(feats, expected, atol=1e-10)


def test_fc_baseline_separates_coupled_from_uncoupled_windows():
    rng = np.random.default_rng(1)

    def windows(n):
        x = rng.standard_normal((n, 4, 30))
        y = np.arange(n) % 2
        x[y == 1, 1] = x[y == 1, 0] + 0.3 * rng.standard_normal((int(y.sum()), 30))  # regions 0-1 coupled
        return x, y

    result = fc_baseline(*windows(40), *windows(20))
    assert result["accuracy"] >= 0.95
