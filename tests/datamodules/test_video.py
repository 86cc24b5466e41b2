"""Clip windows of a video store: splits by clip, strides, scaling, errors; CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signalkit.datamodules.video import VideoDataModule
from signalkit.errors import ConfigError
from signalkit.store import ingest


@pytest.fixture(scope="module")
def clip_store(fake_videos, tmp_path_factory):
    files = sorted(str(p) for p in fake_videos["clips"].glob("*.npy"))
    store = str(tmp_path_factory.mktemp("vstore") / "clips.zarr")
    ingest(files, store, "video", {"layout": "THW", "fps": 25.0}, progress=False)
    return store


def test_windows_split_by_clip_and_scaled(clip_store, fake_videos):
    dm = VideoDataModule(clip_store, t_in=4, t_out=2, stride=3,
                         split={"assign": {"val": ["clip1"], "test": ["clip2"]}}, batch_size=4)
    dm.setup()
    recs = {s: set(d.index["recording"]) for s, d in dm.datasets.items()}
    assert recs == {"train": {"clip0"}, "val": {"clip1"}, "test": {"clip2"}}
    assert len(dm.datasets["train"]) == len(range(0, 30 - 6 + 1, 3))
    item = dm.datasets["test"][1]  # window starting at frame 3 of clip2
    raw = np.load(fake_videos["clips"] / "clip2.npy")
    np.testing.assert_allclose(item["x"][:, 0].numpy(), raw[3:7] / 255.0)
    np.testing.assert_allclose(item["y"][:, 0].numpy(), raw[7:9] / 255.0)
    contract = dm.data_contract()
    assert contract["t_in"] == 4 and contract["channels"] == 1 and contract["fps"] == 25.0


def test_val_from_train_keeps_test_clips_apart(clip_store):
    dm = VideoDataModule(clip_store, t_in=4, t_out=2, split={"fractions": [2, 0, 1], "seed": 0, "val_from_train": 0.2})
    dm.setup()
    test_recs = set(dm.datasets["test"].index["recording"])
    assert len(test_recs) == 1 and not test_recs & set(dm.datasets["train"].index["recording"])
    assert not test_recs & set(dm.datasets["val"].index["recording"])
    for rid, rows in dm.datasets["val"].index.groupby("recording"):
        assert rows["start"].min() >= 24  # last 20 % of 30 frames
        assert dm.datasets["train"].index.query("recording == @rid")["stop"].max() <= 24


def test_clip_shorter_than_window_is_one_clear_line(clip_store):
    with pytest.raises(ConfigError, match=r"^data.t_in: recording clip0 has clips of 30 frames, shorter than "
                                          r"t_in \+ t_out = 25 \+ 10 = 35"):
        VideoDataModule(clip_store, t_in=25, t_out=10).setup()
    with pytest.raises(ConfigError, match=r"^data.store: no store given"):
        VideoDataModule("???")


def test_train_cli_beats_copy_last(tmp_path):
    """Flashing frames (a, 1 - a, a, ...; the future is the frame before last): a tiny model beats
    copy-last-frame by 2x after a short fit."""
    from signalkit.training import train

    rng = np.random.default_rng(0)
    folder = tmp_path / "flash"
    folder.mkdir()
    for k in range(6):
        a = rng.uniform(0.0, 0.3)
        levels = np.where(np.arange(30) % 2 == 0, a, 1 - a)[:, None, None]
        np.save(folder / f"flash{k}.npy", np.broadcast_to(np.round(255 * levels), (30, 8, 8)).astype(np.uint8))
    store = str(tmp_path / "flash.zarr")
    ingest(sorted(str(p) for p in folder.glob("*.npy")), store, "video", {"layout": "THW"}, progress=False)
    out = tmp_path / "run"
    metrics = train([
        "experiment=video/clips", f"data.store={store}", f"output_dir={out}", "data.t_in=4", "data.t_out=2",
        "data.split.fractions=[4,0,2]", "data.batch_size=16", "model.dim=8", "model.tokenizer.hidden=8",
        "model.tokenizer.downsample=1", "model.tokenizer.norm=layer", "model.backbone.depth=1", "trainer.max_epochs=8",
        "trainer.enable_progress_bar=false", "task.lr=1e-2", "task.warmup_epochs=0",
        "task.clamp=false",  # OpenSTL's per-frame MSE is unclamped: equal to mse * pixels only without clamp
    ])
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("test/mse", "test/mse_per_frame_openstl", "test/mae", "test/ssim", "test/psnr", "test/mse_copy_last",
                "test/mse@1", "test/mse@2"):
        assert key in saved, key
    assert saved["test/mse_per_frame_openstl"] == pytest.approx(saved["test/mse"] * 64, rel=1e-5)
    assert metrics["test/mse"] < 0.5 * metrics["test/mse_copy_last"], metrics
    # `signalkit evaluate` of the best checkpoint reports the same numbers, baselines included
    from signalkit.training import evaluate

    ev = evaluate([f"ckpt_path={metrics['best_checkpoint']}"])
    for key in ("test/mse", "test/mse_copy_last", "test/mse@2", "test/copy_last/mse@1"):
        assert ev[key] == pytest.approx(saved[key], rel=1e-5), key
