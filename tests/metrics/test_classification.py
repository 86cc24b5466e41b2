"""Balanced accuracy over the classes present in the targets, with sklearn as the oracle."""

import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score

from signalkit.metrics.classification import BalancedAccuracy, balanced_accuracy
from signalkit.tasks.decoding import decoding_metrics


def test_a_class_predicted_but_absent_from_the_targets_does_not_count():
    # 3 classes; class 2 is predicted once but never a target
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    p = torch.tensor([0, 0, 2, 1, 1, 0])
    expected = balanced_accuracy_score(y.numpy(), p.numpy())  # (2/3 + 2/3) / 2
    assert expected == pytest.approx(2 / 3)
    assert balanced_accuracy(p, y, 3).item() == pytest.approx(expected)
    # torchmetrics' macro accuracy averages a recall of 0 for class 2 in
    from torchmetrics.classification import MulticlassAccuracy

    assert MulticlassAccuracy(3, average="macro")(p, y).item() == pytest.approx(4 / 9)


def test_the_3_class_case_of_issue_21():
    """0.63 (sklearn) vs 0.42 (torchmetrics macro, which counts the absent class 2 as recall 0)."""
    from torchmetrics.classification import MulticlassAccuracy

    y = torch.tensor([0, 0, 1, 1, 1, 1])
    p = torch.tensor([0, 0, 1, 2, 2, 0])
    expected = balanced_accuracy_score(y.numpy(), p.numpy())
    assert expected == pytest.approx(0.625)
    assert balanced_accuracy(p, y, 3).item() == pytest.approx(expected)
    assert MulticlassAccuracy(3, average="macro")(p, y).item() == pytest.approx(1.25 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn_on_random_batches_accumulated(seed):
    rng = np.random.default_rng(seed)
    k = 5
    y = rng.choice([0, 1, 3], size=200)  # classes 2 and 4 absent from the targets
    scores = rng.standard_normal((200, k))
    scores[np.arange(200), y] += 1.0
    metric = BalancedAccuracy(k)
    for chunk in np.array_split(np.arange(200), 7):  # accumulated over batches, scores as input
        metric.update(torch.from_numpy(scores[chunk]), torch.from_numpy(y[chunk]))
    assert metric.compute().item() == pytest.approx(balanced_accuracy_score(y, scores.argmax(1)), abs=1e-6)


def test_decoding_metrics_use_it():
    m = decoding_metrics(3)
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    probs = torch.nn.functional.one_hot(torch.tensor([0, 0, 2, 1, 1, 0]), 3).float()
    m.update(probs, y)
    assert m.compute()["balanced_accuracy"].item() == pytest.approx(2 / 3)
