"""The one Registry: register/create/names, aliases, signature check, one ConfigError naming the key."""

from __future__ import annotations

from typing import TypedDict, Unpack

import pytest

from signalkit.errors import ConfigError
from signalkit.registry import Registry, accepted_kwargs


def _registry() -> Registry:
    reg = Registry("widget", "model.widget")

    @reg.register("box", aliases=("crate",))
    class Box:
        def __init__(self, width: int = 1, *, height: int = 2) -> None:
            if width < 0:
                raise ValueError("width must be >= 0")
            self.width, self.height = width, height

    reg.register("pair", lambda a, b=3: (a, b), colour="red")
    return reg


def test_create_names_aliases_and_meta():
    reg = _registry()
    assert reg.names() == ["box", "pair"] and list(reg) == ["box", "pair"] and len(reg) == 2
    box = reg.create("box", width=4, height=5)
    assert (box.width, box.height) == (4, 5)
    assert reg.create("crate").width == 1 and "crate" in reg and reg["crate"] is reg["box"]
    assert reg.create("pair", a=7) == (7, 3)
    assert reg.meta("pair") == {"colour": "red"} and reg.aliases() == {"crate": "box"}


def test_unknown_name_and_bad_arguments_are_one_config_error_naming_the_key():
    reg = _registry()
    with pytest.raises(ConfigError, match=r"^model\.widget\.name: unknown widget 'nope' \(known: box, pair\)$"):
        reg.create("nope")
    with pytest.raises(ConfigError, match=r"^model\.widget: unknown option\(s\) \['depth'\] for widget 'box'.*"
                                          r"accepts \['height', 'width'\]"):
        reg.create("box", depth=3)
    with pytest.raises(ConfigError, match=r"^model\.widget: width must be >= 0$"):
        reg.create("box", width=-1)
    with pytest.raises(ConfigError, match=r"^model\.widget: .*missing 1 required positional argument: 'a'"):
        reg.create("pair")  # missing required ``a``


def test_registering_another_object_under_a_taken_name_fails_unless_replaced():
    reg = _registry()
    with pytest.raises(ValueError, match="already registered"):
        reg.register("pair", lambda: 0)
    reg.register("pair", lambda: 0, replace=True)
    assert reg.create("pair") == 0


def test_modules_are_imported_on_first_lookup():
    import sys

    reg = Registry("thing", "thing", modules=("json",))
    sys.modules.pop("json.tool", None)
    assert reg.names() == []  # json registers nothing, but the lookup imported it
    assert "json" in sys.modules


def test_library_registries_use_it():
    from signalkit.backbones.registry import BACKBONES
    from signalkit.heads import HEADS
    from signalkit.io import READERS
    from signalkit.tokenizers import TOKENIZERS

    for reg in (BACKBONES, HEADS, READERS, TOKENIZERS):
        assert isinstance(reg, Registry)
    assert {"eeg", "meg", "ieeg", "fmri", "weather", "video"} <= set(READERS.names())
    assert {"sensor", "volume", "field", "frames"} <= set(TOKENIZERS.names())
    assert HEADS.get_builder("unpatch") is HEADS.get_builder("untokenize")  # old config name kept
    with pytest.raises(ConfigError, match=r"^modality: unknown modality 'xyz'"):
        READERS.get_builder("xyz")


class _BoxOptions(TypedDict, total=False):
    width: int
    height: int


class _TallBoxOptions(_BoxOptions, total=False):
    depth: int


def test_unpacked_typeddict_kwargs_are_checked_key_by_key_inherited_keys_included():
    """``**base: Unpack[TD]`` (how tasks take BaseTask's options) accepts TD's keys, not any keyword."""
    reg = Registry("widget", "model.widget")

    class Base:
        def __init__(self, *, width: int = 1, height: int = 2, depth: int = 0) -> None:
            self.size = (width, height, depth)

    @reg.register("tall")
    class Tall(Base):
        def __init__(self, *, colour: str = "red", **base: Unpack[_TallBoxOptions]) -> None:
            super().__init__(**base)
            self.colour = colour

    reg.register("loose", lambda **kw: kw)  # a plain **kwargs still takes anything
    assert accepted_kwargs(Tall) == ({"colour", "width", "height", "depth"}, False)
    assert reg.create("tall", width=3, depth=5, colour="blue").size == (3, 2, 5)
    with pytest.raises(ConfigError, match=r"^model\.widget: unknown option\(s\) \['wdth'\] for widget 'tall' "
                                          r"\(unexpected keyword argument 'wdth'\); it accepts "
                                          r"\['colour', 'depth', 'height', 'width'\]$"):
        reg.create("tall", wdth=3)
    assert accepted_kwargs(reg.get_builder("loose")) == (set(), True)
    assert reg.create("loose", anything=1) == {"anything": 1}
