"""The closed-form ridge read-out against a primal numpy solve, sklearn's RidgeClassifier, and a hand
computation of the leave-one-group-out penalty selection."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit.heads.ridge import fit_ridge_classifier, inner_folds


def primal_ridge(x: np.ndarray, y: np.ndarray, k: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``(Xc^T Xc + alpha I)^-1 Xc^T (T - mean T)`` with one-hot {-1, +1} targets; weight (K, V), bias (K,)."""
    x = x.astype(np.float64)
    t = np.eye(k)[y] * 2 - 1
    mu, tm = x.mean(0), t.mean(0)
    xc = x - mu
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (t - tm))  # (V, K)
    return w.T, tm - mu @ w


def scale_of(x: np.ndarray) -> float:
    """Mean squared norm of a centred row: the unit of the relative penalties."""
    xc = x.astype(np.float64) - x.mean(0, dtype=np.float64)
    return float((xc ** 2).sum() / len(x))


def data(n_per_group: int = 6, groups: int = 4, v: int = 12, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = n_per_group * groups
    y = np.arange(n) % k
    means = rng.standard_normal((k, v))
    x = (means[y] * 0.8 + rng.standard_normal((n, v))).astype(np.float32)
    g = np.repeat(np.arange(groups), n_per_group)
    return x, y, g


@pytest.mark.parametrize("v", [12, 200])  # fewer and more features than examples
def test_weights_equal_the_primal_closed_form(v):
    x, y, g = data(v=v)
    fit = fit_ridge_classifier(x, y, 3, groups=g, alphas=[0.3])
    assert fit.alpha == pytest.approx(0.3 * scale_of(x), rel=1e-9)
    w, b = primal_ridge(x, y, 3, fit.alpha)
    np.testing.assert_allclose(fit.weight, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.bias, b, rtol=1e-4, atol=1e-6)
    assert fit.weight.dtype == np.float32 and fit.weight.shape == (3, v)


def test_equals_sklearn_ridge_classifier():
    sklearn = pytest.importorskip("sklearn.linear_model")
    x, y, g = data(v=40)
    fit = fit_ridge_classifier(x, y, 3, groups=g, alphas=[0.05])
    ref = sklearn.RidgeClassifier(alpha=fit.alpha, solver="svd").fit(x.astype(np.float64), y)
    np.testing.assert_allclose(fit.weight, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.bias, ref.intercept_, rtol=1e-4, atol=1e-6)


def hand_cv(x, y, g, rel, k=3):
    """Mean held-out balanced accuracy and squared error (scores vs {-1, +1} targets) per penalty."""
    ba, mse = [], []
    for a in rel:
        accs, errs = [], []
        for held in np.unique(g):
            tr, te = g != held, g == held
            w, b = primal_ridge(x[tr], y[tr], k, a * scale_of(x[tr]))
            scores = x[te] @ w.T + b
            pred = scores.argmax(1)
            accs.append(np.mean([np.mean(pred[y[te] == c] == c) for c in np.unique(y[te])]))
            errs.append(((scores - (np.eye(k)[y[te]] * 2 - 1)) ** 2).mean())
        ba.append(float(np.mean(accs)))
        mse.append(float(np.mean(errs)))
    return ba, mse


def test_penalty_is_chosen_by_leave_one_group_out_as_by_hand():
    x, y, g = data(n_per_group=8, groups=4, v=60, seed=3)
    rel = [1e-3, 1e-1, 1.0, 10.0, 1e3]
    fit = fit_ridge_classifier(x, y, 3, groups=g, alphas=rel)
    ba, mse = hand_cv(x, y, g, rel)
    np.testing.assert_allclose(fit.cv_scores, ba, atol=1e-9)
    np.testing.assert_allclose(fit.cv_mse, mse, rtol=1e-6)
    best = max(range(len(rel)), key=lambda i: (round(ba[i], 9), -round(mse[i], 9), i))
    assert fit.alpha_rel == rel[best] and fit.n_folds == 4
    assert fit.alpha == pytest.approx(rel[best] * scale_of(x), rel=1e-9)
    w, b = primal_ridge(x, y, 3, fit.alpha)  # refitted on every example
    np.testing.assert_allclose(fit.weight, w, rtol=1e-4, atol=1e-6)


def test_accuracy_ties_go_to_the_lower_held_out_squared_error():
    x, y, g = data(v=8, seed=1)
    x = x + np.eye(3, 8, dtype=np.float32)[y] * 50  # separable at every penalty: all accuracies 1.0
    rel = [1e-2, 1e-1, 1.0, 1e3]
    fit = fit_ridge_classifier(x, y, 3, groups=g, alphas=rel)
    _, mse = hand_cv(x, y, g, rel)
    assert fit.cv_scores == [1.0] * 4
    assert fit.alpha_rel == rel[int(np.argmin(mse))] and fit.alpha_rel != 1e3, mse


def test_without_groups_five_interleaved_folds():
    folds = inner_folds(None, 12)
    assert len(folds) == 5 and sorted(np.concatenate(folds).tolist()) == list(range(12))
    assert [f.tolist() for f in inner_folds(np.array([0, 0, 1, 1]), 4)] == [[0, 1], [2, 3]]
    x, y, _ = data()
    assert fit_ridge_classifier(x, y, 3, alphas=[1.0]).n_folds == 5


@pytest.mark.parametrize("bad, match", [
    (dict(x=np.zeros((3, 2, 2))), "features"),
    (dict(x=np.full((4, 2), np.nan)), "NaN"),
    (dict(alphas=[0.0]), "positive"),
])
def test_bad_input_is_one_clear_error(bad, match):
    args = dict(x=np.random.default_rng(0).standard_normal((4, 2)), y=np.array([0, 1, 0, 1]), num_classes=2)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        fit_ridge_classifier(**args)
