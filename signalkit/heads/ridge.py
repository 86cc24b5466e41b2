"""Closed-form ridge read-out: a linear classifier fitted by least squares, its penalty chosen by
inner cross-validation over groups (runs) of the training data.

On a few dozen labelled fMRI blocks (Haxby: 8 categories x 8 runs) a regularised least-squares
read-out of the voxels is the standard strong decoder (Haxby et al. 2001; Pereira et al. 2009); a
gradient-trained head on so few examples depends on its learning rate, epochs and seed, a
closed-form one does not. Targets are one-hot in ``{-1, +1}`` (as sklearn's ``RidgeClassifier``),
the intercept comes from centring, and everything is solved in the dual (``N x N`` Gram matrix of
the ``N`` training examples), so ``V`` (voxels) may be large: memory is ``N x V`` float32 features
plus ``N x N`` float64.

The penalties are given relative to the data's scale, ``alpha = rel * trace(Xc Xc^T) / N`` (the
mean squared norm of a centred example), so one grid serves any number of voxels and any units.
The inner split leaves one group out (``groups``: one id per example, e.g. its run); with fewer
than two groups it uses ``min(5, N)`` interleaved folds. The score is the mean balanced accuracy
over the held-out folds; ties (frequent: a held-out run holds one block per class) go to the lower
mean squared error of the held-out scores against their {-1, +1} targets (the ridge's own loss,
a continuous score), and exact ties after that to the larger penalty. On Haxby face vs house the
accuracy alone tied every penalty and its larger-penalty rule lost a fold the squared error keeps
(benchmarks/RECORDED.md).

With ``blocks`` (one id per example: the window, e.g. the fMRI block, an example was cut from) the
read-out is fitted on the examples (single volumes) but the inner CV scores what the test does: each
held-out block by the mean of its examples' scores (for a linear read-out, the score of the block's
mean), its balanced accuracy and squared error taken over blocks.

``refit="fold_mean"`` returns, instead of a refit on all examples at the chosen penalty, the mean of
the inner folds' models at that penalty (nilearn's ``Decoder`` averages its fold models the same way):
an average over several training subsets, less dependent on any one run than a single refit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-4, 2, 13))
REFITS: tuple[str, ...] = ("all", "fold_mean")
_CHUNK = 1 << 15  # columns (voxels) per float64 block when forming Gram products


@dataclass
class RidgeFit:
    """Result of :func:`fit_ridge_classifier`: ``weight (K, V)``, ``bias (K,)`` (float32, as
    ``nn.Linear`` stores them), the chosen absolute and relative penalty, and the inner-CV score
    (mean balanced accuracy, and the tie-breaking mean squared error ``cv_mse``) of every relative
    penalty in ``alphas``."""

    weight: np.ndarray
    bias: np.ndarray
    alpha: float
    alpha_rel: float
    alphas: list[float] = field(default_factory=list)
    cv_scores: list[float] = field(default_factory=list)
    n_folds: int = 0
    cv_mse: list[float] = field(default_factory=list)


def gram(x: np.ndarray) -> np.ndarray:
    """``x (N, V)`` -> ``x x^T (N, N)`` in float64, accumulated over blocks of voxels."""
    out = np.zeros((len(x), len(x)), dtype=np.float64)
    for j in range(0, x.shape[1], _CHUNK):
        block = np.asarray(x[:, j:j + _CHUNK], dtype=np.float64)
        out += block @ block.T
    return out


def _targets(y: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes)[y] * 2.0 - 1.0  # (N, K) in {-1, +1}


class _DualRidge:
    """Ridge on the rows ``s`` of a raw Gram matrix ``g``, centred on those rows (intercept)."""

    def __init__(self, g: np.ndarray, s: np.ndarray, t: np.ndarray):
        self.g, self.s = g, s
        gs = g[np.ix_(s, s)]
        self.col_mean = gs.mean(0)  # (n,) mean over the fitted rows of each column
        self.all_mean = float(self.col_mean.mean())
        gc = gs - self.col_mean[None, :] - self.col_mean[:, None] + self.all_mean
        e, self.q = np.linalg.eigh((gc + gc.T) / 2)
        self.e = np.clip(e, 0.0, None)
        self.keep = self.e > 1e-10 * max(float(self.e.max()), 1e-30)
        self.t_mean = t.mean(0)
        self.qt = self.q.T @ (t - self.t_mean)  # (n, K)
        self.trace = float(self.e.sum())

    def dual(self, alpha: float) -> np.ndarray:
        """Dual coefficients ``(n, K)`` for the centred features: ``W = Xc^T A``."""
        inv = np.where(self.keep, 1.0 / (self.e + alpha), 0.0)
        return self.q @ (inv[:, None] * self.qt)

    def predict(self, rows: np.ndarray, alpha: float) -> np.ndarray:
        """Scores ``(m, K)`` of the examples ``rows`` (indices into the Gram matrix)."""
        cross = self.g[np.ix_(rows, self.s)]
        cross = cross - cross.mean(1, keepdims=True) - self.col_mean[None, :] + self.all_mean
        return cross @ self.dual(alpha) + self.t_mean


def _balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y`` (as sklearn's ``balanced_accuracy_score``)."""
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def inner_folds(groups: np.ndarray | None, n: int) -> list[np.ndarray]:
    """Held-out index sets: one per group (leave one group out), or ``min(5, n)`` interleaved folds
    with fewer than two groups."""
    if groups is not None and len(np.unique(groups)) >= 2:
        return [np.flatnonzero(groups == g) for g in np.unique(groups)]
    k = min(5, n)
    return [np.arange(i, n, k) for i in range(k)]


def block_means(scores: np.ndarray, y: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scores (m, K)`` and class ids ``y (m,)`` of examples -> the mean score and the class of each
    block (``blocks (m,)``: one id per example), blocks in ascending id order."""
    ids, inv = np.unique(blocks, return_inverse=True)
    sums = np.zeros((len(ids), scores.shape[1]))
    np.add.at(sums, inv, scores)
    first = np.zeros(len(ids), dtype=np.int64)
    first[inv[::-1]] = np.arange(len(inv))[::-1]
    return sums / np.bincount(inv, minlength=len(ids))[:, None], y[first]


def _check_blocks(blocks: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    blocks = np.asarray(blocks)
    if blocks.shape != y.shape:
        raise ValueError(f"ridge read-out: blocks must hold one id per example, got {blocks.shape} for {y.shape}")
    for name, values in (("class", y), ("group", groups)):
        if values is None:
            continue
        pairs = np.unique(np.stack([np.unique(blocks, return_inverse=True)[1], np.asarray(values)]), axis=1)
        if pairs.shape[1] != len(np.unique(blocks)):
            raise ValueError(f"ridge read-out: every block must lie in one {name}; some blocks mix {name}s")
    return blocks


def fit_ridge_classifier(x: np.ndarray, y: np.ndarray, num_classes: int, groups: np.ndarray | None = None,
                         alphas: Sequence[float] = DEFAULT_ALPHAS, blocks: np.ndarray | None = None,
                         refit: str = "all") -> RidgeFit:
    """Fit a ridge classifier on ``x (N, V)`` with class ids ``y (N,)``.

    The relative penalty is chosen among ``alphas`` by inner cross-validation over ``groups (N,)``
    (module docstring: balanced accuracy, ties by squared error; with ``blocks (N,)`` both scored
    on the held-out blocks' mean scores). ``refit="all"``: the read-out is then refitted on all
    ``N`` examples; ``refit="fold_mean"``: it is the mean of the inner folds' models at the chosen
    penalty (weights and biases averaged, as nilearn's ``Decoder`` averages its fold models).
    Returns a :class:`RidgeFit` whose ``weight (K, V)`` and ``bias (K,)`` give scores
    ``x @ weight.T + bias``.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"ridge read-out: features (N, V) and targets (N,), got {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"ridge read-out: needs at least 2 training examples, got {len(x)}")
    if not len(alphas) or min(alphas) <= 0:
        raise ValueError(f"ridge read-out: penalties must be positive, got {list(alphas)}")
    if not np.isfinite(x).all():
        raise ValueError("ridge read-out: the training features hold NaN or Inf")
    if refit not in REFITS:
        raise ValueError(f"ridge read-out: refit must be one of {list(REFITS)}, got {refit!r}")
    if blocks is not None:
        blocks = _check_blocks(blocks, y, None if groups is None else np.asarray(groups))
    rel = sorted(float(a) for a in alphas)
    g, t = gram(x), _targets(y, num_classes)
    if blocks is not None and (groups is None or len(np.unique(groups)) < 2):
        # interleaved folds over whole blocks: a block's examples are never split between fit and score
        ids, inv = np.unique(blocks, return_inverse=True)
        folds = [np.flatnonzero(np.isin(inv, f)) for f in inner_folds(None, len(ids))]
    else:
        folds = inner_folds(None if groups is None else np.asarray(groups), len(x))
    folds = [f for f in folds if 0 < len(f) < len(x)]
    scores, mse = np.zeros(len(rel)), np.zeros(len(rel))
    for held in folds:
        fit_rows = np.setdiff1d(np.arange(len(x)), held)
        model = _DualRidge(g, fit_rows, t[fit_rows])
        scale = model.trace / len(fit_rows) or 1.0
        for i, a in enumerate(rel):
            pred, y_held = model.predict(held, a * scale), y[held]
            if blocks is not None:
                pred, y_held = block_means(pred, y_held, blocks[held])
            scores[i] += _balanced_accuracy(y_held, pred.argmax(1))
            mse[i] += float(((pred - _targets(y_held, num_classes)) ** 2).mean())
    scores /= max(1, len(folds))
    mse /= max(1, len(folds))
    # best accuracy; ties: lower squared error, then the larger penalty (rounded: float noise is no tie-break)
    best = max(range(len(rel)), key=lambda i: (round(float(scores[i]), 9), -round(float(mse[i]), 9), i))
    if refit == "fold_mean" and folds:
        weight, bias = np.zeros((x.shape[1], num_classes)), np.zeros(num_classes)
        for held in folds:  # each inner fold's model at the chosen penalty (its own scale, as scored)
            fit_rows = np.setdiff1d(np.arange(len(x)), held)
            model = _DualRidge(g, fit_rows, t[fit_rows])
            w, b = _primal(x, fit_rows, model, rel[best] * (model.trace / len(fit_rows) or 1.0))
            weight += w / len(folds)
            bias += b / len(folds)
        gc_trace = float(np.trace(g) - g.sum() / len(x))  # trace of the centred Gram matrix
        alpha = rel[best] * (gc_trace / len(x) or 1.0)
    else:
        full = _DualRidge(g, np.arange(len(x)), t)
        alpha = rel[best] * (full.trace / len(x) or 1.0)
        weight, bias = _primal(x, np.arange(len(x)), full, alpha)
    return RidgeFit(weight=weight.T.astype(np.float32), bias=bias.astype(np.float32), alpha=float(alpha),
                    alpha_rel=rel[best], alphas=rel, cv_scores=[float(s) for s in scores], n_folds=len(folds),
                    cv_mse=[float(m) for m in mse])


def _primal(x: np.ndarray, rows: np.ndarray, model: _DualRidge, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Primal ``weight (V, K)`` and ``bias (K,)`` (float64) of the ridge ``model`` fitted on ``x[rows]``."""
    dual = model.dual(alpha)  # (n, K)
    mu = x[rows].mean(0, dtype=np.float64) if len(rows) < len(x) else x.mean(0, dtype=np.float64)
    weight = np.zeros((x.shape[1], dual.shape[1]), dtype=np.float64)
    for j in range(0, x.shape[1], _CHUNK):
        weight[j:j + _CHUNK] = np.asarray(x[rows, j:j + _CHUNK], dtype=np.float64).T @ dual
    weight -= mu[:, None] * dual.sum(0)[None, :]
    return weight, model.t_mean - mu @ weight
