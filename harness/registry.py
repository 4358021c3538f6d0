"""Name -> factory registries for strategies, surrogates and benchmarks.

Factories are registered lazily (a callable, nothing instantiated at import) and duplicate names
are errors. Third-party packages add entries through entry points (groups ``nash.strategies``,
``nash.surrogates``, ``nash.benchmarks``), loaded the first time a registry is searched. A config
may also name ``"package.module:Factory"`` directly for a one-off experiment.
"""

from __future__ import annotations

import functools
import importlib
import warnings
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
    #: the installed distribution that provided the entry, with its version (provenance)
    distribution: str | None = None
    version: str | None = None

    def create(self, *args: Any, **params: Any) -> T:
        return self.factory(*args, **{**self.defaults, **params})


class Registry(Generic[T]):
    """A registry of named factories with entry-point discovery."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        #: plug-ins that failed to load: name -> the error (they are skipped, not fatal)
        self.broken: dict[str, str] = {}
        self._loaded_entry_points = False

    def add(
        self,
        name: str,
        factory: Callable[..., T],
        description: str,
        defaults: dict[str, Any] | None = None,
        *,
        aliases: tuple[str, ...] = (),
        distribution: str | None = None,
        version: str | None = None,
    ) -> None:
        if name in self._entries or name in self._aliases:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(
            name, factory, description, dict(defaults or {}), distribution, version
        )
        for a in aliases:  # older spellings, accepted on input and mapped to the one name
            self._aliases[a] = name

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
            dist = getattr(ep, "dist", None)
            dname = getattr(dist, "name", None)
            dver = getattr(dist, "version", None)
            try:
                factory = ep.load()
            except Exception as e:  # a broken plug-in is named and skipped, the others load
                msg = (
                    f"{self.kind} plug-in {ep.name!r} ({ep.value}, distribution "
                    f"{dname or 'unknown'}) failed to load: {type(e).__name__}: {e}"
                )
                self.broken[ep.name] = msg
                warnings.warn(msg, stacklevel=2)
                continue
            doc = (getattr(factory, "__doc__", None) or "").strip().splitlines()
            self.add(
                ep.name,
                factory,
                doc[0] if doc else f"plug-in from {ep.value}",
                distribution=dname,
                version=dver,
            )

    def get(self, name: str) -> Entry[T]:
        if ":" in name:  # "package.module:Factory"
            mod, _, attr = name.partition(":")
            try:
                factory = getattr(importlib.import_module(mod), attr)
            except (ImportError, AttributeError) as e:
                raise NashError(f"cannot import {self.kind} {name!r}: {e}") from None
            dist, ver = distribution_of(mod)
            return Entry(name, factory, f"imported from {name}", {}, dist, ver)
        if name not in self._entries and name not in self._aliases:
            self._load_entry_points()
        name = self._aliases.get(name, name)
        try:
            return self._entries[name]
        except KeyError:
            if name in self.broken:
                raise NashError(self.broken[name]) from None
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
        return name in self._entries or name in self._aliases

    def canonical(self, name: str) -> str:
        """The registered name of ``name`` (aliases mapped; unknown names unchanged)."""
        return self._aliases.get(name, name)


@functools.cache
def distribution_of(module: str) -> tuple[str | None, str | None]:
    """The installed distribution (and version) providing ``module``, for run provenance."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    top = module.split(".")[0]
    names = packages_distributions().get(top) or []
    for d in names:
        try:
            return d, version(d)
        except PackageNotFoundError:
            continue
    return None, None
