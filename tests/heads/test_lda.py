"""Shrinkage LDA read-out against scikit-learn's LinearDiscriminantAnalysis(solver='lsqr')."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from signalkit.heads.lda import fit_shrinkage_lda


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("shrinkage", ["auto", 0.3])
def test_matches_sklearn_lsqr_lda(k, shrinkage):
    rng = np.random.default_rng(k)
    n, f = 90, 12
    y = np.arange(n) % k
    x = rng.standard_normal((n, f)) * rng.uniform(0.5, 3.0, f) + rng.standard_normal((k, f))[y] * 0.8
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage).fit(x, y)
    w, b = fit_shrinkage_lda(x, y, k, shrinkage=shrinkage)
    scores = x @ w.T + b
    np.testing.assert_array_equal(scores.argmax(1), ref.predict(x))
    if k == 2:  # sklearn's binary score is class 1 minus class 0
        np.testing.assert_allclose(scores[:, 1] - scores[:, 0], ref.decision_function(x), rtol=1e-4, atol=1e-4)
    else:
        np.testing.assert_allclose(scores, ref.decision_function(x), rtol=1e-4, atol=1e-4)


def test_hand_computed_two_class_example():
    # two classes in 1-D, within-class variance 1 (biased), means -1 and +1, equal priors, no shrinkage
    x = np.array([[-2.0], [0.0], [0.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    w, b = fit_shrinkage_lda(x, y, 2, shrinkage=0.0)
    np.testing.assert_allclose(w[:, 0], [-1.0, 1.0], atol=1e-6)  # mean / variance
    np.testing.assert_allclose(b, [-0.5 + np.log(0.5), -0.5 + np.log(0.5)], atol=1e-6)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="shrinkage"):
        fit_shrinkage_lda(np.zeros((4, 2)), np.array([0, 0, 1, 1]), 2, shrinkage=2.0)
    with pytest.raises(ValueError, match="NaN"):
        fit_shrinkage_lda(np.full((4, 2), np.nan), np.array([0, 0, 1, 1]), 2)
