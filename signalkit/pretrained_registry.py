"""Named pretrained models: local folders or Hugging Face Hub repositories.

``resolve_pretrained(name_or_path)`` returns a local folder holding ``config.json`` and
``model.safetensors``:

1. an existing folder path is returned as is;
2. ``hf-hub:<org>/<repo>[@revision]`` downloads that repository's two files (optional extra
   ``hub``: ``pip install 'signalkit-ml[hub]'``);
3. a name registered with :func:`register_pretrained` (a local ``path`` or a ``hub`` id);
4. a sub-folder ``<name>`` of a folder listed in ``SIGNALKIT_PRETRAINED_PATH`` (``:``-separated).

Only ``config.json`` and ``model.safetensors`` are ever downloaded: nothing executable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from signalkit.errors import ModelError
from signalkit.registry import Registry

HUB_PREFIX = "hf-hub:"
HUB_FILES = ("config.json", "model.safetensors")
ENV_PATH = "SIGNALKIT_PRETRAINED_PATH"


@dataclass(frozen=True)
class PretrainedEntry:
    """A registered pretrained model: a local ``path`` or a Hub ``hub`` id (+ ``revision``)."""

    name: str
    path: str | None = None
    hub: str | None = None
    revision: str | None = None
    description: str = ""


PRETRAINED: Registry[PretrainedEntry] = Registry("pretrained model", "model.pretrained")
_REGISTRY = PRETRAINED  # old name, kept for one release


def register_pretrained(name: str, *, path: str | os.PathLike | None = None, hub: str | None = None,
                        revision: str | None = None, description: str = "") -> PretrainedEntry:
    """Register ``name`` -> a local folder (``path``) or a Hub repository id (``hub``)."""
    if (path is None) == (hub is None):
        raise ModelError(f"{name}: register a pretrained model with exactly one of path= or hub=")
    entry = PretrainedEntry(name, str(path) if path is not None else None, hub, revision, description)
    return PRETRAINED.register(name, entry, replace=True)


def list_pretrained() -> list[str]:
    """Registered names plus the sub-folders of ``SIGNALKIT_PRETRAINED_PATH`` holding a config.json."""
    names = set(PRETRAINED.names())
    for root in _search_path():
        if root.is_dir():
            names.update(p.name for p in root.iterdir() if (p / "config.json").is_file())
    return sorted(names)


def _search_path() -> list[Path]:
    return [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]


def resolve_pretrained(name_or_path: str | os.PathLike) -> Path:
    """A local folder for a path, ``hf-hub:`` id or registered name (see module docstring)."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if text.startswith(HUB_PREFIX):
        repo, _, rev = text[len(HUB_PREFIX):].partition("@")
        return download_from_hub(repo, rev or None)
    if text in PRETRAINED:
        entry = PRETRAINED[text]
        if entry.path is not None:
            if not Path(entry.path).is_dir():
                raise ModelError(f"{entry.path}: folder of pretrained model {text!r} does not exist")
            return Path(entry.path)
        return download_from_hub(str(entry.hub), entry.revision)
    for root in _search_path():
        if (root / text / "config.json").is_file():
            return root / text
    if path.exists():
        raise ModelError(f"{path}: a pretrained model is a folder (config.json + model.safetensors), not a file")
    known = ", ".join(list_pretrained()) or "none registered"
    raise ModelError(f"{text}: no such pretrained folder and not a registered pretrained model (known: {known}; "
                     f"or use hf-hub:<org>/<repo>)")


def download_from_hub(repo_id: str, revision: str | None = None) -> Path:
    """Download ``config.json`` and ``model.safetensors`` of a Hub repository; the local folder."""
    try:
        from huggingface_hub import snapshot_download
    except ModuleNotFoundError:
        raise ModelError(f"{HUB_PREFIX}{repo_id}: downloading from the Hugging Face Hub needs the optional "
                         "extra 'hub' (pip install 'signalkit-ml[hub]')") from None
    try:
        folder = snapshot_download(repo_id=repo_id, revision=revision, allow_patterns=list(HUB_FILES))
    except Exception as err:  # network, authentication, unknown repository
        raise ModelError(f"{HUB_PREFIX}{repo_id}: could not download from the Hugging Face Hub "
                         f"({type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}); "
                         "check the network and the repository id, or pass a local folder") from None
    return Path(folder)
