"""Classification metrics that torchmetrics does not define the way the field reports them.

* :class:`BalancedAccuracy`: mean recall over the classes present in the targets, as
  ``sklearn.metrics.balanced_accuracy_score``. torchmetrics' ``MulticlassAccuracy(average="macro")``
  also averages over a class that is predicted but absent from the targets (recall 0), which lowers
  the score of a test split that lacks a class (0.42 instead of sklearn's 0.63 in a 3-class case).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


class BalancedAccuracy(Metric):
    """Mean per-class recall over the classes with at least one target (sklearn's definition).

    ``update(preds, target)``: ``preds`` ``(N,)`` class ids or ``(N, K)`` scores/probabilities,
    ``target`` ``(N,)`` class ids in ``[0, K)``. The state is the ``(K, K)`` confusion matrix
    (summed under DDP, so the result is exact across processes).
    """

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.add_state("confusion", default=torch.zeros(self.num_classes, self.num_classes, dtype=torch.long),
                       dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        if preds.dim() == target.dim() + 1:
            preds = preds.argmax(-1)
        k = self.num_classes
        idx = target.reshape(-1).long() * k + preds.reshape(-1).long()
        self.confusion += torch.bincount(idx, minlength=k * k).reshape(k, k)

    def compute(self) -> Tensor:
        support = self.confusion.sum(1)
        present = support > 0
        if not present.any():
            return torch.tensor(float("nan"))
        recall = self.confusion.diagonal()[present].double() / support[present].double()
        return recall.mean().float()


def balanced_accuracy(preds: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Functional :class:`BalancedAccuracy` (``preds (N,)`` ids or ``(N, K)`` scores)."""
    metric = BalancedAccuracy(num_classes)
    metric.update(preds, target)
    return metric.compute()
