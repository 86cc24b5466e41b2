"""Old import paths and config names of the tasks layer keep working (and warn)."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest


@pytest.mark.parametrize("old, new", [("signalkit.augment", "signalkit.tasks.augment"),
                                      ("signalkit.masking", "signalkit.tasks.masking")])
def test_moved_modules_are_the_new_ones_and_warn(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
    assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)


def test_fmri_module_reexports_the_split_tasks():
    import signalkit.tasks as tasks

    sys.modules.pop("signalkit.tasks.fmri", None)
    tasks.__dict__.pop("fmri", None)  # an earlier import (tests/tasks/test_fmri.py) left the attribute
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fmri = importlib.import_module("signalkit.tasks.fmri")  # re-executes: `from ... import` would reuse the attribute
    import signalkit.tasks as tasks
    assert fmri.FMRIDecodingTask is tasks.FMRIDecodingTask
    assert fmri.FMRIForecastingTask is tasks.FMRIForecastingTask
    assert fmri.FMRIReconstructionTask is tasks.FMRIReconstructionTask
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_models_video_rollout_alias():
    from signalkit import models_video
    from signalkit.tasks.video_forecasting import forecast_frames

    with pytest.warns(DeprecationWarning, match="forecast_frames"):
        assert models_video.rollout is forecast_frames
    with pytest.raises(AttributeError):
        models_video.no_such_name  # noqa: B018


def test_old_weather_task_config_name_composes_the_same_task():
    from signalkit.config import compose

    old = compose("train", ["task=forecasting_weather"]).task
    new = compose("train", ["task=weather_forecasting"]).task
    assert dict(old) == dict(new)
    assert new["name"] == "weather_forecasting" and new["rollout_steps"] == 1
