"""Name -> factory registries for strategies, surrogates and benchmarks.

Factories are registered lazily (a callable, nothing instantiated at import) and duplicate names
are errors. Third-party packages add entries through entry points (groups ``nash.strategies``,
``nash.surrogates``, ``nash.benchmarks``), loaded the first time a registry is searched. A config
may also name ``"package.module:Factory"`` directly for a one-off experiment.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from harness.errors import NashError, unknown

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)

    def create(self, *args: Any, **params: Any) -> T:
        return self.factory(*args, **{**self.defaults, **params})


class Registry(Generic[T]):
    """A registry of named factories with entry-point discovery."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._entries: dict[str, Entry[T]] = {}
        self._loaded_entry_points = False

    def add(
        self,
        name: str,
        factory: Callable[..., T],
        description: str,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(name, factory, description, dict(defaults or {}))

    def register(
        self, name: str, description: str, **defaults: Any
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator form of :meth:`add`."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, description, defaults)
            return factory

        return deco

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=self.group):
            if ep.name in self._entries:
                continue  # built-ins win; a plug-in cannot shadow them silently
            try:
                factory = ep.load()
            except Exception as e:  # a broken plug-in must not break the harness
                raise NashError(
                    f"{self.kind} plug-in {ep.name!r} ({ep.value}) failed to load: {e}"
                ) from e
            doc = (getattr(factory, "__doc__", None) or "").strip().splitlines()
            self.add(ep.name, factory, doc[0] if doc else f"plug-in from {ep.value}")

    def get(self, name: str) -> Entry[T]:
        if ":" in name:  # "package.module:Factory"
            mod, _, attr = name.partition(":")
            try:
                factory = getattr(importlib.import_module(mod), attr)
            except (ImportError, AttributeError) as e:
                raise NashError(f"cannot import {self.kind} {name!r}: {e}") from None
            return Entry(name, factory, f"imported from {name}")
        if name not in self._entries:
            self._load_entry_points()
        try:
            return self._entries[name]
        except KeyError:
            raise unknown(self.kind, name, self._entries) from None

    def create(self, name: str, *args: Any, **params: Any) -> T:
        return self.get(name).create(*args, **params)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Entry[T]]:
        self._load_entry_points()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries
