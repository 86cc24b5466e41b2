"""Optional LoRA fine-tuning of named layers through ``peft`` (extra ``lora``).

``apply_lora(model, r=8, alpha=16, target_modules=["fc1", "fc2"])`` wraps the backbone's layers
whose name ends with one of ``target_modules`` with low-rank adapters (peft's
``inject_adapter_in_model``), freezes every other backbone and tokenizer weight and leaves the
head trainable. ``merge_lora(model)`` folds the adapters into the base weights and unwraps them,
so a fine-tuned model saves to the plain pretrained format. Fine-tuning from the CLI:
``signalkit train experiment=eeg/motor_imagery model.pretrained=<dir> +model.lora={r:8}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from torch import nn

from signalkit.errors import ConfigError

DEFAULT_TARGETS = ("fc1", "fc2", "pw_in", "pw_out")
LORA_KEYS = {"r", "alpha", "dropout", "target_modules", "scope"}


def _peft():
    try:
        import peft
    except ModuleNotFoundError:
        raise ConfigError("model.lora: LoRA needs the optional extra 'lora' (pip install 'signalkit-ml[lora]')") from None
    return peft


def has_lora(model: nn.Module) -> bool:
    """True if any parameter name holds a LoRA adapter."""
    return any("lora_" in name for name, _ in model.named_parameters())


def apply_lora(model: nn.Module, r: int = 8, alpha: float = 16.0, dropout: float = 0.0,
               target_modules: Sequence[str] = DEFAULT_TARGETS, scope: str = "backbone") -> nn.Module:
    """Add LoRA adapters to ``<scope>.…<target>`` layers of a :class:`SignalModel` (in place).

    Args:
        r, alpha, dropout: LoRA rank, scaling numerator and dropout.
        target_modules: layer-name suffixes to adapt (``nn.Linear`` / ``nn.Conv*d``).
        scope: top-level submodule whose layers are adapted (``backbone`` or ``tokenizer``).

    Returns the model; its ``tokenizer`` and ``backbone`` weights are frozen except the adapters.
    """
    peft = _peft()
    if not target_modules:
        raise ConfigError("model.lora.target_modules: empty")
    pattern = rf"^{re.escape(scope)}\.(.*\.)?({'|'.join(re.escape(t) for t in target_modules)})$"
    names = [n for n, _ in model.named_modules() if re.fullmatch(pattern, n)]
    if not names:
        raise ConfigError(f"model.lora.target_modules: no layer of {scope} matches {list(target_modules)}")
    config = peft.LoraConfig(r=int(r), lora_alpha=float(alpha), lora_dropout=float(dropout), target_modules=pattern)
    peft.inject_adapter_in_model(config, model)
    # peft freezes every non-adapter weight; the head (new for the task) trains in full
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name or name.startswith("head."))
    return model


def apply_lora_config(model: nn.Module, cfg: dict) -> nn.Module:
    """:func:`apply_lora` from a plain ``model.lora`` config (unknown keys are an error)."""
    unknown = set(cfg) - LORA_KEYS
    if unknown:
        raise ConfigError(f"model.lora.{sorted(unknown)[0]}: unknown key (expected {', '.join(sorted(LORA_KEYS))})")
    return apply_lora(model, **cfg)


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA adapter into its base layer and put the base layer back (in place)."""
    if not has_lora(model):
        return model
    peft = _peft()
    from peft.tuners.lora import LoraLayer

    del peft
    for name, module in list(model.named_modules()):
        if isinstance(module, LoraLayer):
            module.merge()
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.get_base_layer())
    return model
