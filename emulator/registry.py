"""Registries: the one place where a name from a config or a command line becomes an object.

Each extension point (workload kind, demon kind, simulator back end, converter non-ideality) keeps
one :class:`Registry`. A new kind is one module that defines an object filling the extension
point's small protocol, plus one ``register`` line; nothing else in the package branches on the
kind's name (see docs/architecture.md).
"""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one extension point, in registration order.

    ``what`` names the extension point in error messages (``"workload kind"``)."""

    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T) -> T:
        """Add ``obj`` under ``name``; a name can be registered once. Returns ``obj``."""
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = obj
        return obj

    def get(self, name: str) -> T:
        """The object registered as ``name``; ``KeyError`` naming the choices otherwise."""
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.what} {name!r}: choose one of {', '.join(self._items)}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def items(self):
        return self._items.items()

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)
