"""Red team: model configs are bounded before allocation; loaded weights are checked.

A pretrained folder asking for ``depth: 100000`` used to build for a minute until memory ran
out; NaN or int32 weights loaded without a word.
"""

from __future__ import annotations

import json
import time

import pytest
import torch

from signalkit.errors import ModelError
from tests.reliability.redteam_utils import one_error_line, run_cli, tree_snapshot


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    from signalkit.models import create_model
    from signalkit.pretrained import save_pretrained

    folder = tmp_path_factory.mktemp("pre") / "eeg"
    torch.manual_seed(0)
    model = create_model("eeg_decoder_lk", num_classes=2)  # a model whose backbone has a depth
    model.data_contract = {"modality": "eeg", "channels": ["C3", "C4"], "positions": [[0, 0, 0], [0, 0, 0]]}
    save_pretrained(model, folder)
    return folder


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_huge_depth_in_pretrained_config_is_refused_before_building(pretrained, tmp_path):
    from signalkit.pretrained import from_pretrained

    folder = _copy(pretrained, tmp_path / "huge")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model"]["backbone"]["depth"] = 100000
    (folder / "config.json").write_text(json.dumps(cfg))
    before = tree_snapshot(tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(ModelError, match=r"huge/config\.json: the model would have [\d,]+ parameters .*"
                                         r"backbone\.depth=100000.*SIGNALKIT_MAX_PARAMS"):
        from_pretrained(folder)
    assert time.perf_counter() - t0 < 20  # counted on the meta device, never built
    assert tree_snapshot(tmp_path) == before


def test_huge_width_is_refused_too(pretrained, tmp_path):
    from signalkit.pretrained import from_pretrained

    folder = _copy(pretrained, tmp_path / "wide")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model"]["dim"] = 200000
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="parameters"):
        from_pretrained(folder)


@pytest.mark.parametrize("name,depth", [("eeg_decoder_lk", 5), ("weather_afno", 7), ("video_simvp", 6)])
def test_parameter_count_on_meta_equals_the_built_model(name, depth):
    from signalkit.model_bounds import count_parameters
    from signalkit.models import _construct, model_config

    cfg = model_config(name, depth=depth)
    built = _construct(cfg, None)
    real = sum(p.numel() for p in built.parameters()) + sum(b.numel() for b in built.buffers())
    assert count_parameters(lambda c: _construct(c, None), cfg) == real


def test_limit_can_be_lowered_and_raised(monkeypatch):
    from signalkit.models import create_model

    monkeypatch.setenv("SIGNALKIT_MAX_PARAMS", "1000")
    with pytest.raises(ModelError, match="over the limit of 1,000"):
        create_model("eeg_decoder")
    monkeypatch.setenv("SIGNALKIT_MAX_PARAMS", "1e12")
    assert create_model("eeg_decoder").num_parameters() > 1000


def test_cli_train_with_huge_depth_is_one_line(small_store, tmp_path, capsys):
    before = tree_snapshot(tmp_path)
    code, err = run_cli(["train", "experiment=eeg/motor_imagery", "model=eeg_decoder_lk", f"data.store={small_store}",
                         "model.backbone.depth=100000", f"output_dir={tmp_path / 'run'}",
                         "trainer.max_epochs=1"], capsys)
    assert code == 2
    one_error_line(err, "the model would have", "backbone.depth=100000", "SIGNALKIT_MAX_PARAMS")
    after = tree_snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("run")} == before


def test_activation_estimate_refuses_a_batch_that_cannot_fit(monkeypatch):
    from signalkit.model_bounds import activation_bytes, check_activations
    from signalkit.models import create_model

    model = create_model("eeg_decoder_lk", num_classes=2)  # a model whose backbone has a depth
    batch = {"x": torch.zeros(2, 19, 640), "pos": torch.zeros(2, 19, 3), "ch_type": torch.zeros(2, 19, dtype=torch.long),
             "ch_mask": torch.ones(2, 19, dtype=torch.bool)}
    small = activation_bytes(model, batch)
    assert small > 2 * 19 * 640 * 4  # at least the tokens of the batch
    assert activation_bytes(model, {k: v.repeat(4, *([1] * (v.dim() - 1))) for k, v in batch.items()}) == 4 * small
    assert check_activations(model, batch) == small
    with pytest.raises(ModelError, match="GiB of activations.*SIGNALKIT_MAX_ACTIVATION_GB"):
        check_activations(model, batch, limit_gb=small / 2**30 / 2)
    assert next(model.parameters()).device.type == "cpu"  # the model itself is untouched


def _with_weight(folder, key_pick, make):
    from safetensors.torch import load_file, save_file

    state = load_file(str(folder / "model.safetensors"))
    key = key_pick(state)
    state[key] = make(state[key])
    save_file(state, str(folder / "model.safetensors"))
    return key


def _first_float(state):
    return sorted(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)[0]


def test_nan_weights_are_refused_naming_the_tensor(pretrained, tmp_path):
    from signalkit.pretrained import from_pretrained

    folder = _copy(pretrained, tmp_path / "nan")

    def poison(v):
        v = v.clone()
        v.view(-1)[0] = float("nan")
        return v

    key = _with_weight(folder, _first_float, poison)
    before = tree_snapshot(tmp_path)
    with pytest.raises(ModelError, match=rf"NaN or Inf in the weights: {key} \(1 of"):
        from_pretrained(folder)
    assert tree_snapshot(tmp_path) == before


def test_int32_weights_are_refused_naming_the_dtype(pretrained, tmp_path):
    from signalkit.pretrained import from_pretrained

    folder = _copy(pretrained, tmp_path / "int")
    key = _with_weight(folder, _first_float, lambda v: v.to(torch.int32))
    with pytest.raises(ModelError, match=rf"wrong dtype: {key} \(file int32, model float32\)"):
        from_pretrained(folder)


def test_checkpoint_weights_are_checked_on_load(tmp_path):
    from signalkit.models import create_model
    from signalkit.checkpointing import load_task_weights

    model = create_model("eeg_decoder_lk", num_classes=2)  # a model whose backbone has a depth
    state = {k: v.clone() for k, v in model.state_dict().items()}
    key = _first_float(state)
    state[key].view(-1)[0] = float("inf")
    with pytest.raises(ModelError, match=rf"x\.ckpt \(state_dict\): NaN or Inf in the weights: {key}"):
        load_task_weights(model, {"state_dict": state}, str(tmp_path / "x.ckpt"))
