"""``SignalEnsemble``: ``model.members`` independently initialised :class:`SignalModel` s of one config.

A decoding ensemble over seeds, the most reliable way to narrow a small-data decoder's spread
(Lakshminarayanan et al. 2017): each member has its own initialisation and dropout and is trained
on its own loss (:class:`~signalkit.tasks.DecodingTask` sums the members' cross-entropies, so
the members never see each other's outputs); the ensemble predicts the mean of the members'
class probabilities. ``forward`` returns the log of that mean, so ``softmax(forward(batch))`` is the
mean probability and every consumer of logits (metrics, ``predict``, ``predict_proba``) is unchanged.

Built by :func:`signalkit.models.build_model` when the model config says ``members: N`` (N > 1);
it travels through checkpoints and the pretrained format like one model (state keys
``members.<i>.``), and :func:`model_members` gives the members of either kind of model.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.models import SignalModel


def ensemble_size(config: dict) -> int:
    """``config["members"]`` as a count >= 1 (1 when absent); :class:`ConfigError` naming ``model.members``."""
    n = config.get("members", 1)
    if n is None:
        return 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"model.members: a whole number of ensemble members >= 1, got {n!r}")
    return n


class SignalEnsemble(nn.Module):
    """``N`` :class:`SignalModel` members; ``forward(batch) -> (B, K)`` log mean class probability.

    Args:
        members: the models, built from one config (``config`` with ``members: N``).
        config: the plain model config (``members`` included), saved with checkpoints.
        data_contract: the data contract, shared by every member.
    """

    def __init__(self, members: list[SignalModel], config: dict, data_contract: dict | None = None):
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"model.members: an ensemble needs at least 2 members, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.config = config
        self.data_contract = dict(data_contract or {})

    def member_outputs(self, batch: dict) -> Tensor:
        """The members' logits ``(N, B, K)``."""
        return torch.stack([m(batch) for m in self.members])

    def forward(self, batch: dict) -> Tensor:
        return log_mean_probability(self.member_outputs(batch))

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def log_mean_probability(member_logits: Tensor) -> Tensor:
    """Members' logits ``(N, B, K)`` -> ``(B, K)`` float32, the log of their mean class probability."""
    logits = member_logits.float()
    return torch.logsumexp(logits.log_softmax(-1), dim=0) - math.log(logits.shape[0])


def model_members(model: nn.Module) -> list[nn.Module]:
    """The members of a :class:`SignalEnsemble`, or ``[model]`` for one model."""
    return list(model.members) if isinstance(model, SignalEnsemble) else [model]


def member_name(name: str) -> str:
    """A parameter name of an ensemble without its ``members.<i>.`` prefix (``members.2.head.fc.weight``
    -> ``head.fc.weight``); other names unchanged."""
    parts = name.split(".", 2)
    if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit():
        return parts[2]
    return name
