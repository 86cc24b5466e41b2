"""Fixtures for the pretraining / pretrained-format tests: tiny models and a tiny EEG store."""

from __future__ import annotations

import pytest
import torch

from signalkit.demo import MONTAGE_19, MONTAGE_64
from signalkit.io.montage import montage_positions

# a model small enough for one CPU thread (same tokenizer/backbone families as eeg_decoder)
TINY = {"dim": 16, "patch_size": 16, "virtual_channels": 4,
        "backbone": {"name": "large_kernel", "depth": 2, "kernel_size": 7, "small_kernel": 3, "mlp_ratio": 2.0}}


def tiny_config(head: dict | None = None) -> dict:
    """Plain model config of a tiny sensor model with the given head (decoding, 2 classes by default)."""
    return {"name": "tiny", "modality": "eeg", "dim": TINY["dim"], "causal": False,
            "tokenizer": {"name": "sensor", "patch_size": TINY["patch_size"],
                          "virtual_channels": TINY["virtual_channels"]},
            "backbone": dict(TINY["backbone"]),
            "head": dict(head or {"name": "decoding", "num_classes": 2, "pool": "attention"})}


def contract(names: list[str]) -> dict:
    pos = montage_positions(names, "standard_1005")
    return {"modality": "eeg", "sfreq": 160.0, "channels": list(names), "ch_types": ["eeg"] * len(names),
            "positions": [[float(v) for v in p] for p in pos], "normalization": {n: [0.0, 1.0] for n in names},
            "target_names": ["left_hand", "right_hand"]}


def sensor_batch(names: list[str], b: int = 3, t: int = 160, seed: int = 0) -> dict:
    """A batch ``x (B, C, T)`` with the standard positions of ``names``."""
    g = torch.Generator().manual_seed(seed)
    c = len(names)
    pos = torch.tensor(montage_positions(names, "standard_1005"), dtype=torch.float32)
    return {"x": torch.randn(b, c, t, generator=g), "pos": pos.expand(b, c, 3).clone(),
            "ch_type": torch.zeros(b, c, dtype=torch.long), "ch_mask": torch.ones(b, c, dtype=torch.bool)}


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def names64() -> list[str]:
    return list(MONTAGE_64)


@pytest.fixture
def names19() -> list[str]:
    return list(MONTAGE_19)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory) -> str:
    """3 synthetic subjects x 4 trials per class (19 channels), ingested into a zarr store."""
    from signalkit.demo import make_motor_imagery
    from signalkit.store import ingest

    root = tmp_path_factory.mktemp("pretrained_store")
    paths = make_motor_imagery(root / "edf", n_subjects=3, n_trials=4, seed=0)
    return ingest([str(p) for p in paths], str(root / "mi.zarr"), "eeg", {}, progress=False)
