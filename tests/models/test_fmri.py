"""fMRI model configs: volume models build and run, the region decoder, config errors."""

from __future__ import annotations

import pytest
import torch

from signalkit.datamodules.fmri import FMRIDataModule
from signalkit.errors import ConfigError
from signalkit.models import create_model
from signalkit.recording import CH_TYPES
from signalkit.store import open_store


@pytest.mark.parametrize("name", ["fmri_volume", "fmri_forecaster", "fmri_decoder"])
def test_volume_models_build_and_run(name):
    model = create_model(name, dim=16, depth=1, tokenizer={"time_patch": 4} if name == "fmri_volume" else {})
    x = torch.randn(2, 4, 9, 6, 5)
    out = model({"x": x})
    assert out.shape == ((2, 2) if name == "fmri_decoder" else x.shape)
    if name == "fmri_forecaster":  # causal in time: the last frame cannot change earlier outputs
        model.eval()
        x2 = x.clone()
        x2[:, -1] += 5.0
        with torch.no_grad():
            a, b = model({"x": x}), model({"x": x2})
        torch.testing.assert_close(a[:, :-1], b[:, :-1])
        assert not torch.allclose(a[:, -1], b[:, -1])


def test_region_decoder_uses_sensor_tokenizer_with_region_type(synthetic):
    dm = FMRIDataModule(synthetic["store"], mode="region", window_s=16, tmin_s=4, events=["faces", "houses"],
                        split={"by": "subject", "fractions": [0.5, 0.25, 0.25]})
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    ds = open_store(synthetic["store"])[dm.datasets["train"].recordings[0]]
    assert batch["x"].shape[1:] == (16, 8)  # 16 box regions x 8 frames
    torch.testing.assert_close(batch["pos"][0], torch.tensor(ds["region_pos"].values / 1000.0, dtype=torch.float32))
    assert (batch["ch_type"] == CH_TYPES.index("region")).all()
    model = create_model("fmri_region_decoder", dim=16, depth=1)
    assert model(batch).shape == (len(batch["y"]), 2)


def test_volume_model_without_time_patch_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^model\.tokenizer: time_patch is null"):
        create_model("fmri_volume", dim=16, depth=1)
