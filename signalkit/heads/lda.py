"""Closed-form shrinkage LDA read-out (the classical ERP decoder: Blankertz et al. 2011).

``fit_shrinkage_lda`` gives the same decision as scikit-learn's
``LinearDiscriminantAnalysis(solver="lsqr", shrinkage=...)``: class means, the prior-weighted sum of
the per-class covariances, each shrunk towards a scaled identity (``shrinkage="auto"``:
Ledoit-Wolf on standardised features, as sklearn), and ``W = means @ inv(cov)``. It returns one score
per class (``K`` rows, also for two classes), so it drops into an ``nn.Linear`` head: ``x @ weight.T
+ bias``, whose argmax is sklearn's prediction.
"""

from __future__ import annotations

import numpy as np


def _shrunk_cov(x: np.ndarray, shrinkage: float | str) -> np.ndarray:
    """Covariance of ``x (n, F)`` (biased, as sklearn), shrunk towards ``mu * I``."""
    from sklearn.covariance import ledoit_wolf

    xc = x - x.mean(0)
    if shrinkage == "auto":
        scale = xc.std(0)
        scale[scale == 0] = 1.0
        s = ledoit_wolf(xc / scale, assume_centered=True)[0]
        return scale[:, None] * s * scale[None, :]
    a = float(shrinkage)
    emp = xc.T @ xc / len(x)
    mu = np.trace(emp) / emp.shape[0]
    return (1 - a) * emp + a * mu * np.eye(emp.shape[0])


def fit_shrinkage_lda(x: np.ndarray, y: np.ndarray, num_classes: int,
                      shrinkage: float | str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Shrinkage LDA on features ``x (N, F)`` and class ids ``y (N,)``.

    Returns ``weight (K, F)`` and ``bias (K,)`` float32 (scores ``x @ weight.T + bias``); a class
    without training windows gets a score of ``-inf``-like bias (``-1e9``), so it is never predicted.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"LDA read-out: features (N, F) with N >= 2 and targets (N,), got {x.shape}, {y.shape}")
    if shrinkage != "auto" and not 0.0 <= float(shrinkage) <= 1.0:
        raise ValueError(f"LDA read-out: shrinkage must be 'auto' or in [0, 1], got {shrinkage}")
    if not np.isfinite(x).all():
        raise ValueError("LDA read-out: the training features hold NaN or Inf")
    present = [k for k in range(num_classes) if np.any(y == k)]
    priors = np.array([np.mean(y == k) for k in present])
    means = np.stack([x[y == k].mean(0) for k in present])  # (k, F)
    cov = sum(p * _shrunk_cov(x[y == k], shrinkage) for p, k in zip(priors, present))
    coef = np.linalg.lstsq(cov, means.T, rcond=None)[0].T  # (k, F)
    icpt = -0.5 * np.einsum("kf,kf->k", means, coef) + np.log(priors)
    weight = np.zeros((num_classes, x.shape[1]))
    bias = np.full(num_classes, -1e9)
    weight[present], bias[present] = coef, icpt
    return weight.astype(np.float32), bias.astype(np.float32)
