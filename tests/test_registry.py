"""The one Registry: register/create/names, aliases, signature check, one ConfigError naming the key."""

from __future__ import annotations

import pytest

from signalkit.errors import ConfigError
from signalkit.registry import Registry


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
