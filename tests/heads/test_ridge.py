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


def volume_data(blocks_per_group: int = 6, groups: int = 4, frames: int = 5, v: int = 30, k: int = 3, seed: int = 0):
    """Volumes ``x (N*frames, V)`` of blocks (one class each) in groups (runs): block id, class, group per row."""
    rng = np.random.default_rng(seed)
    n = blocks_per_group * groups
    yb = np.arange(n) % k
    means = rng.standard_normal((k, v)) * 0.5
    x = (np.repeat(means[yb], frames, 0) + rng.standard_normal((n * frames, v))).astype(np.float32)
    return x, np.repeat(yb, frames), np.repeat(np.repeat(np.arange(groups), blocks_per_group), frames), \
        np.repeat(np.arange(n), frames)


def test_with_blocks_the_inner_cv_scores_held_out_blocks_by_their_mean_score():
    x, y, g, b = volume_data(seed=4)
    rel = [1e-2, 1.0, 1e2]
    fit = fit_ridge_classifier(x, y, 3, groups=g, alphas=rel, blocks=b)
    ba, mse = [], []
    for a in rel:
        accs, errs = [], []
        for held in np.unique(g):
            tr, te = g != held, g == held
            w, bias = primal_ridge(x[tr], y[tr], 3, a * scale_of(x[tr]))  # fitted on the volumes
            ids = np.unique(b[te])
            scores = np.stack([(x[b == i] @ w.T + bias).mean(0) for i in ids])  # one mean score per block
            yb = np.array([y[b == i][0] for i in ids])
            pred = scores.argmax(1)
            accs.append(np.mean([np.mean(pred[yb == c] == c) for c in np.unique(yb)]))
            errs.append(((scores - (np.eye(3)[yb] * 2 - 1)) ** 2).mean())
        ba.append(float(np.mean(accs)))
        mse.append(float(np.mean(errs)))
    np.testing.assert_allclose(fit.cv_scores, ba, atol=1e-9)
    np.testing.assert_allclose(fit.cv_mse, mse, rtol=1e-6)
    # the blocks change how penalties are scored, not the fit: all volumes at the chosen penalty
    w, bias = primal_ridge(x, y, 3, fit.alpha)
    np.testing.assert_allclose(fit.weight, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.bias, bias, rtol=1e-4, atol=1e-6)
    # per-volume scoring differs from per-block scoring on these noisy volumes
    assert fit.cv_scores != fit_ridge_classifier(x, y, 3, groups=g, alphas=rel).cv_scores


def test_blocks_without_groups_are_never_split_between_fit_and_score():
    x, y, _, b = volume_data(groups=1, blocks_per_group=10)
    fit = fit_ridge_classifier(x, y, 3, alphas=[1.0], blocks=b)
    assert fit.n_folds == 5  # 5 interleaved folds over the 10 blocks (each block's 5 volumes together)


def test_fold_mean_is_the_mean_of_the_inner_fold_models_at_the_chosen_penalty():
    x, y, g = data(n_per_group=8, groups=4, v=20, seed=2)
    rel = [1e-2, 1.0, 1e2]
    fit = fit_ridge_classifier(x, y, 3, groups=g, alphas=rel, refit="fold_mean")
    ref = fit_ridge_classifier(x, y, 3, groups=g, alphas=rel)
    assert fit.alpha_rel == ref.alpha_rel and fit.cv_scores == ref.cv_scores and fit.alpha == pytest.approx(ref.alpha)
    models = [primal_ridge(x[g != h], y[g != h], 3, fit.alpha_rel * scale_of(x[g != h])) for h in range(4)]
    np.testing.assert_allclose(fit.weight, np.mean([m[0] for m in models], 0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.bias, np.mean([m[1] for m in models], 0), rtol=1e-4, atol=1e-6)
    assert not np.allclose(fit.weight, ref.weight, atol=1e-3)  # not the refit on all examples


@pytest.mark.parametrize("bad, match", [
    (dict(refit="best"), "refit must be one of"),
    (dict(blocks=np.array([0, 0, 1])), "one id per example"),
    (dict(blocks=np.array([0, 0, 1, 1])), "one class"),  # y = 0, 1, 0, 1: each block mixes classes
    (dict(blocks=np.array([0, 1, 1, 2]), groups=np.array([0, 0, 1, 1])), "one group"),
])
def test_bad_blocks_or_refit_are_one_clear_error(bad, match):
    args = dict(x=np.random.default_rng(0).standard_normal((4, 2)), y=np.array([0, 1, 0, 1]), num_classes=2)
    if "groups" in bad:
        args["y"] = np.array([0, 1, 1, 0])
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        fit_ridge_classifier(**args)
