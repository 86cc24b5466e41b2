"""`signalkit train` end to end: pretrain -> checkpoint (weights_only) -> export -> fine-tune."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from signalkit.cli import main as cli_main
from signalkit.pretrained import batch_from_contract, from_pretrained
from signalkit.tasks import ReconstructionTask
from signalkit.training import train

pytestmark = pytest.mark.usefixtures("torch_seed")  # as in tests/pretrained/, where these started

TINY = ["model.dim=16", "model.tokenizer.virtual_channels=4", "model.backbone.depth=1",
        "model.backbone.kernel_size=7", "model.backbone.small_kernel=3", "model.backbone.mlp_ratio=2.0",
        "trainer=debug", "trainer.max_epochs=1", "data.batch_size=4", "data.split.fractions=[0.34,0.33,0.33]"]


def test_pretrain_export_finetune(tiny_store, tmp_path):
    metrics = train(["experiment=eeg/pretrain", f"data.store={tiny_store}", f"output_dir={tmp_path / 'pre'}", *TINY])
    assert "test/nmse" in metrics and metrics["test/loss"] > 0
    ckpt_path = metrics["best_checkpoint"]
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)  # no pickle needed
    assert ckpt["hyper_parameters"]["model"]["head"]["name"] == "reconstruction"
    assert ckpt["hyper_parameters"]["data_contract"]["channels"][8] == "C3"

    out = tmp_path / "exported"
    assert cli_main(["export", f"ckpt_path={ckpt_path}", f"out={out}"]) == 0
    assert cli_main(["export", f"ckpt_path={tmp_path / 'nope.ckpt'}", f"out={out}"]) == 2
    model = from_pretrained(out)
    task = ReconstructionTask(model=ckpt["hyper_parameters"]["model"])
    task.load_state_dict(ckpt["state_dict"])
    task.eval()
    batch = batch_from_contract(model, torch.randn(2, 19, 640))
    with torch.no_grad():
        assert torch.equal(model(batch), task.model(batch))

    fine = train(["experiment=eeg/motor_imagery", f"data.store={tiny_store}", f"model.pretrained={out}",
                  "task.freeze_backbone=true", f"output_dir={tmp_path / 'fine'}", *TINY])
    fck = torch.load(fine["best_checkpoint"], map_location="cpu", weights_only=True)
    pre = load_file(str(out / "model.safetensors"))
    state = {k.removeprefix("model."): v for k, v in fck["state_dict"].items()}
    # frozen backbone = the pretrained one; tokenizer loaded (and trained); decoding head is new
    # (BatchNorm running statistics still update in train mode, so only the weights are compared)
    for key, value in pre.items():
        if key.startswith("backbone.") and "running_" not in key and "num_batches" not in key:
            assert torch.equal(state[key], value), key
    assert "head.fc.weight" in state and not any(k.startswith("head.") and k in pre for k in state)
    assert fck["hyper_parameters"]["model"]["pretrained"] == str(out)
