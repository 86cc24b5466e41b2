"""Red team: a config read from a file (checkpoint, run folder) never runs code named in it.

Every checkpoint here is made of plain strings, dicts and tensors, so it passes
``torch.load(weights_only=True)``; the danger is the ``_target_`` in its stored config, which
``hydra.utils.instantiate`` would call. Each case asserts exit code 2, the one line naming the
checkpoint and the key, and that every file around is unchanged (the victim file intact, no
marker written by an unpickled payload).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from signalkit.errors import ConfigError
from tests.reliability.redteam_utils import one_error_line, run_cli, tree_snapshot

VICTIM_TEXT = "results I must not lose\n"


class _Payload:
    """Unpickling this creates a marker file (it must never be unpickled)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return (Path.touch, (Path(self.marker),))


@pytest.fixture(scope="module")
def base_config() -> dict:
    from signalkit.config import compose, to_plain

    return to_plain(compose("train", ["experiment=eeg/motor_imagery", "data.store=nowhere.zarr"]))


@pytest.fixture
def place(tmp_path):
    """A folder with a victim file, a folder of user files and a pickled .npy payload."""
    (tmp_path / "victim.txt").write_text(VICTIM_TEXT)
    (tmp_path / "userdata").mkdir()
    (tmp_path / "userdata" / "keep.txt").write_text("keep me\n")
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(str(tmp_path / "PWNED"))
    with open(tmp_path / "evil.npy", "wb") as fh:
        np.lib.format.write_array(fh, arr, allow_pickle=True)
    return tmp_path


def _attacks(p) -> dict[str, tuple[str, dict]]:
    """name -> (config key the error must name, patch to the stored config)."""
    opener = {"_target_": "builtins.open", "file": str(p / "victim.txt"), "mode": "w"}
    return {
        "data_open": ("data._target_", {"data": opener}),
        "task_open": ("task._target_", {"task": opener}),
        "numpy_pickle": ("data._target_", {"data": {"_target_": "numpy.load", "file": str(p / "evil.npy"),
                                                    "allow_pickle": True}}),
        "signalkit_ingest": ("data._target_", {"data": {"_target_": "signalkit.store.ingest", "sources": [],
                                                        "store": str(p / "userdata"), "modality": "eeg"}}),
        "module_attribute_walk": ("data._target_", {"data": {"_target_": "signalkit.datamodules.sensor.np.save",
                                                             "file": str(p / "victim.txt"), "arr": [0]}}),
        "nested_in_data": ("data.store._target_", {"data": {"store": opener}}),
        "nested_in_model": ("model.backbone.extra._target_", {"model": {"backbone": {"extra": opener}}}),
        "root_target": ("_target_", {"_target_": "builtins.open"}),
        "partial_key": ("data._partial_", {"data": {"_partial_": True}}),
        "interpolation": ("data.store", {"data": {"store": "${oc.env:HOME}"}}),
    }


def _merge(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "_target_" not in value:
            out[key] = _merge(out[key], value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key in ("data", "task"):
            out[key] = dict(value)  # the attacker replaces the whole node
        else:
            out[key] = value
    return out


def _checkpoint(path, cfg: dict) -> None:
    torch.save({"state_dict": {"model.w": torch.zeros(2)}, "signalkit_config": cfg,
                "hyper_parameters": {"model": cfg.get("model", {})}}, path)
    torch.load(path, weights_only=True)  # the attack passes the pickle guard


CASES = ["data_open", "task_open", "numpy_pickle", "signalkit_ingest", "module_attribute_walk", "nested_in_data",
         "nested_in_model", "root_target", "partial_key", "interpolation"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_cli_refuses_code_in_a_checkpoint_config(place, base_config, case, command, capsys):
    key, patch = _attacks(place)[case]
    cfg = _merge(base_config, patch)
    if command == "predict":
        cfg.setdefault("model", {})["modality"] = "weather"
    ckpt = place / "run" / "checkpoints" / "evil.ckpt"
    ckpt.parent.mkdir(parents=True)
    _checkpoint(ckpt, cfg)
    before = tree_snapshot(place)
    code, err = run_cli([command, f"ckpt_path={ckpt}"], capsys)
    assert code == 2
    one_error_line(err, str(ckpt), key)
    assert tree_snapshot(place) == before
    assert (place / "victim.txt").read_text() == VICTIM_TEXT and not (place / "PWNED").exists()


@pytest.mark.parametrize("case", ["data_open", "task_open", "numpy_pickle", "nested_in_data"])
def test_training_evaluate_api_refuses_code(place, base_config, case):
    from signalkit.training import evaluate

    key, patch = _attacks(place)[case]
    ckpt = place / "evil.ckpt"
    _checkpoint(ckpt, _merge(base_config, patch))
    before = tree_snapshot(place)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        evaluate([f"ckpt_path={ckpt}"])
    assert tree_snapshot(place) == before and not (place / "PWNED").exists()


@pytest.mark.parametrize("override", ["data._target_=builtins.exec", "+data._target_=builtins.exec"])
def test_cli_override_cannot_name_code_either(place, base_config, capsys, override):
    """``signalkit evaluate ... data._target_=builtins.exec``: refused in one line, nothing touched (a
    config by registry name has no ``_target_`` key, and an override never adds one)."""
    ckpt = place / "ok.ckpt"
    _checkpoint(ckpt, base_config)
    before = tree_snapshot(place)
    code, err = run_cli(["evaluate", f"ckpt_path={ckpt}", override], capsys)
    assert code == 2
    one_error_line(err, "data._target_", "no such config key")
    assert tree_snapshot(place) == before


def test_train_config_with_foreign_target_is_refused(place, capsys):
    before = tree_snapshot(place)
    code, err = run_cli(["train", "data._target_=builtins.open", f"+data.file={place / 'victim.txt'}",
                         "+data.mode=w"], capsys)
    assert code == 2
    one_error_line(err, "data._target_", "builtins.open")
    assert tree_snapshot(place) == before


def test_allow_list_is_the_packaged_classes():
    from signalkit.targets import allowed_targets, resolve_target

    data, task = allowed_targets("data"), allowed_targets("task")
    assert "signalkit.datamodules.SignalDataModule" in data and "signalkit.tasks.DecodingTask" in task
    for name in data:
        resolve_target(name, "data", "")
    for name in task:
        resolve_target(name, "task", "")
    with pytest.raises(ConfigError, match="not one of signalkit's task classes"):
        resolve_target("signalkit.datamodules.SignalDataModule", "task", "")


def test_numpy_never_unpickles_a_user_array(place):
    """The video reader's ``.npy`` path: an object array is refused, never unpickled."""
    from signalkit.errors import InputError
    from signalkit.io import read_recording

    before = tree_snapshot(place)
    with pytest.raises(InputError, match="evil.npy"):
        read_recording(place / "evil.npy", "video")
    assert tree_snapshot(place) == before and not (place / "PWNED").exists()
    with pytest.raises(ValueError, match="allow_pickle"):
        np.load(place / "evil.npy")  # numpy's own default (allow_pickle=False), which signalkit keeps


def test_package_never_instantiates_or_unpickles():
    """No ``hydra.utils.instantiate`` / ``allow_pickle=True`` anywhere in the package: configs are
    built through :mod:`signalkit.targets` only, and numpy arrays are never unpickled."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    bad = re.compile(r"allow_pickle\s*=\s*True|\binstantiate\(|import instantiate|hydra\.utils")
    found = []
    for folder in ("signalkit", "datamodules", "tasks", "kernels"):
        for path in (root / folder).rglob("*.py"):
            for no, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if bad.search(code) and "``" not in code:
                    found.append(f"{path.relative_to(root)}:{no}: {line.strip()}")
    assert found == []
