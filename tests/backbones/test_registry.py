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
# the old per-size files: thin aliases (a defaults entry + ``size``) of ``<family>`` at that size
ALIASES = {p.stem: (p.stem.rpartition("_")[0], p.stem.rpartition("_")[2]) for p in CONFIGS
           if p.stem not in EXPECTED}


def _composed_backbone(choice: str, *overrides: str) -> dict:
    """``model/backbone=<choice>`` as Hydra composes and resolves it (no model config around it)."""
    from signalkit.config import compose, to_plain

    return to_plain(compose(f"model/backbone/{choice}", list(overrides)))["model"]["backbone"]


def test_one_config_file_per_family():
    """One file per family; every other file is an alias of a family file at one of its sizes."""
    names = {p.stem for p in CONFIGS}
    assert EXPECTED <= names
    for stem, (family, size) in ALIASES.items():
        assert family in EXPECTED and size in backbone_sizes(family), stem
        text = (CONFIG_DIR / f"{stem}.yaml").read_text()
        body = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        assert len(body) == 4 and f"  - {family}" in body, f"{stem}.yaml must stay a thin alias: {body}"


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_family_file_resolves_every_size_from_the_code_table(family):
    """``model/backbone=<family> model.backbone.size=<s>``: the values of ``backbone_sizes(family)[s]``,
    unchanged (nothing overridden), and the backbone built from them has that width, depth and
    parameter count."""
    cfg = yaml.safe_load((CONFIG_DIR / f"{family}.yaml").read_text())
    assert cfg["name"] == family and cfg["size"] == "small" and "_target_" not in cfg
    for size, values in backbone_sizes(family).items():
        composed = _composed_backbone(family, f"model.backbone.size={size}")
        assert composed == {"name": family, "size": size, **values}
        kw = {k: v for k, v in composed.items() if k not in ("name", "size")}
        with torch.device("meta"):
            built = create_backbone(family, ndim=2, causal=True, **kw)
            ref = create_backbone(family, size=size, ndim=2, causal=True)
        assert (built.dim, built.depth) == (values["dim"], values["depth"])
        assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_old_size_names_are_deprecated_aliases(alias):
    from signalkit import config

    family, size = ALIASES[alias]
    config._WARNED.discard(alias)
    if alias == "large_kernel_micro":  # the eeg_decoder_lk's group choice: not deprecated
        composed = _composed_backbone(alias)
    else:
        with pytest.warns(DeprecationWarning, match=f"model/backbone={family} model.backbone.size={size}"):
            composed = _composed_backbone(alias)
    assert composed == {"name": family, "size": size, **backbone_sizes(family)[size]}


def test_keys_of_a_family_file_take_overrides_and_reach_the_model():
    """A key the family file lists from the size table is a plain config key: Hydra overrides it,
    the size fills the others, and the built model holds the value."""
    from signalkit.config import compose, to_plain
    from signalkit.models import build_model

    cfg = to_plain(compose("train", ["model=video_simvp", "model.backbone.kernel_size=9",
                                     "model.backbone.size=tiny"]))["model"]
    assert cfg["backbone"]["kernel_size"] == 9 and cfg["backbone"]["depth"] == 2  # the model config's
    assert cfg["backbone"]["small_kernel"] == 7  # video_simvp sets it; mlp_ratio too
    cfg = to_plain(compose("train", ["model=eeg_decoder_lk", "model.backbone.kernel_size=7"]))["model"]
    assert cfg["backbone"] == {"name": "large_kernel", "size": "micro", **backbone_sizes("large_kernel")["micro"],
                               "kernel_size": 7, "depth": 1}
    video = to_plain(compose("train", ["model=video_simvp", "model.backbone.kernel_size=9"]))["model"]
    video.update(dim=8)
    model = build_model(video)
    assert model.config["backbone"]["kernel_size"] == 9 and "size" not in model.config["backbone"]


def test_unknown_size_in_a_config_names_the_key():
    from signalkit.config import compose, to_plain

    with pytest.raises(ConfigError, match=r"model.backbone.size: unknown size 'huge' for backbone 'afno' "
                                          r"\(known: tiny, small, base\)"):
        to_plain(compose("train", ["model=weather_afno", "model.backbone.size=huge"]))


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


# the named sizes pinned: (dim, depth, parameters of the 2-D causal backbone); a changed table entry
# (a wrong width, depth or a size that silently builds something else) fails here by its number
PINNED_SIZES = {
    "afno": {"tiny": (64, 4, 166144), "small": (256, 8, 4566272), "base": (512, 12, 27048064)},
    "convssm": {"tiny": (64, 4, 134272), "small": (128, 6, 755968), "base": (256, 8, 5849600)},
    "gfnet": {"tiny": (64, 4, 153344), "small": (128, 8, 1124352), "base": (256, 12, 6548096)},
    "hyena": {"tiny": (64, 4, 230144), "small": (128, 8, 1788672), "base": (256, 12, 10032896)},
    "large_kernel": {"tiny": (64, 4, 178048), "micro": (32, 1, 8608), "small": (128, 8, 1404160),
                     "base": (256, 12, 8144384)},
    "lka": {"tiny": (64, 4, 190592), "small": (128, 8, 1483008), "base": (256, 12, 8798720)},
    "pfg": {"tiny": (64, 4, 185760), "small": (128, 8, 1472864), "base": (256, 12, 8869760)},
    "replk": {"tiny": (64, 4, 173696), "small": (128, 8, 1284352), "base": (256, 12, 7514624)},
    "ssm": {"tiny": (64, 4, 165248), "small": (128, 8, 1614080), "base": (256, 12, 8970776)},
}


@pytest.mark.parametrize("family", sorted(PINNED_SIZES))
def test_named_sizes_have_their_pinned_width_depth_and_parameter_count(family):
    assert set(backbone_sizes(family)) == set(PINNED_SIZES[family])
    for size, (dim, depth, n_params) in PINNED_SIZES[family].items():
        with torch.device("meta"):
            m = create_backbone(family, size=size, ndim=2, causal=True)
        assert (m.dim, m.depth, sum(p.numel() for p in m.parameters())) == (dim, depth, n_params), size
