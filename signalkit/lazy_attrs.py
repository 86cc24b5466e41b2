"""A dict whose chosen keys are computed when first read: a Recording's attrs, whose ``sha256``
(the hash of the source file, which costs more CPU than reading a small file) only a caller who
reads it pays for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class _Once:
    """``fn()`` computed on the first call, then remembered (shared by the copies of a mapping;
    threads asking at once wait for the one computing it)."""

    __slots__ = ("fn", "value", "lock")

    def __init__(self, fn: Callable[[], Any]):
        self.fn, self.value, self.lock = fn, None, threading.Lock()

    def __call__(self) -> Any:
        with self.lock:
            if self.fn is not None:
                self.value, self.fn = self.fn(), None
        return self.value


class _Pending:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<computed when first read>"


_PENDING = _Pending()


class LazyAttrs(dict):
    """A Recording's attrs whose ``lazy`` keys are computed when first read (the ``sha256`` of
    the source file, which costs more CPU than reading a small file: ingest passes the hash it
    took itself, and a reader's caller who never looks at it never pays for it).

    It is a ``dict`` in every way a caller can see: ``attrs["sha256"]``, ``get``, ``items``,
    ``values``, ``dict(attrs)``, ``{**attrs}``, ``==``, ``repr``, ``json.dumps``, pickle and
    (deep) copies give the computed value; a key set, updated or deleted before it was read is
    never computed. Copies share the pending computation, so it runs at most once.
    """

    __slots__ = ("_lazy",)

    def __init__(self, values: dict | None = None, lazy: dict[str, Callable[[], Any]] | None = None):
        super().__init__(values or {})
        self._lazy: dict[str, _Once] = {}
        for key, fn in (lazy or {}).items():
            self._lazy[key] = fn if isinstance(fn, _Once) else _Once(fn)
            dict.__setitem__(self, key, _PENDING)

    def _resolve(self, key) -> None:
        once = self._lazy.get(key)
        if once is not None:
            value = once()  # the key stays pending until its value is in place (other threads, errors)
            if self._lazy.get(key) is once:  # not written meanwhile
                dict.__setitem__(self, key, value)
                del self._lazy[key]

    def _resolve_all(self) -> None:
        for key in list(self._lazy):
            self._resolve(key)

    def pending(self) -> tuple[str, ...]:
        """The keys not computed yet."""
        return tuple(self._lazy)

    # reads: compute what they return
    def __getitem__(self, key):
        if key in self._lazy:
            self._resolve(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        if key in self._lazy:
            self._resolve(key)
        return dict.get(self, key, default)

    def __iter__(self):  # a Python __iter__ makes dict(), {**x} and update(x) read through __getitem__
        return dict.__iter__(self)

    def values(self):
        self._resolve_all()
        return dict.values(self)

    def items(self):
        self._resolve_all()
        return dict.items(self)

    def __repr__(self) -> str:
        self._resolve_all()
        return dict.__repr__(self)

    def __eq__(self, other) -> bool:
        self._resolve_all()
        if isinstance(other, LazyAttrs):
            other._resolve_all()
        return dict.__eq__(self, other)

    def __ne__(self, other) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def setdefault(self, key, default=None):
        if key in self._lazy:
            self._resolve(key)
        return dict.setdefault(self, key, default)

    def pop(self, key, *default):
        if key in self._lazy:
            self._resolve(key)
        return dict.pop(self, key, *default)

    def popitem(self):
        self._resolve_all()
        return dict.popitem(self)

    # writes: a key given a value is no longer computed
    def __setitem__(self, key, value) -> None:
        self._lazy.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key) -> None:
        self._lazy.pop(key, None)
        dict.__delitem__(self, key)

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other):
        self.update(other)
        return self

    def clear(self) -> None:
        self._lazy.clear()
        dict.clear(self)

    # copies keep the pending keys pending (sharing the computation); pickles carry the values
    def copy(self) -> LazyAttrs:
        new = LazyAttrs(dict(dict.items(self)))  # the raw items (dict.copy would read through __getitem__)
        new._lazy = dict(self._lazy)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo) -> LazyAttrs:
        import copy

        new = LazyAttrs({k: v if k in self._lazy else copy.deepcopy(v, memo) for k, v in dict.items(self)})
        new._lazy = dict(self._lazy)
        return new

    def __reduce__(self):
        self._resolve_all()
        return dict, (dict(dict.items(self)),)
