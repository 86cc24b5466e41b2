"""Registry, create_backbone validation, named sizes and their config files, FLOP counter."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from signalkit.backbones import backbone_sizes, count_flops, create_backbone, list_backbones, register_backbone
from signalkit.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "model" / "backbone"
EXPECTED = {"large_kernel", "lka", "replk", "pfg", "afno", "gfnet", "hyena", "ssm", "convssm"}


def test_all_families_registered():
    assert EXPECTED <= set(list_backbones())


def test_unknown_name_is_config_error():
    with pytest.raises(ConfigError, match="unknown backbone 'nope'"):
        create_backbone("nope", dim=8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kernel_sze": 7}, "unknown option"),
        ({"ndim": 4}, "ndim"),
        ({"dim": 0}, "dim"),
        ({"kernel_size": 8}, "kernel_size"),
        ({"drop_path": 1.5}, "drop_path"),
        ({"backend": "cuda"}, "backend"),
    ],
)
def test_bad_kwargs_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        create_backbone("large_kernel", **{"dim": 8, "depth": 1, **kwargs})


def test_register_custom_backbone():
    @register_backbone("_test_identity")
    class Identity(torch.nn.Module):
        def __init__(self, dim, depth, ndim, causal, drop_path, backend):
            super().__init__()
            self.dim, self.ndim, self.causal = dim, ndim, causal

        def forward(self, x):
            return x

    m = create_backbone("_test_identity", dim=4, ndim=2)
    assert m.ndim == 2 and "_test_identity" in list_backbones()


def test_eeg_default_call():
    m = create_backbone("large_kernel", dim=16, depth=2, ndim=2, causal=False)
    assert (m.dim, m.ndim, m.causal) == (16, 2, False)
    x = torch.randn(2, 16, 5, 40)
    assert m(x).shape == x.shape


def test_wrong_input_shape_names_expectation():
    m = create_backbone("large_kernel", dim=16, depth=1, ndim=2)
    with pytest.raises(Exception, match="expected tokens"):
        m(torch.randn(2, 8, 5, 5))


CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))


def test_config_files_exist():
    names = {p.stem for p in CONFIGS}
    for fam in ("large_kernel", "afno", "ssm", "hyena"):
        assert {fam, f"{fam}_tiny", f"{fam}_base"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_builds(path):
    cfg = yaml.safe_load(path.read_text())
    assert isinstance(cfg, dict) and "_target_" not in cfg
    assert {"name", "dim", "depth"} <= set(cfg)
    assert cfg["name"] in list_backbones()
    kw = dict(cfg)
    name = kw.pop("name")
    kw.update(dim=8, depth=1)  # the model config overrides dim; keep the build cheap
    m = create_backbone(name, ndim=2, causal=True, **kw)
    x = torch.randn(1, 8, 4, 6)
    assert m(x).shape == x.shape


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_files_are_the_sizes_in_code(path):
    cfg = yaml.safe_load(path.read_text())
    name = cfg.pop("name")
    size = path.stem[len(name) + 1:] or "small"
    assert backbone_sizes(name)[size] == cfg


# the sizes as written (no override of what they set): width, depth and parameter count grow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_sizes_build_with_their_own_values(name):
    sizes = backbone_sizes(name)
    assert {"tiny", "small", "base"} <= set(sizes)
    m = create_backbone(name, size="tiny", ndim=2, causal=True)
    assert (m.dim, m.depth) == (sizes["tiny"]["dim"], sizes["tiny"]["depth"])
    x = torch.randn(1, m.dim, 4, 6)
    assert m(x).shape == x.shape
    params = {}
    for size in ("tiny", "small", "base"):
        with torch.device("meta"):  # parameter counts without allocating the base model
            b = create_backbone(name, size=size, ndim=2, causal=True)
        assert (b.dim, b.depth) == (sizes[size]["dim"], sizes[size]["depth"])
        params[size] = sum(p.numel() for p in b.parameters())
    assert params["tiny"] < params["small"] < params["base"]


def test_size_gives_defaults_explicit_arguments_win():
    m = create_backbone("afno", size="base", dim=16, depth=1, ndim=2)
    assert (m.dim, m.depth) == (16, 1)
    assert create_backbone("afno", size="base", ndim=2, dim=16).depth == backbone_sizes("afno")["base"]["depth"]
    with pytest.raises(ConfigError, match="model.backbone.size: unknown size 'huge'"):
        create_backbone("afno", size="huge")


def test_count_flops_linear_in_length():
    m = create_backbone("large_kernel", dim=16, depth=2, ndim=1)
    f1, f2 = count_flops(m, (1, 16, 256)), count_flops(m, (1, 16, 512))
    assert f1 > 0 and abs(f2 / f1 - 2.0) < 0.05
    assert m.num_parameters() == sum(p.numel() for p in m.parameters())
