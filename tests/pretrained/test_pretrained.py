"""The pretrained folder: round trip, new channel sets and class counts, strict and safe loading."""

from __future__ import annotations

import json
import pickle
import sys
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from signalkit.errors import ConfigError, ModelError
from signalkit.models import build_model
from signalkit.pretrained import batch_from_contract, from_pretrained, load_into, save_pretrained
from signalkit.pretrained_registry import register_pretrained, resolve_pretrained

from tests.support import contract, sensor_batch, tiny_config

REC_HEAD = {"name": "reconstruction", "decoder_depth": 1, "kernel_size": 3}


@pytest.fixture
def saved(tmp_path, names64) -> tuple[Path, torch.nn.Module]:
    model = build_model(tiny_config(), contract(names64)).eval()
    return save_pretrained(model, tmp_path / "m"), model


def test_round_trip_gives_identical_outputs(saved, names64):
    folder, model = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = from_pretrained(folder)
    batch = sensor_batch(names64)
    with torch.no_grad():
        assert torch.equal(model(batch), loaded(batch))
    assert not loaded.training


def test_config_holds_registry_names_and_contract(saved, names64):
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["format"] == "signalkit-pretrained" and cfg["format_version"] == 1
    assert cfg["signalkit_version"]
    assert cfg["model"]["backbone"]["name"] == "large_kernel" and cfg["model"]["head"]["name"] == "decoding"
    dc = cfg["data_contract"]
    assert dc["channels"] == names64 and dc["sfreq"] == 160.0 and dc["patch_size"] == 16
    assert dc["target_names"] == ["left_hand", "right_hand"] and len(dc["positions"]) == 64
    assert "_target_" not in (folder / "config.json").read_text()


def test_new_channel_set(saved, names19):
    folder, model = saved
    m19 = from_pretrained(folder, channels=names19)
    assert m19.data_contract["channels"] == names19 and len(m19.data_contract["positions"]) == 19
    x = torch.randn(2, 19, 160)
    batch = batch_from_contract(m19, x)
    with torch.no_grad():
        out = m19(batch)
        # montage-agnostic: the same weights applied to the 19-channel batch
        assert torch.equal(out, model(batch))
    assert out.shape == (2, 2) and torch.isfinite(out).all()
    with pytest.raises(ModelError, match=r"batch: x has shape \(2, 19, 160\), .* has 64 channels"):
        batch_from_contract(from_pretrained(folder), x)


def test_new_class_count_keeps_the_body(saved, names64):
    folder, model = saved
    m4 = from_pretrained(folder, num_classes=4)
    assert m4(sensor_batch(names64)).shape == (3, 4)
    assert m4.config["head"]["num_classes"] == 4
    for key, value in model.state_dict().items():
        if not key.startswith("head.fc."):
            assert torch.equal(value, m4.state_dict()[key]), key


def test_reconstruction_folder_gets_a_decoding_head(tmp_path, names64):
    rec = build_model(tiny_config(REC_HEAD), contract(names64))
    folder = save_pretrained(rec, tmp_path / "rec")
    clf = from_pretrained(folder, num_classes=3)
    assert type(clf.head).__name__ == "DecodingHead" and clf(sensor_batch(names64)).shape == (3, 3)
    assert torch.equal(clf.backbone.blocks[0].mlp.fc1.weight, rec.backbone.blocks[0].mlp.fc1.weight)


def _edit_weights(folder: Path, fn) -> None:
    state = load_file(str(folder / "model.safetensors"))
    fn(state)
    save_file(state, str(folder / "model.safetensors"))


def test_missing_key_is_named(saved):
    folder, _ = saved
    _edit_weights(folder, lambda s: s.pop("backbone.blocks.1.mlp.fc2.weight"))
    with pytest.raises(ModelError, match=r"missing keys: backbone\.blocks\.1\.mlp\.fc2\.weight"):
        from_pretrained(folder)


def test_unexpected_key_is_named(saved):
    folder, _ = saved
    _edit_weights(folder, lambda s: s.update({"backbone.extra.weight": torch.zeros(3)}))
    with pytest.raises(ModelError, match=r"unexpected keys: backbone\.extra\.weight"):
        from_pretrained(folder)


def test_wrong_shape_is_named(saved):
    folder, _ = saved
    _edit_weights(folder, lambda s: s.update({"tokenizer.patch.weight": torch.zeros(16, 8)}))
    with pytest.raises(ModelError, match=r"shape mismatch: tokenizer\.patch\.weight \(file \(16, 8\), model \(16, 16\)\)"):
        from_pretrained(folder)


class _Boom:
    """Unpickling this would create a marker file (it must never be unpickled)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_is_refused_and_never_run(saved, tmp_path):
    folder, model = saved
    marker = tmp_path / "executed"
    payload = pickle.dumps({"state": _Boom(str(marker))})
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(payload)
    with pytest.raises(ModelError, match=r"model\.safetensors: missing \(found pytorch_model\.bin: pickle"):
        from_pretrained(folder)
    (folder / "model.safetensors").write_bytes(payload)  # a pickle under the safetensors name
    with pytest.raises(ModelError, match="not a safetensors file"):
        from_pretrained(folder)
    assert not marker.exists()


def test_target_anywhere_in_config_is_refused(saved):
    folder, _ = saved
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model"]["backbone"]["extra"] = [{"_target_": "os.system"}]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=r"'_target_' at model\.backbone\.extra\[0\]"):
        from_pretrained(folder)


def test_load_into_replaces_the_head_and_checks_architecture(tmp_path, names64):
    rec = build_model(tiny_config(REC_HEAD), contract(names64))
    folder = save_pretrained(rec, tmp_path / "rec")
    clf = build_model(tiny_config({"name": "decoding", "num_classes": 5}))
    report = load_into(clf, folder)
    assert report["head"] == "replaced"
    assert all(k.startswith(("tokenizer.", "backbone.")) for k in report["loaded"])
    for key, value in rec.state_dict().items():
        if not key.startswith("head."):
            assert torch.equal(value, clf.state_dict()[key]), key
    same = build_model(tiny_config(REC_HEAD))
    assert load_into(same, folder)["head"] == "loaded"
    other = tiny_config()
    other["backbone"]["depth"] = 1
    with pytest.raises(ConfigError, match=r"model.pretrained: .* set model\.backbone\.depth=2"):
        load_into(build_model(other), folder)


def test_registry_names_and_hub_errors(saved, monkeypatch, tmp_path):
    folder, _ = saved
    register_pretrained("tiny-test-model", path=folder, description="test")
    assert resolve_pretrained("tiny-test-model") == folder
    monkeypatch.setenv("SIGNALKIT_PRETRAINED_PATH", str(folder.parent))
    assert resolve_pretrained("m") == folder
    with pytest.raises(ModelError, match="no-such-model: no such pretrained folder"):
        from_pretrained("no-such-model")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ModelError, match=r"hf-hub:org/repo: .*optional extra 'hub'"):
        resolve_pretrained("hf-hub:org/repo")

    def offline(**kw):
        raise OSError("network is unreachable")

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(snapshot_download=offline))
    with pytest.raises(ModelError, match="could not download from the Hugging Face Hub .*network is unreachable"):
        resolve_pretrained("hf-hub:org/repo@v1")
