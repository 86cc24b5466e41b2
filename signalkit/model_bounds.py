"""Bounds checked before a model is allocated, and weights checked when they are loaded.

A config (a pretrained folder's ``config.json``, a checkpoint, the command line) can ask for a
model far larger than the machine holds (``depth: 100000``). :func:`check_model_size` counts
the parameters on PyTorch's ``meta`` device (no memory, no initialisation), building
depth-like keys (``depth``, ``*_depth``, ``num_layers``) at 1 and 2 and extrapolating linearly,
so even an absurd depth is counted in milliseconds, and refuses a model over the limit:

- ``SIGNALKIT_MAX_PARAMS`` (default 5e8 parameters, 2 GB of float32 weights, or fewer on a
  machine whose memory cannot hold weights, gradients and two Adam moments: RAM / 16 bytes),
- ``SIGNALKIT_MAX_ACTIVATION_GB`` (default 64) for :func:`check_activations`, the bytes of
  every module output of one forward pass on a ``meta`` batch (an estimate of training memory).

Both limits can be raised by the user (environment variable, or the ``limit`` argument).
:func:`check_weights` refuses weights whose dtype kind differs from the model's (int32 weights
for a float parameter) and non-finite values (NaN, Inf), naming the tensor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from signalkit.errors import ConfigError, ModelError

DEFAULT_MAX_PARAMS = 500_000_000
_BYTES_PER_TRAINED_PARAM = 16  # float32 weight + gradient + two Adam moments
DEFAULT_MAX_ACTIVATION_GB = 64.0
_DEPTH_KEYS = ("depth", "num_layers", "n_layers", "layers")


def _limit(env: str, default: float, given: float | None) -> float:
    if given is not None:
        return float(given)
    text = os.environ.get(env, "")
    if not text:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{env}: expected a number, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{env}: must be positive, got {text!r}")
    return value


def _default_max_params() -> float:
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return float(DEFAULT_MAX_PARAMS)
    return float(min(DEFAULT_MAX_PARAMS, ram // _BYTES_PER_TRAINED_PARAM))


def max_params(limit: float | None = None) -> float:
    """The parameter limit: ``limit``, else ``$SIGNALKIT_MAX_PARAMS``, else 5e8 (or RAM / 16 bytes if less)."""
    return _limit("SIGNALKIT_MAX_PARAMS", _default_max_params(), limit)


def _is_depth(key: str) -> bool:
    return key in _DEPTH_KEYS or key.endswith("_depth") or key.endswith("_layers")


def _depth_keys(cfg: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """``(section, key, value)`` of the integer depth-like keys above 2 of a model config."""
    out = []
    for section, node in cfg.items():
        if isinstance(node, Mapping):
            for key, value in node.items():
                if _is_depth(str(key)) and isinstance(value, int) and not isinstance(value, bool) and value > 2:
                    out.append((str(section), str(key), int(value)))
    return out


def _count_on_meta(build: Callable[[dict], nn.Module], cfg: dict) -> int:
    with torch.device("meta"):
        model = build(cfg)
    return sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())


def count_parameters(build: Callable[[dict], nn.Module], cfg: Mapping[str, Any]) -> int:
    """Parameters (and buffers) of ``build(cfg)``, counted on the ``meta`` device.

    Depth-like keys above 2 are built at 1 and 2 and the count extrapolated linearly in each.
    """
    import copy

    cfg = copy.deepcopy(dict(cfg))
    keys = _depth_keys(cfg)
    small = copy.deepcopy(cfg)
    for section, key, _ in keys:
        small[section] = {**small[section], key: 1}
    base = _count_on_meta(build, small)
    total = base
    for section, key, value in keys:
        two = copy.deepcopy(small)
        two[section] = {**two[section], key: 2}
        total += (value - 1) * max(0, _count_on_meta(build, two) - base)
    if not keys:
        return base
    return total


def check_model_size(build: Callable[[dict], nn.Module], cfg: Mapping[str, Any], source: str = "model",
                     limit: float | None = None) -> int:
    """Count ``build(cfg)``'s parameters before allocating it; :class:`ModelError` over the limit.

    Returns the parameter count. ``source`` names the config (file or key) in the message.
    """
    bound = max_params(limit)
    n = count_parameters(build, cfg)
    if n > bound:
        depth = ", ".join(f"{s}.{k}={v}" for s, k, v in _depth_keys(cfg))
        raise ModelError(f"{source}: the model would have {n:,} parameters ({n * 4 / 2**30:.1f} GiB in float32"
                         f"{'; ' + depth if depth else ''}), over the limit of {int(bound):,}; "
                         "raise SIGNALKIT_MAX_PARAMS if this is intended")
    return n


def _meta_copy(model: nn.Module) -> nn.Module:
    """The same architecture on the ``meta`` device: rebuilt from its config when it has one
    (a :class:`~signalkit.models.SignalModel`, no copy of the weights), else deep-copied."""
    import copy

    config = getattr(model, "config", None)
    if isinstance(config, Mapping) and all(isinstance(config.get(s), Mapping) for s in ("tokenizer", "backbone", "head")):
        from signalkit.models import _construct

        with torch.device("meta"):
            return _construct(dict(config), getattr(model, "data_contract", None))
    return copy.deepcopy(model).to("meta")


def _forward_bytes(model: nn.Module, batch: Mapping[str, Any]) -> int:
    """Bytes of every leaf module's outputs in one no-grad forward pass of ``model`` on ``batch``."""
    total = 0

    def hook(_module, _inputs, output) -> None:
        nonlocal total
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, Tensor):
                total += t.numel() * t.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(dict(batch))
    finally:
        for h in handles:
            h.remove()
    return total


def activation_bytes(model: nn.Module, batch: Mapping[str, Any]) -> int:
    """Bytes of every module output of one forward pass of ``model`` on ``batch``.

    Run on ``meta`` copies of the model and batch (no memory, no compute). A model whose forward
    needs values (a data-dependent branch, ``.item()``) runs for real on the batch's first sample
    instead, in eval mode and with the RNG states restored, and the count is scaled by the batch
    size. ``model`` is not changed.
    """
    try:
        meta = _meta_copy(model).train(model.training)
        return _forward_bytes(meta, {k: (v.to("meta") if isinstance(v, Tensor) else v) for k, v in batch.items()})
    except (RuntimeError, NotImplementedError):  # an op that needs values: one real sample
        pass
    sizes = [v.shape[0] for v in batch.values() if isinstance(v, Tensor) and v.dim()]
    b = max(sizes) if sizes else 1
    one = {k: (v[:1] if isinstance(v, Tensor) and v.dim() and v.shape[0] == b else v) for k, v in batch.items()}
    was_training = model.training
    devices = [torch.device("cuda", torch.cuda.current_device())] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        model.eval()
        try:
            return _forward_bytes(model, one) * b
        finally:
            model.train(was_training)


def check_activations(model: nn.Module, batch: Mapping[str, Any], source: str = "model",
                      limit_gb: float | None = None) -> int | None:
    """:func:`activation_bytes` against ``$SIGNALKIT_MAX_ACTIVATION_GB`` (default 64); None when
    the model cannot run on ``meta`` tensors (an op without a meta kernel), else the byte count."""
    bound = _limit("SIGNALKIT_MAX_ACTIVATION_GB", DEFAULT_MAX_ACTIVATION_GB, limit_gb) * 2**30
    try:
        n = activation_bytes(model, batch)
    except Exception:  # an op with no meta implementation: no estimate, not an error
        return None
    if n > bound:
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in batch.items() if isinstance(v, Tensor))
        raise ModelError(f"{source}: one forward pass would hold about {n / 2**30:.1f} GiB of activations "
                         f"(batch {shapes}), over the limit of {bound / 2**30:g} GiB; reduce data.batch_size or "
                         "the window, or raise SIGNALKIT_MAX_ACTIVATION_GB")
    return n


def check_weights(own: Mapping[str, Tensor], given: Mapping[str, Tensor], source: str) -> None:
    """Refuse loaded weights whose dtype kind differs from the model's or that hold NaN/Inf.

    ``own``: the model's state dict; ``given``: the entries about to be loaded (same keys).
    """
    kinds, bad = [], []
    for key, value in given.items():
        mine = own.get(key)
        if not isinstance(value, Tensor):
            kinds.append(f"{key} (not a tensor: {type(value).__name__})")
            continue
        if mine is not None and (mine.is_floating_point() != value.is_floating_point()
                                 or mine.is_complex() != value.is_complex() or (mine.dtype == torch.bool) != (value.dtype == torch.bool)):
            kinds.append(f"{key} (file {str(value.dtype).replace('torch.', '')}, model "
                         f"{str(mine.dtype).replace('torch.', '')})")
        elif (value.is_floating_point() or value.is_complex()) and value.numel() and not torch.isfinite(value).all():
            n = int((~torch.isfinite(value)).sum())
            bad.append(f"{key} ({n} of {value.numel()} values)")
    if kinds:
        raise ModelError(f"{source}: weights of the wrong dtype: {', '.join(sorted(kinds)[:5])}")
    if bad:
        raise ModelError(f"{source}: NaN or Inf in the weights: {', '.join(sorted(bad)[:5])}")



def activation_bound_callback():
    """A Lightning callback: before the first training batch, :func:`check_activations` of the
    task's ``model`` on that batch's shapes, so a :class:`ModelError` stops the run before the
    forward pass would exhaust memory."""
    import lightning as L

    class ActivationBound(L.Callback):
        def __init__(self) -> None:
            self.done = False

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            model = getattr(pl_module, "model", None)
            if self.done or not isinstance(model, nn.Module) or not isinstance(batch, Mapping):
                return
            self.done = True
            check_activations(model, batch, "data.batch_size / model")

    return ActivationBound()
