"""The one name registry of signalkit (readers, tokenizers, backbones, heads, tasks, data modules).

A :class:`Registry` maps names used in configs to builders (classes or functions)::

    TOKENIZERS = Registry("tokenizer", "model.tokenizer")

    @TOKENIZERS.register("volume")
    class VolumeTokenizer(nn.Module): ...

    TOKENIZERS.create("volume", dim=64)        # -> VolumeTokenizer(dim=64)

``create`` checks the keyword arguments against the builder's signature before calling it, and an
unknown name or a bad argument ends in ONE :class:`~signalkit.errors.ConfigError` that names the
config key (``model.tokenizer.name: unknown tokenizer 'x' (known: ...)``). A registry may name the
modules that register into it (``modules=``); they are imported on the first lookup, so that a
cheap ``import`` of the package does not load every reader's dependencies.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from signalkit.errors import ConfigError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _unpacked_keys(annotation: Any, func: Any, name: str) -> frozenset[str] | None:
    """The keys of ``TD`` when the ``**name`` parameter of ``func`` is annotated ``Unpack[TD]`` (a
    string annotation is resolved by :func:`typing.get_type_hints` in ``func``'s module), with the
    keys ``TD`` inherits; None for any other annotation."""
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(inspect.unwrap(func), include_extras=True).get(name)
        except Exception:  # an annotation that does not resolve: treat as a plain **kwargs
            return None
    if typing.get_origin(annotation) is not typing.Unpack:
        return None
    (td,) = typing.get_args(annotation)
    if not typing.is_typeddict(td):
        return None
    return frozenset(td.__required_keys__) | frozenset(td.__optional_keys__)


def accepted_kwargs(builder: Callable[..., Any]) -> tuple[set[str], bool]:
    """Keyword names ``builder`` accepts and whether it takes any other ``**kwargs``.

    A ``**base: Unpack[SomeTypedDict]`` (how task subclasses take :class:`~signalkit.tasks.base.BaseTask`'s
    options) accepts exactly the TypedDict's keys, inherited ones included, not any keyword.
    """
    params = inspect.signature(builder).parameters.values()
    names = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    func = builder.__init__ if isinstance(builder, type) else builder
    var_kw = False
    for p in params:
        if p.kind == p.VAR_KEYWORD:
            keys = _unpacked_keys(p.annotation, func, p.name)
            if keys is None:
                var_kw = True
            else:
                names |= keys
    return names, var_kw


def check_kwargs(builder: Callable[..., Any], kwargs: Mapping[str, Any], key: str, what: str,
                 fixed: Sequence[str] = ()) -> None:
    """One :class:`ConfigError` naming ``key`` when ``kwargs`` holds a keyword ``builder`` does not
    take (:func:`accepted_kwargs`); ``what`` names the builder in the message (``task 'decoding'``),
    ``fixed`` are keywords left out of its "accepts" list."""
    accepted, var_kw = accepted_kwargs(builder)
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown and not var_kw:
        extra = sorted(accepted - set(fixed) - {"self"})
        raise ConfigError(
            f"{key}: unknown option(s) {unknown} for {what} "
            f"(unexpected keyword argument {unknown[0]!r}); it accepts {extra}"
        )


class Registry(Mapping[str, T], Generic[T]):
    """Names -> builders for one kind of component.

    Args:
        kind: what is registered, in messages (``"backbone"``).
        key: the config key the name sits under (``"model.backbone"``): errors say
            ``<key>.name: unknown <kind> ...`` and ``<key>: ...``.
        modules: modules that register into this registry, imported on the first lookup (they must
            exist: an import error propagates).
        wrap: exceptions of a builder that :meth:`create` turns into a :class:`ConfigError`.
        name_key: the config key of the name itself (default ``<key>.name``).
    """

    def __init__(self, kind: str, key: str, *, modules: Sequence[str] = (),
                 wrap: tuple[type[Exception], ...] = (TypeError, ValueError), name_key: str | None = None) -> None:
        self.kind, self.key, self.wrap = kind, key, tuple(wrap)
        self.name_key = name_key or f"{key}.name"
        self._meta: dict[str, dict[str, Any]] = {}
        self._modules = tuple(modules)
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    # --- registration -------------------------------------------------------------------------
    def register(self, name: str, obj: T | None = None, *, aliases: Sequence[str] = (),
                 replace: bool = False, **meta: Any) -> Any:
        """Register ``obj`` under ``name`` (and ``aliases``); without ``obj``, a decorator.

        ``meta``: plain facts about the entry (a reader's file ``extensions``), see :meth:`meta`.
        Registering another object under a taken name raises ``ValueError`` unless ``replace``.
        """

        def deco(target: T) -> T:
            old = self._items.get(name)
            if old is not None and old is not target and not replace:
                raise ValueError(f"{self.kind} {name!r} is already registered to {old!r}")
            self._items[name] = target
            self._meta[name] = dict(meta)
            for alias in aliases:
                self._aliases[alias] = name
            return target

        return deco if obj is None else deco(obj)

    # --- lookup -------------------------------------------------------------------------------
    def _load(self) -> None:
        while self._modules:  # popped first: a module that looks itself up while importing is fine
            module, self._modules = self._modules[0], self._modules[1:]
            importlib.import_module(module)

    def canonical(self, name: str) -> str:
        """The registered name of ``name`` (aliases resolved); :class:`ConfigError` if unknown."""
        self._load()
        name = self._aliases.get(name, name)
        if name not in self._items:
            raise ConfigError(f"{self.name_key}: unknown {self.kind} {name!r} (known: {', '.join(self.names())})")
        return name

    def get_builder(self, name: str) -> T:
        """The builder registered as ``name`` (or an alias of it)."""
        return self._items[self.canonical(name)]

    def meta(self, name: str) -> dict[str, Any]:
        """The ``meta`` given at registration of ``name``."""
        return dict(self._meta[self.canonical(name)])

    def names(self) -> list[str]:
        """Sorted registered names (aliases not included)."""
        self._load()
        return sorted(self._items)

    def aliases(self) -> dict[str, str]:
        """``{alias: name}``."""
        self._load()
        return dict(self._aliases)

    def __getitem__(self, name: str) -> T:
        self._load()
        return self._items[self._aliases.get(name, name)]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._items))

    def __len__(self) -> int:
        self._load()
        return len(self._items)

    # --- building -----------------------------------------------------------------------------
    def check(self, name: str, kwargs: Mapping[str, Any], fixed: Sequence[str] = ()) -> None:
        """:class:`ConfigError` naming ``<key>`` when ``kwargs`` holds a keyword the builder does not take.

        ``fixed``: keywords every builder of this registry takes (left out of the "accepts" list).
        """
        check_kwargs(self.get_builder(name), kwargs, self.key, f"{self.kind} {name!r}", fixed)

    def create(self, name: str, /, **kwargs: Any) -> Any:
        """``builder(**kwargs)`` after :meth:`check`; an exception of ``wrap`` from the builder
        becomes one :class:`ConfigError` naming ``<key>``."""
        builder = self.get_builder(name)
        self.check(name, kwargs)
        try:
            return builder(**kwargs)
        except ConfigError:
            raise
        except self.wrap as err:
            raise ConfigError(f"{self.key}: {err}") from None


def class_paths(registry: Registry[Any], package: str) -> dict[str, type]:
    """``{dotted path: class}`` for every class of ``registry``: its defining module's path and, where
    ``package`` re-exports the same class, ``<package>.<ClassName>`` (the ``_target_`` strings that
    older configs carry)."""
    pkg = importlib.import_module(package)
    out: dict[str, type] = {}
    for name in registry.names():
        cls = registry.get_builder(name)
        if isinstance(cls, type):
            out[f"{cls.__module__}.{cls.__qualname__}"] = cls
            if getattr(pkg, cls.__name__, None) is cls:
                out[f"{package}.{cls.__name__}"] = cls
    return out


def build_registered(table: Mapping[str, Callable[..., Any]], name: str, section: str, kind: str,
                     **kwargs: Any) -> Any:
    """Deprecated helper: ``table[name](**kwargs)`` with :class:`ConfigError` naming ``model.<section>``.

    Kept for one release; use :meth:`Registry.create`.
    """
    if isinstance(table, Registry):
        return table.create(name, **kwargs)
    if name not in table:
        raise ConfigError(f"model.{section}.name: unknown {kind} {name!r} (known: {', '.join(sorted(table))})")
    try:
        return table[name](**kwargs)
    except TypeError as err:
        raise ConfigError(f"model.{section}: {err}") from None


__all__ = ["Registry", "accepted_kwargs", "build_registered", "check_kwargs", "class_paths"]
