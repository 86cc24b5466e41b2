"""Tasks and data modules by registry name: ``task.name``/``data.name``, old ``_target_`` configs, errors."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from signalkit.datamodules.registry import DATA_MODULES
from signalkit.errors import ConfigError
from signalkit.models import model_config
from signalkit.targets import allowed_targets, build_target
from signalkit.tasks import DecodingTask, WeatherForecastingTask
from signalkit.tasks.registry import TASKS, create_task


def _packaged_names(kind: str) -> set[str]:
    out = set()
    for entry in (files("signalkit.configs") / kind).iterdir():
        node = yaml.safe_load(entry.read_text()) if entry.name.endswith(".yaml") else None
        if isinstance(node, dict) and "name" in node:
            out.add(node["name"])
    return out


def test_every_packaged_config_names_a_registered_class_and_every_class_has_a_config():
    assert _packaged_names("task") == set(TASKS.names())
    assert _packaged_names("data") == set(DATA_MODULES.names())
    assert TASKS.get_builder("forecasting_weather") is WeatherForecastingTask  # the old config name


def test_create_task_by_name_builds_the_registered_class():
    task = create_task("decoding", model=model_config("eeg_decoder", num_classes=3), data_contract={"sfreq": 128.0})
    assert type(task) is DecodingTask and task.model.head.fc.out_features == 3


def test_a_config_node_by_name_and_an_old_target_node_build_the_same_class():
    kw = {"model": model_config("eeg_decoder", num_classes=2), "data_contract": {"sfreq": 128.0}}
    new = build_target({"name": "decoding", "lr": 3e-4}, "task", **kw)
    for target in ("signalkit.tasks.DecodingTask", "signalkit.tasks.decoding.DecodingTask"):
        old = build_target({"_target_": target, "lr": 3e-4}, "task", **kw)
        assert type(old) is type(new) is DecodingTask and old.hparams.lr == new.hparams.lr == 3e-4
    # the allow-list is the registered classes' paths, nothing else
    assert allowed_targets("task") == {f"{c.__module__}.{c.__qualname__}" for c in map(TASKS.get_builder, TASKS.names())} \
        | {f"signalkit.tasks.{TASKS.get_builder(n).__name__}" for n in TASKS.names()}
    assert "signalkit.datamodules.SignalDataModule" in allowed_targets("data")


@pytest.mark.parametrize("node, message", [
    ({"name": "decodeing"}, r"^task\.name: unknown task 'decodeing' \(known: decoding, fmri_decoding, .*\)$"),
    ({"lr": 1e-3}, r"^task\.name: missing \(one of decoding, "),
    ({"name": 3}, r"^task\.name: expected a task name"),
    ({"name": "decoding", "_target_": "signalkit.tasks.DecodingTask"}, r"^task: give task\.name or the older task\._target_, not both$"),
    ({"_target_": "signalkit.tasks.base.BaseTask"}, r"^task\._target_: 'signalkit\.tasks\.base\.BaseTask' is not one of signalkit's task classes"),
    ({"_target_": "builtins.open"}, r"^task\._target_: 'builtins\.open' is not one of"),
    ({"name": "decoding", "no_such_option": 1}, r"^task: .*no_such_option"),
])
def test_bad_task_nodes_are_one_config_error_naming_the_key(node, message):
    with pytest.raises(ConfigError, match=message):
        build_target(node, "task", model=model_config("eeg_decoder", num_classes=2), data_contract={"sfreq": 128.0})


def test_unknown_data_module_name_lists_the_choices():
    with pytest.raises(ConfigError, match=r"^data\.name: unknown data module 'eg' \(known: eeg, fmri, moving_mnist, video, weather\)$"):
        build_target({"name": "eg"}, "data")
