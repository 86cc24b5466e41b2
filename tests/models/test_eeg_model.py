"""SignalModel on sensor batches: any montage, any channel order, named configs."""

from __future__ import annotations

import pytest
import torch

import signalkit
from signalkit.demo import MONTAGE_19, MONTAGE_64
from signalkit.errors import ConfigError
from signalkit.io.montage import montage_positions


def _batch(names, b=2, t=320, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.tensor(montage_positions(names, "standard_1005"), dtype=torch.float32)
    return {"x": torch.randn(b, len(names), t, generator=g), "pos": pos.expand(b, -1, -1),
            "ch_type": torch.zeros(b, len(names), dtype=torch.long),
            "ch_mask": torch.ones(b, len(names), dtype=torch.bool)}


@pytest.mark.parametrize("virtual", [0, 8])
def test_one_model_any_montage(virtual):
    model = signalkit.create_model("eeg_decoder", num_classes=3, virtual_channels=virtual).eval()
    for names in (MONTAGE_19, MONTAGE_64):
        out = model(_batch(names))
        assert out.shape == (2, 3) and torch.isfinite(out).all()


def test_channel_order_does_not_matter_with_virtual_channels():
    model = signalkit.create_model("eeg_decoder", virtual_channels=8).eval()
    batch = _batch(MONTAGE_19)
    perm = torch.randperm(19, generator=torch.Generator().manual_seed(1))
    shuffled = {k: (v[:, perm] if v.dim() > 1 else v) for k, v in batch.items()}
    torch.testing.assert_close(model(batch), model(shuffled), rtol=1e-4, atol=1e-5)


def test_untokenize_returns_signal_shape():
    model = signalkit.create_model("eeg_decoder", virtual_channels=8)
    batch = _batch(MONTAGE_19, t=300)  # not a multiple of the patch size
    out = model.tokenizer.untokenize(model.features(batch), batch)
    assert out.shape == batch["x"].shape


def test_create_model_overrides_and_errors():
    m = signalkit.create_model("eeg_decoder", num_classes=4, depth=1, backbone={"name": "large_kernel"})
    assert m.head.num_classes == 4 and m.config["backbone"]["depth"] == 1
    assert "eeg_decoder" in signalkit.list_models()
    with pytest.raises(ConfigError, match="unknown model"):
        signalkit.create_model("no_such_model")
    with pytest.raises(ConfigError, match="unknown override"):
        signalkit.create_model("eeg_decoder", colour="red")
    with pytest.raises(ConfigError, match="backbone"):
        signalkit.create_model("eeg_decoder", backbone={"name": "nope"})
    with pytest.raises(ConfigError, match="model.head.name: unknown head 'nope'"):
        signalkit.create_model("eeg_decoder", head={"name": "nope"})
    with pytest.raises(ConfigError, match="model.tokenizer: .*unexpected keyword argument 'colour'"):
        signalkit.create_model("eeg_decoder", tokenizer={"colour": "red"})


def test_log_power_embedding_is_unit_free_and_finite_on_padded_channels():
    tok = signalkit.create_model("eeg_decoder", virtual_channels=0).tokenizer
    assert tok.power is not None  # the default decoder embeds each token's log power
    batch = _batch(MONTAGE_19, b=2, t=320)
    patches = tok._patches(batch["x"])
    lin = tok.patch(patches)
    # the log-power part is the same for a signal in volts and the same signal in microvolts
    scaled = tok._patches(batch["x"] * 1e-6)
    torch.testing.assert_close(tok._embed(scaled) - tok.patch(scaled), tok._embed(patches) - lin, rtol=1e-4, atol=1e-4)
    # its value for one token: power(log(ms / mean ms + 1e-3))
    ms = patches.square().mean(-1)
    want = tok.power.weight[:, 0] * torch.log(ms[0, 3, 2] / ms[0].mean() + 1e-3) + tok.power.bias
    torch.testing.assert_close((tok._embed(patches) - lin)[0, 3, 2], want, rtol=1e-4, atol=1e-5)
    batch["x"][:, 5] = 0.0  # a padded (all-zero) channel
    batch["ch_mask"] = batch["ch_mask"].clone()
    batch["ch_mask"][:, 5] = False
    tokens = tok(batch)
    assert torch.isfinite(tokens).all() and bool((tokens[..., 5] == 0).all())
