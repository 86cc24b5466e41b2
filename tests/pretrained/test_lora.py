"""Optional LoRA through peft: a clear error without the extra; adapters train and merge with it."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch

from signalkit.errors import ConfigError
from signalkit.lora import apply_lora, apply_lora_config, has_lora
from signalkit.models import build_model
from signalkit.pretrained import from_pretrained, save_pretrained

from tests.support import sensor_batch, tiny_config

HAS_PEFT = importlib.util.find_spec("peft") is not None


def test_missing_peft_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(ConfigError, match=r"model.lora: .*optional extra 'lora'"):
        apply_lora(build_model(tiny_config()))


def test_unknown_lora_key_is_named():
    with pytest.raises(ConfigError, match="model.lora.rank: unknown key"):
        apply_lora_config(build_model(tiny_config()), {"rank": 4})


@pytest.mark.skipif(not HAS_PEFT, reason="peft (extra 'lora') is not installed")
def test_lora_trains_adapters_only_and_merges(tmp_path, names19):
    model = build_model(tiny_config())
    apply_lora(model, r=2, alpha=4, target_modules=["fc1", "fc2"])
    assert has_lora(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert any(n.startswith("head.") for n in trainable)
    # make the adapters non-trivial, then check that saving merges them exactly
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.1)
    model.eval()
    batch = sensor_batch(names19)
    with torch.no_grad():
        expected = model(batch)
    folder = save_pretrained(model, tmp_path / "lora")
    loaded = from_pretrained(folder)
    assert not has_lora(loaded)
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not HAS_PEFT, reason="peft (extra 'lora') is not installed")
def test_model_lora_config_applies_after_loading_pretrained(tmp_path):
    from signalkit.pretrained import load_into

    folder = save_pretrained(build_model(tiny_config()), tmp_path / "base")
    cfg = tiny_config({"name": "decoding", "num_classes": 3})
    cfg["lora"] = {"r": 2, "target_modules": ["fc1"]}
    model = build_model(cfg)
    assert load_into(model, folder)["head"] == "replaced"
    lora_names = [n for n, _ in model.named_parameters() if "lora_" in n]
    assert lora_names and all(".mlp.fc1." in n for n in lora_names)
