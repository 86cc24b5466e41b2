"""The default EEG decoder (sensor_filter tokenizer): any montage, padding, channel order, rates,
and a synthetic task with a known answer (lateralised 10 Hz power)."""

from __future__ import annotations

import math

import pytest
import torch

import signalkit
from signalkit.demo import MONTAGE_19, MONTAGE_64
from signalkit.errors import ConfigError
from signalkit.io.montage import montage_positions
from signalkit.models import model_config
from signalkit.tasks import DecodingTask


def _batch(names, b=3, t=320, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.tensor(montage_positions(names, "standard_1005"), dtype=torch.float32)
    return {"x": torch.randn(b, len(names), t, generator=g), "pos": pos.expand(b, -1, -1),
            "ch_type": torch.zeros(b, len(names), dtype=torch.long),
            "ch_mask": torch.ones(b, len(names), dtype=torch.bool)}


def test_default_decoder_is_the_filter_bank_model_on_any_montage_and_length():
    model = signalkit.create_model("eeg_decoder", num_classes=3).eval()
    assert model.config["tokenizer"]["name"] == "sensor_filter"
    for names, t in ((MONTAGE_19, 320), (MONTAGE_64, 640), (MONTAGE_19, 157)):
        out = model(_batch(names, t=t))
        assert out.shape == (3, 3) and torch.isfinite(out).all()
    assert model.tokenizer(_batch(MONTAGE_19)).shape == (3, 16, 8)


def test_padding_and_channel_order_do_not_change_the_output():
    model = signalkit.create_model("eeg_decoder").eval()
    batch = _batch(MONTAGE_19)
    perm = torch.randperm(19, generator=torch.Generator().manual_seed(1))
    shuffled = {k: v[:, perm] for k, v in batch.items()}
    torch.testing.assert_close(model(batch), model(shuffled), rtol=1e-4, atol=1e-5)
    padded = {"x": torch.cat([batch["x"], torch.randn(3, 5, 320)], 1),
              "pos": torch.cat([batch["pos"], torch.rand(3, 5, 3)], 1),
              "ch_type": torch.cat([batch["ch_type"], torch.zeros(3, 5, dtype=torch.long)], 1),
              "ch_mask": torch.cat([batch["ch_mask"], torch.zeros(3, 5, dtype=torch.bool)], 1)}
    torch.testing.assert_close(model(batch), model(padded), rtol=1e-4, atol=1e-5)


def test_channels_without_positions_still_get_distinct_filters():
    tok = signalkit.create_model("eeg_decoder").tokenizer
    batch = {"x": torch.randn(2, 32, 128)}  # no pos: an EEGLAB file without channel locations
    w = tok.spatial_filters(batch)[0]  # (S, C)
    assert w.abs().sum() > 0
    assert torch.linalg.matrix_rank(w).item() == w.shape[0]  # 16 independent filters


def test_kernels_follow_the_sampling_rate_from_the_data_contract():
    for sfreq, kernel, pool in ((128.0, 51, 3), (160.0, 64, 4), (256.0, 102, 6)):
        task = DecodingTask(model=model_config("eeg_decoder"), data_contract={"sfreq": sfreq})
        assert (task.model.tokenizer.kernel_size, task.model.tokenizer.pool) == (kernel, pool)
        assert task.hparams.model["tokenizer"]["sfreq"] == sfreq  # saved: a checkpoint rebuilds the same
    with pytest.raises(ConfigError, match="sfreq"):
        signalkit.create_model("eeg_decoder", tokenizer={"sfreq": -1.0})


def test_flatten_pool_needs_a_fixed_token_grid():
    with pytest.raises(ConfigError, match="flatten"):
        signalkit.create_model("eeg_decoder_lk", head={"pool": "flatten"})
    with pytest.raises(ConfigError, match="pool"):
        signalkit.create_model("eeg_decoder", head={"pool": "max"})


def _lateralised(n, names, sfreq=128.0, t=256, seed=0):
    """Class 0: 11 Hz on C3 and around it; class 1: on C4; 1/f-free white noise everywhere."""
    g = torch.Generator().manual_seed(seed)
    pos = torch.tensor(montage_positions(names, "standard_1005"), dtype=torch.float32)
    y = torch.arange(n) % 2
    src = pos[[names.index("C3"), names.index("C4")]]  # (2, 3)
    gain = torch.exp(-torch.cdist(pos, src).square() / (2 * 0.03**2))  # (C, 2)
    tt = torch.arange(t) / sfreq
    phase = torch.rand(n, 1, generator=g) * 2 * math.pi
    wave = torch.sin(2 * math.pi * 11 * tt + phase)  # (n, t)
    x = 0.7 * torch.randn(n, len(names), t, generator=g)
    x += gain.T[y][:, :, None] * wave[:, None, :] * 1.5
    return {"x": x, "pos": pos.expand(n, -1, -1), "ch_type": torch.zeros(n, len(names), dtype=torch.long)}, y


def test_learns_lateralised_power_and_transfers_to_another_montage():
    torch.manual_seed(0)
    task = DecodingTask(model=model_config("eeg_decoder"), data_contract={"sfreq": 128.0})
    model = task.model
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    train, y = _lateralised(96, list(MONTAGE_64), seed=0)
    for _ in range(15):
        for i in range(0, 96, 16):
            b = {k: v[i:i + 16] for k, v in train.items()}
            loss = torch.nn.functional.cross_entropy(model(b), y[i:i + 16])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        test, yt = _lateralised(64, list(MONTAGE_64), seed=1)
        assert (model(test).argmax(-1) == yt).float().mean() >= 0.9
        # the same sources seen through a 19-channel montage (filters follow the positions)
        test19, y19 = _lateralised(64, list(MONTAGE_19), seed=2)
        assert (model(test19).argmax(-1) == y19).float().mean() >= 0.7


def test_identity_backbone_passes_tokens_through_and_checks_their_shape():
    from signalkit.backbones import create_backbone
    from signalkit.errors import ModelError

    bb = create_backbone("identity", dim=16, depth=0, ndim=1)
    x = torch.randn(2, 16, 8)
    assert bb(x) is x and bb.reparameterize() is bb and bb.num_parameters() == 0
    with pytest.raises(ModelError, match="D=16"):
        bb(torch.randn(2, 8, 8))
