"""The pretrained-model format: a folder with ``config.json`` and ``model.safetensors``.

``config.json`` holds plain data only::

    {"format": "signalkit-pretrained", "format_version": 1, "signalkit_version": "...",
     "model": {<registry names + keyword arguments, as for signalkit.models.build_model>},
     "data_contract": {"modality", "sfreq", "channels", "ch_types", "positions",
                       "normalization", "patch_size", "target_names", ...}}

Loading never executes anything from the folder: no pickle (weights come from safetensors only),
no ``_target_`` (a config containing one anywhere is refused; models are built from registry
names), and every missing, unexpected or wrongly shaped key is reported by name and is an error,
except the head's keys when the head is being replaced (new task or class count).
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from signalkit.ensemble import SignalEnsemble, ensemble_size, model_members
from signalkit.errors import ConfigError, ModelError
from signalkit.guard import atomic_path
from signalkit.models import SignalModel, build_model
from signalkit.version import __version__

log = logging.getLogger(__name__)

FORMAT = "signalkit-pretrained"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# config keys that do not change a section's parameters or computation
_NEUTRAL = {"drop_path", "backend", "size"}
_RUNTIME_KEYS = ("pretrained", "lora")


# ------------------------------------------------------------------ config
def _reject_target(obj: Any, where: str, file: Path) -> None:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if str(k) == "_target_":
                raise ModelError(f"{file}: '_target_' at {where or '<root>'}: a pretrained config names registry "
                                 "entries only, it never points to code")
            _reject_target(v, f"{where}.{k}" if where else str(k), file)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _reject_target(v, f"{where}[{i}]", file)


def read_config(folder: str | os.PathLike) -> dict:
    """Read and check ``config.json`` of a pretrained folder (no code, known format)."""
    file = Path(folder) / CONFIG_NAME
    if not file.is_file():
        raise ModelError(f"{file}: missing (a pretrained folder holds {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        cfg = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{file}: not valid JSON ({err})") from None
    if not isinstance(cfg, dict):
        raise ModelError(f"{file}: expected a JSON object")
    _reject_target(cfg, "", file)
    if cfg.get("format") != FORMAT:
        raise ModelError(f"{file}: format is {cfg.get('format')!r}, expected {FORMAT!r}")
    if int(cfg.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelError(f"{file}: format_version {cfg['format_version']} is newer than this signalkit "
                         f"({__version__}) reads ({FORMAT_VERSION}); upgrade signalkit")
    if not isinstance(cfg.get("model"), dict):
        raise ModelError(f"{file}: no 'model' config")
    return cfg


def read_weights(folder: str | os.PathLike) -> dict[str, Tensor]:
    """The state dict of ``model.safetensors``; pickle files are refused, never opened."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    file = folder / WEIGHTS_NAME
    if not file.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES) if folder.is_dir() else []
        hint = f" (found {', '.join(pickles)}: pickle files are never loaded)" if pickles else ""
        raise ModelError(f"{file}: missing{hint}")
    try:
        return load_file(str(file), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelError(f"{file}: not a safetensors file ({str(err).splitlines()[0][:200]}); "
                         "pickle files are never loaded") from None


def _contract(model: SignalModel) -> dict:
    contract = copy.deepcopy(dict(getattr(model, "data_contract", {}) or {}))
    tok = model.config.get("tokenizer", {})
    if "patch_size" in tok:
        contract.setdefault("patch_size", tok["patch_size"])
    contract.setdefault("modality", model.config.get("modality"))
    return contract


def _plain_model_config(model: SignalModel) -> dict:
    cfg = copy.deepcopy(dict(model.config))
    for key in _RUNTIME_KEYS:
        cfg.pop(key, None)
    return cfg


# ------------------------------------------------------------------- save
def save_pretrained(model: SignalModel, folder: str | os.PathLike) -> Path:
    """Write ``config.json`` + ``model.safetensors`` for ``model`` into ``folder``; return it.

    A model with LoRA adapters is saved with the adapters merged into the base weights.
    """
    from safetensors.torch import save_file

    from signalkit.lora import has_lora, merge_lora

    if not isinstance(model, (SignalModel, SignalEnsemble)):
        raise ModelError(f"save_pretrained: expected a SignalModel or SignalEnsemble, got {type(model).__name__}")
    if has_lora(model):
        model = merge_lora(copy.deepcopy(model))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "signalkit_version": __version__,
              "model": _plain_model_config(model), "data_contract": _contract(model)}
    _reject_target(config, "", folder / CONFIG_NAME)
    try:
        text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ModelError(f"{folder / CONFIG_NAME}: model config or data contract is not plain JSON data ({err})") from None
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    # both files are written before either is moved into place (weights first, then the config)
    with atomic_path(folder / CONFIG_NAME) as tmp_c, atomic_path(folder / WEIGHTS_NAME) as tmp_w:
        save_file(state, str(tmp_w), metadata={"format": "pt", "signalkit_version": __version__})
        tmp_c.write_text(text)
    return folder


# ------------------------------------------------------------------- check
def check_state_dict(model: nn.Module, state: Mapping[str, Tensor], source: str,
                     skip_prefixes: Sequence[str] = ()) -> dict[str, Tensor]:
    """The entries of ``state`` to load into ``model``; :class:`ModelError` naming every bad key.

    Keys under ``skip_prefixes`` (the head being replaced) are ignored on both sides.
    """
    def skipped(k: str) -> bool:
        return any(k.startswith(p) for p in skip_prefixes)

    own = {k: v for k, v in model.state_dict().items() if not skipped(k)}
    given = {k: v for k, v in state.items() if not skipped(k)}
    missing = sorted(set(own) - set(given))
    unexpected = sorted(set(given) - set(own))
    shapes = sorted(f"{k} (file {tuple(given[k].shape)}, model {tuple(own[k].shape)})"
                    for k in set(own) & set(given) if tuple(own[k].shape) != tuple(given[k].shape))
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch: {', '.join(shapes)}")
    if problems:
        raise ModelError(f"{source}: " + "; ".join(problems))
    from signalkit.model_bounds import check_weights

    check_weights(own, given, source)
    return given


def _section_diff(saved: dict, model_cfg: dict) -> list[str]:
    """Override strings (``model.backbone.depth=6``) that make ``model_cfg`` match ``saved``."""
    diffs = []
    for key in ("dim", "causal"):
        if saved.get(key) != model_cfg.get(key) and key in saved:
            diffs.append(f"model.{key}={json.dumps(saved[key])}")
    for section in ("tokenizer", "backbone"):
        a, b = dict(saved.get(section, {})), dict(model_cfg.get(section, {}))
        if section == "backbone":  # the model's dim wins over the backbone size's
            a.pop("dim", None), b.pop("dim", None)
        for k in sorted((set(a) | set(b)) - _NEUTRAL):
            if a.get(k) != b.get(k):
                diffs.append(f"model.{section}.{k}={json.dumps(a.get(k))}")
    return diffs


# ------------------------------------------------------------------- load
def load_into(model: SignalModel | SignalEnsemble, name_or_path: str | os.PathLike) -> dict:
    """Load a pretrained folder's tokenizer and backbone (and head when compatible) into ``model``.

    Used for fine-tuning (``model.pretrained=<dir>``): the architecture must match (else a
    :class:`ConfigError` lists the overrides that make it match); the head is loaded when it has
    the same name and shapes, otherwise kept as built (replaced: new task or class count).
    ``model.config["lora"]`` (a dict) then adds LoRA adapters. An ensemble (``model.members: N``)
    loads one pretrained model into every member, or an ensemble of N members member by member.
    Returns ``{"loaded": [...], "head": "loaded" | "replaced", "folder": str}`` (``loaded``: the
    first member's keys).
    """
    from signalkit.pretrained_registry import resolve_pretrained

    folder = resolve_pretrained(name_or_path)
    saved = read_config(folder)["model"]
    members = model_members(model)
    n_saved = ensemble_size(saved)
    if n_saved > 1 and n_saved != len(members):
        raise ConfigError(f"model.members: {folder} holds an ensemble of {n_saved} members, the model has "
                          f"{len(members)}; set model.members={n_saved}")
    diffs = _section_diff(saved, dict(members[0].config))
    if diffs:
        raise ConfigError(f"model.pretrained: {folder} was built with a different architecture; "
                          f"set {' '.join(diffs)}")
    state = read_weights(folder)
    results = []
    for i, member in enumerate(members):
        prefix = f"members.{i}."
        own = ({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)} if n_saved > 1 else state)
        results.append(_load_member(member, own, saved, folder))
    lora = model.config.get("lora")
    if lora:
        from signalkit.lora import apply_lora_config

        for member in members:
            apply_lora_config(member, dict(lora))
    return {**results[0], "folder": str(folder)}


def _load_member(model: SignalModel, state: dict[str, Tensor], saved: dict, folder: Path) -> dict:
    """Load one model's ``state`` (tokenizer, backbone, and the head when it matches)."""
    head_state = {k: v for k, v in state.items() if k.startswith("head.")}
    own_head = {k: v for k, v in model.state_dict().items() if k.startswith("head.")}
    same_head = (saved.get("head", {}).get("name") == model.config.get("head", {}).get("name")
                 and set(head_state) == set(own_head)
                 and all(tuple(head_state[k].shape) == tuple(own_head[k].shape) for k in own_head))
    to_load = check_state_dict(model, state, str(folder / WEIGHTS_NAME), () if same_head else ("head.",))
    result = model.load_state_dict(to_load, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    head = "loaded" if same_head else "replaced"
    log.info("loaded %d tensors from %s (head %s)", len(to_load), folder, head)
    return {"loaded": sorted(to_load), "head": head}


def _channel_contract(contract: dict, channels: Sequence[str] | Mapping[str, Sequence[float]],
                      ch_types: Sequence[str] | None) -> dict:
    from signalkit.io.montage import montage_positions

    if isinstance(channels, Mapping):
        names = [str(n) for n in channels]
        pos = [[float(v) for v in p] for p in channels.values()]
    else:
        names = [str(n) for n in channels]
        xyz = montage_positions(names, "standard_1005")
        pos = [[None if v != v else float(v) for v in p] for p in xyz]
    out = dict(contract)
    out.update(channels=names, positions=pos,
               ch_types=list(ch_types) if ch_types is not None else ["eeg"] * len(names))
    return out


def from_pretrained(name_or_path: str | os.PathLike, num_classes: int | None = None,
                    channels: Sequence[str] | Mapping[str, Sequence[float]] | None = None,
                    head: Mapping[str, Any] | None = None, ch_types: Sequence[str] | None = None,
                    data_contract: Mapping[str, Any] | None = None) -> SignalModel:
    """Build a model from a pretrained folder, Hub id or registered name (eval mode).

    Args:
        num_classes: a new class count: the decoding head's classifier is re-initialised (a
            non-decoding head, e.g. reconstruction, is replaced by a fresh decoding head).
        channels: a new channel set: names (positions from the standard 10-05 montage) or
            ``{name: (x, y, z) metres}``; the sensor tokenizer is montage-agnostic, so only the
            data contract changes.
        head: a whole new head config (``{"name": "decoding", "num_classes": 4, ...}``).
        ch_types, data_contract: channel types for ``channels``; contract entries to override.
    """
    from signalkit.pretrained_registry import resolve_pretrained

    folder = resolve_pretrained(name_or_path)
    cfg = read_config(folder)
    model_cfg = copy.deepcopy(cfg["model"])
    try:
        model = build_model(model_cfg, cfg.get("data_contract") or {}, source=str(folder / CONFIG_NAME))
    except ConfigError as err:
        raise ModelError(f"{folder / CONFIG_NAME}: {err}") from None
    state = read_weights(folder)
    model.load_state_dict(check_state_dict(model, state, str(folder / WEIGHTS_NAME)))
    for member in model_members(model):
        _new_head(member, model_cfg, head, num_classes)
    if head is not None or num_classes is not None:
        model.config["head"] = model_members(model)[0].config["head"]
    if num_classes is not None:
        model.data_contract["target_names"] = [str(i) for i in range(int(num_classes))]
    if channels is not None:
        if not model_cfg["tokenizer"].get("virtual_channels", 1):
            n_old = len(model.data_contract.get("channels") or [])
            if n_old and n_old != len(channels):
                raise ModelError(f"{folder / CONFIG_NAME}: tokenizer has virtual_channels=0 (a fixed montage of "
                                 f"{n_old} channels); it cannot take {len(channels)} channels")
        model.data_contract = _channel_contract(model.data_contract, channels, ch_types)
    if data_contract:
        model.data_contract.update(dict(data_contract))
    return model.eval()


def _new_head(model: SignalModel, model_cfg: dict, head: Mapping[str, Any] | None, num_classes: int | None) -> None:
    """Give ``model`` a new head config ``head`` or class count ``num_classes`` (from_pretrained)."""
    from signalkit.heads import create_head

    if head is None and num_classes is not None and not callable(getattr(model.head, "reset_classes", None)):
        head = {"name": "decoding", "num_classes": int(num_classes)}
    if head is not None:
        head = dict(head)
        if "name" not in head:
            raise ConfigError("head: missing 'name'")
        if num_classes is not None:
            head["num_classes"] = int(num_classes)
        dim = int(model_cfg.get("dim") or model_cfg["backbone"].get("dim") or 64)
        kw = {k: v for k, v in head.items() if k != "name"}
        model.head = create_head(head["name"], dim=dim, tokenizer=model.tokenizer, **kw)
        model.config["head"] = head
    elif num_classes is not None and int(num_classes) != getattr(model.head, "num_classes", None):
        model.head.reset_classes(int(num_classes))
        model.config["head"]["num_classes"] = int(num_classes)


def batch_from_contract(model: SignalModel, x: Tensor) -> dict:
    """A sensor batch for ``x (B, C, T)`` with ``pos``/``ch_type`` from the model's data contract."""
    from signalkit.recording import ch_type_ids

    contract = model.data_contract
    names = contract.get("channels") or []
    if x.dim() != 3 or x.shape[1] != len(names):
        raise ModelError(f"batch: x has shape {tuple(x.shape)}, the model's data contract has {len(names)} channels")
    pos = torch.tensor([[0.0 if v is None else float(v) for v in p] for p in contract["positions"]])
    types = torch.from_numpy(ch_type_ids(contract.get("ch_types") or ["eeg"] * len(names)))
    b = x.shape[0]
    return {"x": x, "pos": pos.expand(b, -1, -1).clone(), "ch_type": types.expand(b, -1).clone(),
            "ch_mask": torch.ones(b, len(names), dtype=torch.bool)}


# ------------------------------------------------------------------ export
def export_checkpoint(ckpt_path: str | os.PathLike, out: str | os.PathLike) -> str:
    """Turn a ``signalkit train`` checkpoint into a pretrained folder; returns the folder path.

    The checkpoint is read with ``torch.load(weights_only=True)``; the model is rebuilt from
    ``hyper_parameters.model`` and ``data_contract`` and loaded strictly from the ``model.``
    entries of ``state_dict`` (LoRA adapters are merged).
    """
    from signalkit.checkpointing import load_checkpoint
    from signalkit.guard import check_target, write_marker

    check_target(out, "pretrained", what="out", sources=[ckpt_path])
    ckpt = load_checkpoint(ckpt_path)
    hp = ckpt.get("hyper_parameters") or {}
    if not isinstance(hp.get("model"), dict) or "state_dict" not in ckpt:
        raise ModelError(f"{ckpt_path}: no model config or state_dict (not written by signalkit train)")
    model_cfg = copy.deepcopy(hp["model"])
    lora = model_cfg.pop("lora", None)
    model_cfg.pop("pretrained", None)
    model = build_model(model_cfg, hp.get("data_contract") or {}, source=f"{ckpt_path} (hyper_parameters.model)")
    if lora:
        from signalkit.lora import apply_lora_config

        for member in model_members(model):
            apply_lora_config(member, dict(lora))
    state = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(check_state_dict(model, state, f"{ckpt_path} (state_dict)"))
    folder = save_pretrained(model, out)
    write_marker(folder, "pretrained")
    return str(folder)
