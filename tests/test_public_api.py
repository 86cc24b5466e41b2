"""Every public import path of signalkit 0.x keeps working (directly or through a deprecation shim).

The module list is every module under ``signalkit/``, ``datamodules/``, ``tasks/`` and ``kernels/`` at
commit 7c4a169 (before the issue #19 layout change); the names are each package's ``__all__`` there and
the names README's Python API and plot examples use. A moved module keeps a thin shim at its old path that
re-exports from the new place and emits a ``DeprecationWarning`` for one release; this test accepts the
warning and fails on anything else. The imports run in one child process, so that importing every module
(registrations included) does not change what the other tests of this session see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

from tests.support import REPO_ROOT

MODULES = """
signalkit signalkit.archive signalkit.augment signalkit.backbones signalkit.backbones.common
signalkit.backbones.convssm signalkit.backbones.frequency signalkit.backbones.hyena signalkit.backbones.large_kernel
signalkit.backbones.pfg signalkit.backbones.registry signalkit.backbones.reparam signalkit.backbones.ssm
signalkit.baselines signalkit.baselines.fc signalkit.checkpointing signalkit.cli signalkit.config
signalkit.datamodules signalkit.datamodules.chunk_reader signalkit.datamodules.collate signalkit.datamodules.fmri
signalkit.datamodules.loaders signalkit.datamodules.samplers signalkit.datamodules.sensor
signalkit.datamodules.shared_batches signalkit.datamodules.splits signalkit.datamodules.video
signalkit.datamodules.weather signalkit.datamodules.weather_windows signalkit.datamodules.windows signalkit.demo
signalkit.errors signalkit.heads signalkit.heads.decoding signalkit.heads.forecast_field signalkit.heads.frames
signalkit.heads.reconstruction signalkit.heads.volume signalkit.io signalkit.io.fmri_preprocess signalkit.io.identity
signalkit.io.mne_preprocess signalkit.io.mne_reader signalkit.io.montage signalkit.io.nifti signalkit.io.video
signalkit.io.weather signalkit.io.weather_names signalkit.kernels signalkit.kernels.backend signalkit.kernels.dwconv
signalkit.kernels.dwconv.banded signalkit.kernels.dwconv.reference signalkit.kernels.dwconv.triton
signalkit.kernels.fftconv signalkit.kernels.fftconv.afno signalkit.kernels.fftconv.afno_reference
signalkit.kernels.fftconv.afno_triton signalkit.kernels.fftconv.reference signalkit.kernels.fftconv.triton
signalkit.kernels.selective_scan signalkit.kernels.selective_scan.chunked signalkit.kernels.selective_scan.reference
signalkit.kernels.selective_scan.triton signalkit.kernels.validation signalkit.lora signalkit.masking signalkit.metrics
signalkit.metrics.video signalkit.metrics.weather signalkit.models signalkit.models_video signalkit.moving_mnist
signalkit.plot signalkit.plot.backbones signalkit.plot.benchmarks signalkit.plot.classification signalkit.plot.sensors
signalkit.plot.training signalkit.plot.weather signalkit.plot_fmri signalkit.plot_video signalkit.plot_weather
signalkit.predict signalkit.pretrained signalkit.pretrained_registry signalkit.recording signalkit.registry
signalkit.store signalkit.synthetic_fmri signalkit.tasks signalkit.tasks.base signalkit.tasks.decoding
signalkit.tasks.fmri signalkit.tasks.forecasting signalkit.tasks.reconstruction signalkit.tasks.video_forecasting
signalkit.time_budget signalkit.tokenizers signalkit.tokenizers.field signalkit.tokenizers.frames
signalkit.tokenizers.sensor signalkit.tokenizers.volume signalkit.training signalkit.version
""".split()

NAMES: dict[str, list[str]] = {
    # README "Python API"
    "signalkit": ["__version__", "open_store", "ingest", "read_recording", "create_model", "list_models",
                  "SignalModel", "SignalEnsemble", "save_pretrained", "from_pretrained", "create_backbone", "list_backbones",
                  "SignalkitError"],
    "signalkit.io": ["read_recording"],
    "signalkit.store": ["SCHEMA_VERSION", "Store", "config_hash", "ingest", "open_store", "write_recording"],
    "signalkit.training": ["train"],
    # README "Notebooks and plots"
    "signalkit.plot": ["plot_topomap", "plot_class_difference_topomap", "plot_confusion_matrix",
                       "plot_training_curves", "plot_rmse_vs_lead", "plot_receptive_fields", "plot_speed_curves"],
    # __all__ of each package at 7c4a169
    "signalkit.datamodules": ["SignalDataModule", "WeatherDataModule", "WindowDataset", "build_sensor_index",
                              "split_index"],
    "signalkit.kernels": ["BACKENDS", "ENV_VAR", "KernelError", "afno_mlp", "afno_mlp_reference", "dwconv",
                          "dwconv_reference", "fftconv", "fftconv_reference", "interpret_mode", "resolve_backend",
                          "selective_scan", "selective_scan_reference"],
    "signalkit.kernels.dwconv": ["dwconv", "dwconv_reference", "conv_padding"],
    "signalkit.kernels.fftconv": ["fftconv", "fftconv_reference", "afno_mlp", "afno_mlp_reference", "fft_size",
                                  "next_fast_len"],
    "signalkit.kernels.selective_scan": ["selective_scan", "selective_scan_chunked", "selective_scan_reference",
                                         "expand_groups"],
    "signalkit.kernels.selective_scan.chunked": ["selective_scan_chunked", "chunk_length"],
    "signalkit.archive": ["extract_archive"],
    "signalkit.backbones": ["Backbone", "count_flops", "create_backbone", "list_backbones", "register_backbone"],
    "signalkit.baselines": ["fc_baseline", "fc_features"],
    "signalkit.heads": ["DecodingHead", "HEADS", "create_head", "register_head"],
    "signalkit.io.weather": ["EXTENSIONS", "open_weather", "read_weather"],
    "signalkit.metrics": ["acc", "area_weights", "bias", "lat_weights", "rmse"],
    "signalkit.tokenizers": ["SensorTokenizer", "TOKENIZERS", "create_tokenizer", "register_tokenizer"],
    "signalkit.tasks": ["BaseTask", "DecodingTask", "NonFiniteLossError", "ReconstructionTask",
                        "VideoForecastingTask", "WeatherForecastingTask"],
}

_CHILD = r"""
import importlib, json, os, sys, warnings
os.environ.setdefault("TRITON_INTERPRET", "1")
modules, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for mod in modules:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            m = importlib.import_module(mod)
            missing = [n for n in names.get(mod, []) if not hasattr(m, n)]
            err = f"missing names: {missing}" if missing else None
        except Exception as e:  # noqa: BLE001 - reported per module
            err = f"{type(e).__name__}: {e}"
    out[mod] = {"error": err, "deprecated": any(issubclass(w.category, DeprecationWarning) for w in caught)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def imported() -> dict:
    """``{module: {"error": str | None, "deprecated": bool}}`` from importing every module in a child process."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(MODULES), json.dumps(NAMES)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_lists_name_real_modules():
    assert len(MODULES) == len(set(MODULES)) == 106  # every .py file under the four roots at 7c4a169
    assert set(NAMES) <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_old_import_path_still_imports(imported, module):
    assert imported[module]["error"] is None, f"{module}: {imported[module]['error']}"


def test_registries_and_builders_are_public_where_readme_says():
    """``TASKS``/``create_task`` in ``signalkit.tasks``, ``DATA_MODULES``/``create_datamodule`` in
    ``signalkit.datamodules``, and both builders at ``signalkit.*`` beside ``create_model``."""
    import signalkit
    import signalkit.datamodules as dm
    import signalkit.tasks as tasks
    from signalkit.datamodules.registry import DATA_MODULES, create_datamodule
    from signalkit.registry import Registry
    from signalkit.tasks.registry import TASKS, create_task

    assert tasks.TASKS is TASKS and tasks.create_task is create_task and signalkit.create_task is create_task
    assert dm.DATA_MODULES is DATA_MODULES and dm.create_datamodule is create_datamodule
    assert signalkit.create_datamodule is create_datamodule
    assert {"TASKS", "create_task", "BaseTaskOptions"} <= set(tasks.__all__)
    assert {"DATA_MODULES", "create_datamodule"} <= set(dm.__all__)
    assert {"create_task", "create_datamodule"} <= set(signalkit.__all__)
    assert isinstance(TASKS, Registry) and isinstance(DATA_MODULES, Registry)
    assert TASKS.get_builder("decoding") is tasks.DecodingTask
    assert DATA_MODULES.get_builder("eeg") is dm.SignalDataModule
    assert DATA_MODULES.get_builder("weather") is dm.WeatherDataModule
    assert {"decoding", "reconstruction", "weather_forecasting", "video_forecasting"} <= set(TASKS.names())


def test_readme_python_api_runs_through_the_old_names():
    """The README's Python API names resolve to callables in this process too (lazy ``signalkit.*``)."""
    import signalkit
    from signalkit.datamodules import SignalDataModule
    from signalkit.io import read_recording
    from signalkit.store import ingest, open_store
    from signalkit.training import train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for obj in (signalkit.create_model, signalkit.save_pretrained, signalkit.from_pretrained, read_recording,
                    ingest, open_store, SignalDataModule, train):
            assert callable(obj)
