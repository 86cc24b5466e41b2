"""``model.members``: an ensemble over seeds (signalkit.ensemble) through the model, DecodingTask, fine-tuning
and the pretrained format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signalkit.ensemble import SignalEnsemble, member_name, model_members
from signalkit.errors import ConfigError
from signalkit.models import build_model, model_config
from tests.support import sensor_batch, tiny_config

NAMES = ["C3", "Cz", "C4", "Pz"]


def _ensemble_cfg(n: int = 3) -> dict:
    return {**tiny_config(), "members": n}


def test_forward_is_the_log_of_the_members_mean_probability():
    torch.manual_seed(0)
    model = build_model(_ensemble_cfg(3)).eval()
    assert isinstance(model, SignalEnsemble) and len(model_members(model)) == 3
    batch = sensor_batch(NAMES, b=5)
    with torch.no_grad():
        each = model.member_outputs(batch)
        out = model(batch)
    assert each.shape == (3, 5, 2) and out.shape == (5, 2)
    expected = each.softmax(-1).mean(0)
    np.testing.assert_allclose(out.exp().numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.softmax(-1).numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)
    # independently initialised: no two members share their first layer
    w = [dict(m.named_parameters()) for m in model.members]
    name = next(iter(w[0]))
    assert not torch.equal(w[0][name], w[1][name]) and not torch.equal(w[1][name], w[2][name])
    # one member is a plain SignalModel
    assert model_members(build_model(tiny_config()))[0].__class__.__name__ == "SignalModel"
    assert member_name("members.2.head.fc.weight") == "head.fc.weight" and member_name("head.fc") == "head.fc"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_a_bad_member_count_is_a_config_error_naming_the_key(bad):
    with pytest.raises(ConfigError, match="model.members"):
        build_model({**tiny_config(), "members": bad})


def test_a_task_that_trains_one_model_refuses_members():
    from signalkit.tasks import ReconstructionTask

    with pytest.raises(ConfigError, match="model.members"):
        ReconstructionTask(model={**tiny_config({"name": "reconstruction"}), "members": 2})


def test_each_member_is_trained_on_its_own_loss():
    """The training loss is the mean of the members' cross-entropies: member i's gradient is 1/N of the
    gradient of its own loss, whatever the other members output."""
    import torch.nn.functional as F

    from signalkit.tasks import DecodingTask

    torch.manual_seed(0)
    task = DecodingTask(model=_ensemble_cfg(3))
    task.log = task.log_dict = lambda *a, **k: None  # no Trainer here
    batch = {**sensor_batch(NAMES, b=6), "y": torch.tensor([0, 1, 0, 1, 1, 0])}
    task.train()
    task.training_step(batch, 0).backward()
    got = [None if p.grad is None else p.grad.clone() for p in task.model.members[1].parameters()]
    assert sum(g is not None for g in got) > 2
    task.zero_grad()
    member = task.model.members[1]
    (F.cross_entropy(member(batch), batch["y"]) / 3).backward()
    for g, p in zip(got, member.parameters()):
        assert (g is None) == (p.grad is None)
        if g is not None:
            torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-7)


def test_layer_ids_and_freezing_reach_every_member():
    from signalkit.tasks import DecodingTask

    task = DecodingTask(model=_ensemble_cfg(2), freeze_backbone=True, layer_decay=0.5)
    ids = task._layer_ids()
    single = DecodingTask(model=tiny_config())._layer_ids()
    for name, layer in ids.items():
        assert layer == single[member_name(name)], name
    for m in task.model.members:
        assert not any(p.requires_grad for p in m.backbone.parameters())
        assert all(p.requires_grad for p in m.head.parameters())


def _erp_items(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    bump = np.exp(-0.5 * ((np.arange(64) - 20) / 3.0) ** 2)
    topo = np.array([1.0, 0.8, -0.6, 0.4] + [0.0] * 8)
    x = rng.standard_normal((n, 12, 64)) + (2 * y - 1)[:, None, None] * 0.7 * topo[None, :, None] * bump
    pos = torch.from_numpy((rng.standard_normal((12, 3)) * 0.05).astype(np.float32))
    return [{"x": torch.from_numpy(x[i].astype(np.float32)), "pos": pos, "ch_type": torch.zeros(12, dtype=torch.long),
             "y": int(y[i])} for i in range(n)], y


def test_a_decoding_ensemble_fits_each_members_closed_form_start_and_learns():
    """eeg_erp with 3 members: on_train_start fits every member's spatial filters and LDA read-out; 3 epochs
    later the ensemble's held-out accuracy is >= 0.9 (the Bayes accuracy of this task is ~0.99)."""
    import lightning as L
    from torch.utils.data import DataLoader

    from signalkit.datamodules.collate import collate_sensor
    from signalkit.tasks import DecodingTask

    L.seed_everything(0, verbose=False)
    items, y = _erp_items(240)
    task = DecodingTask(model=model_config("eeg_erp", num_classes=2, members=3), data_contract={"sfreq": 128.0},
                        lr=1e-3, weight_decay=0.0, warmup_epochs=0)
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(task, DataLoader(items[:160], batch_size=16, shuffle=True, collate_fn=collate_sensor))
    assert [int(m.tokenizer.fit_count) for m in task.model.members] == [12, 12, 12]
    heads = [m.head.fc.weight.detach() for m in task.model.members]
    assert not torch.equal(heads[0], heads[1])  # trained apart (own dropout and start of the EEGNet-free tokens)
    task.eval()
    with torch.no_grad():
        acc = float((task.model(collate_sensor(items[160:])).argmax(-1).numpy() == y[160:]).mean())
    assert acc >= 0.9, acc


def test_pretrained_round_trip_and_fine_tuning_into_an_ensemble(tmp_path):
    from signalkit.pretrained import from_pretrained, load_into, save_pretrained

    torch.manual_seed(0)
    ens = build_model(_ensemble_cfg(3), {"sfreq": 160.0}).eval()
    save_pretrained(ens, tmp_path / "ens")
    back = from_pretrained(tmp_path / "ens")
    batch = sensor_batch(NAMES)
    with torch.no_grad():
        torch.testing.assert_close(back(batch), ens(batch))
    assert isinstance(back, SignalEnsemble) and back.config["members"] == 3
    # a new class count reaches every member
    four = from_pretrained(tmp_path / "ens", num_classes=4)
    with torch.no_grad():
        assert four(batch).shape == (3, 4)
    assert all(m.head.num_classes == 4 for m in four.members)
    # one pretrained model fine-tuned as an ensemble: every member starts from its weights
    single = build_model(tiny_config())
    save_pretrained(single, tmp_path / "one")
    target = build_model(_ensemble_cfg(2))
    info = load_into(target, tmp_path / "one")
    assert info["head"] == "loaded"
    for m in target.members:
        for k, v in single.state_dict().items():
            torch.testing.assert_close(m.state_dict()[k], v)
    # an ensemble of another size is refused, naming the key
    with pytest.raises(ConfigError, match="model.members=3"):
        load_into(build_model(_ensemble_cfg(2)), tmp_path / "ens")
    # the same size loads member by member
    same = build_model(_ensemble_cfg(3))
    load_into(same, tmp_path / "ens")
    with torch.no_grad():
        torch.testing.assert_close(same.eval()(batch), ens(batch))


def test_the_cli_config_takes_members_for_every_decoding_model():
    from signalkit.config import compose, to_plain
    from signalkit.tasks import DecodingTask

    for name in ("eeg_decoder", "eeg_bandpower", "eeg_erp"):
        cfg = to_plain(compose("train", [f"model={name}", "model.members=2"]).model)
        assert cfg["members"] == 2
        task = DecodingTask(model=cfg, data_contract={"sfreq": 160.0})
        assert isinstance(task.model, SignalEnsemble) and len(task.model.members) == 2


def test_cli_trains_evaluates_and_exports_an_ensemble(mi_store, tmp_path, capsys):
    """`signalkit train ... model.members=2`, then `evaluate` from the checkpoint and `export` to a pretrained
    folder that loads back as the same 2-member ensemble."""
    import json

    from signalkit.cli import main
    from signalkit.pretrained import from_pretrained
    from tests.support import tiny_overrides

    out = tmp_path / "run"
    assert main(["train", *tiny_overrides(mi_store, out), "model.members=2"]) == 0, capsys.readouterr().err
    last = out / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    assert any(k.startswith("model.members.1.") for k in ckpt["state_dict"])
    capsys.readouterr()
    assert main(["evaluate", f"ckpt_path={last}"]) == 0, capsys.readouterr().err
    assert 0.0 <= json.loads((out / "evaluate_test.json").read_text())["test/balanced_accuracy"] <= 1.0
    assert main(["export", f"ckpt_path={last}", f"out={tmp_path / 'pre'}"]) == 0, capsys.readouterr().err
    model = from_pretrained(tmp_path / "pre")
    assert isinstance(model, SignalEnsemble) and len(model.members) == 2
    state = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, state[k])
