"""Linear SVM on block-averaged volumes: the first baseline of fMRI decoding (Haxby et al. 2001).

Each window ``(T, X, Y, Z)`` (already z-scored per run by the data module) is averaged over time,
its voxels inside the mask are kept, and sklearn's ``LinearSVC`` (one-vs-rest, C = 1) is fitted on
the training windows and scored on the test windows.
"""

from __future__ import annotations

import numpy as np


def block_features(windows: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``(N, T, X, Y, Z)`` windows -> ``(N, V)`` time-averaged voxels (inside ``mask (X, Y, Z)``)."""
    mean = windows.mean(axis=1).reshape(len(windows), -1)
    return mean[:, mask.reshape(-1)] if mask is not None else mean


def linear_svm_baseline(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                        c: float = 1.0) -> dict[str, float]:
    """Fit on ``train_x (N, V)``, score ``test_x (M, V)``: ``accuracy`` and ``balanced_accuracy``."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.svm import LinearSVC

    clf = LinearSVC(C=float(c), max_iter=20000).fit(train_x, train_y)
    pred = clf.predict(test_x)
    return {"accuracy": float(accuracy_score(test_y, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(test_y, pred))}
