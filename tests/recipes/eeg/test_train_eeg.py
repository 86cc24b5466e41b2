"""End to end from the CLI: ingest, train, test, evaluate; the decoder learns the synthetic task."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from signalkit.cli import main
from signalkit.demo import make_motor_imagery
from signalkit.store import open_store


def test_train_learns_motor_imagery_and_evaluates(mi_store, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "experiment=eeg/motor_imagery", f"data.store={mi_store}", f"output_dir={out}",
                 "trainer.max_epochs=8", "data.batch_size=8", "trainer.enable_progress_bar=false"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    # cross-subject test split (1 held-out subject): the lateralised mu/beta cue is learnt
    assert metrics["test/balanced_accuracy"] >= 0.9
    for key in ("test/accuracy", "test/cohen_kappa", "test/f1_macro", "test/auroc", "val/balanced_accuracy"):
        assert key in metrics
    assert (out / "config.yaml").exists() and (out / "metrics.csv").exists()
    last = out / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, map_location="cpu", weights_only=True)  # no pickle needed
    assert ckpt["signalkit_config"]["data"]["store"] == mi_store
    capsys.readouterr()
    assert main(["evaluate", f"ckpt_path={last}"]) == 0
    evaluated = json.loads((out / "evaluate_test.json").read_text())
    # last.ckpt (8 epochs) scores the held-out subject as the best checkpoint does: learnt, not chance (0.5)
    # (seeds 0 / 1 / 2: 1.000 / 0.979 / 1.000)
    assert evaluated["test/balanced_accuracy"] >= 0.85, evaluated


def test_mixed_montages_in_one_run(mi_edf_dir, tmp_path, capsys):
    make_motor_imagery(tmp_path / "mi64", n_subjects=2, n_trials=8, montage="64", seed=5, first_subject=11)
    store = str(tmp_path / "mixed.zarr")
    from signalkit.io import expand_sources
    from signalkit.store import ingest

    ingest(expand_sources(mi_edf_dir, "eeg") + expand_sources(tmp_path / "mi64", "eeg"), store, "eeg", progress=False)
    sizes = {open_store(store)[r].sizes["channel"] for r in open_store(store)}
    assert sizes == {19, 64}
    out = tmp_path / "run"
    code = main(["train", "experiment=eeg/motor_imagery", f"data.store={store}", f"output_dir={out}",
                 "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "data.split.assign={test: ['11'], val: ['05']}"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(metrics["test/loss"])
    # the reported balanced accuracy is the one of the model's own predictions on the held-out subject
    last = out / "checkpoints" / "last.ckpt"
    capsys.readouterr()
    assert main(["evaluate", f"ckpt_path={last}"]) == 0
    reported = json.loads((out / "evaluate_test.json").read_text())["test/balanced_accuracy"]
    assert reported == pytest.approx(_balanced_accuracy_of_predictions(last), abs=1e-6)
    # one model for both montages: its data contract carries every channel of the store, each with its
    # position and normalisation (one epoch does not learn the 64-channel subject: 0.50 after 8 epochs on seed 0)
    contract = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu",
                          weights_only=True)["hyper_parameters"]["data_contract"]
    st = open_store(store)
    names = set().union(*(map(str, st[r]["channel"].values) for r in st))
    assert len(names) == 64 and set(contract["channels"]) == names and len(contract["channels"]) == 64
    assert len(contract["positions"]) == 64 and set(contract["normalization"]) == names


def _balanced_accuracy_of_predictions(ckpt_path) -> float:
    """Mean per-class recall of ``ckpt_path``'s predictions on its test split, recomputed by hand."""
    from signalkit.tasks import DecodingTask
    from signalkit.training import build_datamodule

    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    dm = build_datamodule(ckpt["signalkit_config"]["data"])
    dm.setup("test")
    task = DecodingTask.load_from_checkpoint(ckpt_path, map_location="cpu").eval()
    preds, ys = [], []
    with torch.no_grad():
        for i, batch in enumerate(dm.test_dataloader()):
            out = task.predict_step(batch, i)
            preds.append(out["pred"].numpy())
            ys.append(out["y"].numpy())
    pred, y = np.concatenate(preds), np.concatenate(ys)
    return float(np.mean([(pred[y == k] == k).mean() for k in np.unique(y)]))
