"""Functional-connectivity baseline for window decoding: correlations -> logistic regression.

Each window's region time series ``(R, T)`` becomes the upper triangle of its Pearson
correlation matrix (Fisher z-transformed), and a standardised L2 logistic regression
(scikit-learn) classifies them - the classical connectome-based decoder.
"""

from __future__ import annotations

import numpy as np


def fc_features(x: np.ndarray) -> np.ndarray:
    """``(N, R, T)`` windows -> ``(N, R * (R - 1) / 2)`` Fisher-z correlations (upper triangle)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    norm = np.sqrt((x**2).sum(axis=-1, keepdims=True))
    x = x / np.where(norm > 0, norm, 1.0)
    corr = np.einsum("nrt,nst->nrs", x, x)
    iu = np.triu_indices(x.shape[1], k=1)
    return np.arctanh(np.clip(corr[:, iu[0], iu[1]], -0.999999, 0.999999))


def fc_baseline(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                c: float = 1.0) -> dict[str, float]:
    """Fit on the train windows, score the test windows: ``accuracy`` and ``balanced_accuracy``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(train_y)) < 2:
        raise ValueError("the FC baseline needs at least two classes in the training windows")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    clf.fit(fc_features(train_x), train_y)
    pred = clf.predict(fc_features(test_x))
    return {"accuracy": float(accuracy_score(test_y, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(test_y, pred))}
