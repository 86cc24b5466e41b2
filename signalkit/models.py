"""``SignalModel`` = tokenizer + backbone + head, built from a plain config of registry names.

A model config is a plain dict::

    {"name": "eeg_decoder", "modality": "eeg", "dim": 64, "causal": False,
     "tokenizer": {"name": "sensor", "patch_size": 16, "virtual_channels": 16},
     "backbone": {"name": "large_kernel", "depth": 4, ...},
     "head": {"name": "decoding", "num_classes": 2}}

A top-level ``members: N`` (N > 1) builds an ensemble of N such models over seeds
(:class:`signalkit.ensemble.SignalEnsemble`).

Named configs live in ``configs/model/<name>.yaml``, the same files the CLI's ``model=`` group
uses, so ``create_model("eeg_decoder", num_classes=4)`` builds what
``signalkit train model=eeg_decoder model.head.num_classes=4`` trains.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError

SECTIONS = ("tokenizer", "backbone", "head")
# create_model(name, key=value) shortcuts: key -> (section, key)
SHORTCUTS = {
    "num_classes": ("head", "num_classes"),
    "patch_size": ("tokenizer", "patch_size"),
    "virtual_channels": ("tokenizer", "virtual_channels"),
    "depth": ("backbone", "depth"),
    "backbone_name": ("backbone", "name"),
    "backend": ("backbone", "backend"),
    "drop_path": ("backbone", "drop_path"),
}


class SignalModel(nn.Module):
    """Tokenizer -> backbone -> head. ``forward(batch) -> head output``.

    ``config`` is the plain dict the model was built from; ``data_contract`` describes the
    input it expects (modality, sampling rate, channels, normalisation, targets) and travels
    with the pretrained format.
    """

    def __init__(self, tokenizer: nn.Module, backbone: nn.Module, head: nn.Module,
                 config: dict, data_contract: dict | None = None):
        super().__init__()
        self.tokenizer = tokenizer
        self.backbone = backbone
        self.head = head
        self.config = config
        self.data_contract = dict(data_contract or {})

    def features(self, batch: dict) -> Tensor:
        """Backbone features ``(B, D, *grid)`` of a batch."""
        return self.backbone(self.tokenizer(batch))

    def forward(self, batch: dict) -> Tensor:
        return self.head(self.features(batch), batch)

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def build_model(config: Mapping[str, Any], data_contract: dict | None = None, source: str = "model") -> SignalModel:
    """Build a :class:`SignalModel` from a plain model config (see module docstring); with
    ``members: N`` (N > 1) a :class:`~signalkit.ensemble.SignalEnsemble` of N independently
    initialised models of that config.

    The parameter count is checked first, on the ``meta`` device, against
    ``$SIGNALKIT_MAX_PARAMS`` (:mod:`signalkit.model_bounds`); ``source`` names the config in errors.
    """
    from signalkit.backbones.registry import sized_config
    from signalkit.model_bounds import check_model_size

    cfg = copy.deepcopy(dict(config))
    for section in SECTIONS:
        if not isinstance(cfg.get(section), Mapping) or "name" not in cfg[section]:
            raise ConfigError(f"model.{section}: missing, or has no 'name'")
    # a named backbone size becomes its keyword arguments (explicit keys win), so the saved config
    # holds the values and builds the same model without the size table
    cfg["backbone"] = sized_config(cfg["backbone"])
    check_model_size(lambda c: _construct(c, data_contract), cfg, source)
    return _construct(cfg, data_contract)


def _construct(cfg: dict, data_contract: dict | None) -> SignalModel:
    from signalkit.ensemble import SignalEnsemble, ensemble_size

    n = ensemble_size(cfg)
    if n == 1:
        return _construct_one(cfg, data_contract)
    one = {k: v for k, v in cfg.items() if k != "members"}
    return SignalEnsemble([_construct_one(one, data_contract) for _ in range(n)], copy.deepcopy(cfg), data_contract)


def _construct_one(cfg: dict, data_contract: dict | None) -> SignalModel:
    from signalkit.backbones import create_backbone
    from signalkit.heads import create_head
    from signalkit.tokenizers import create_tokenizer

    cfg = copy.deepcopy(cfg)
    # the model's ``dim`` wins; ``dim: null`` takes the backbone size's width
    dim = int(cfg.get("dim") or cfg["backbone"].get("dim") or 64)
    tok_kw = {k: v for k, v in cfg["tokenizer"].items() if k != "name"}
    tokenizer = create_tokenizer(cfg["tokenizer"]["name"], dim=dim, **tok_kw)
    bb_kw = {k: v for k, v in cfg["backbone"].items() if k not in ("name", "size", "dim", "ndim", "causal")}
    backbone = create_backbone(cfg["backbone"]["name"], dim=dim, ndim=int(tokenizer.grid_ndim),
                               causal=bool(cfg.get("causal", False)), **bb_kw)
    head_kw = {k: v for k, v in cfg["head"].items() if k != "name"}
    head = create_head(cfg["head"]["name"], dim=dim, tokenizer=tokenizer, **head_kw)
    return SignalModel(tokenizer, backbone, head, cfg, data_contract)


def model_config(name: str, **overrides: Any) -> dict:
    """The plain config of the named model ``configs/model/<name>.yaml`` with overrides applied.

    ``overrides`` are shortcuts (``num_classes=4``, ``depth=6``, ``backbone_name="ssm"``), top
    level keys (``dim``, ``causal``) or whole sections merged into the config
    (``backbone={"name": "afno", "depth": 2}``).
    """
    from signalkit.config import compose, to_plain

    cfg = to_plain(compose("train", [f"model={name}"]).model)
    for key, value in overrides.items():
        if key in SHORTCUTS:
            section, sub = SHORTCUTS[key]
            cfg[section][sub] = value
        elif key in SECTIONS and isinstance(value, Mapping):
            if "name" in value and value["name"] != cfg[key].get("name"):
                cfg[key] = {}
            cfg[key].update(value)
        elif key in cfg or key in ("dim", "causal", "modality", "members"):
            cfg[key] = value
        else:
            raise ConfigError(f"create_model: unknown override {key!r} for model {name!r}")
    return cfg


def list_models() -> list[str]:
    """Names of the model configs shipped in ``configs/model/``."""
    from importlib.resources import files

    folder = files("signalkit.configs") / "model"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def create_model(name: str, **overrides: Any) -> SignalModel:
    """Build a named model: ``create_model("eeg_decoder", num_classes=4)``."""
    if name not in list_models():
        raise ConfigError(f"model: unknown model {name!r} (known: {', '.join(list_models())})")
    return build_model(model_config(name, **overrides))


@torch.no_grad()
def predict_proba(model: SignalModel, batch: dict) -> Tensor:
    """Class probabilities ``(B, num_classes)`` of a decoding model in eval mode."""
    model.eval()
    return model(batch).softmax(dim=-1)
