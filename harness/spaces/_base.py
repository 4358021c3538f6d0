"""The search-space protocol shared by NB201, NB101 and genome encodings of them.

A space owns everything that depends on how architectures are represented: sampling, variation
operators, validity, the isomorphism-invariant key and the encodings surrogates consume.
Strategies only ever talk to a space, never to a benchmark table.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

A = TypeVar("A", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Graph:
    """A cell as a graph for GNN surrogates.

    ``x``: node features [n_nodes, n_features] (one-hot op, with input/output types);
    ``edge_index``: [2, n_edges] int64, rows are (source, target) as in torch-geometric.
    """

    x: np.ndarray
    edge_index: np.ndarray


def sized_network(
    build: Callable[[Hashable, int, int, int], Any], channels: int, cells_per_stage: int
) -> Callable[..., Any]:
    """A space's :meth:`SearchSpace.network` from ``build(cell, num_classes, channels,
    cells_per_stage)`` and the space's default sizes.

    Why: every space that builds networks takes the same arguments and fills in its own
    defaults; this is that code once. (A new function per space, so ``type(space).network is
    not SearchSpace.network`` still tells which spaces have a builder.)
    """
    c0, n0 = channels, cells_per_stage

    def network(
        self: SearchSpace[Any],
        cell: Hashable,
        num_classes: int = 10,
        *,
        channels: int | None = None,
        cells_per_stage: int | None = None,
    ) -> Any:
        return build(cell, num_classes, channels or c0, cells_per_stage or n0)

    network.__doc__ = (
        f"The untrained network of a cell ({c0} channels, {n0} cells per stage by default)."
    )
    return network


class SearchSpace(ABC, Generic[A]):
    """Architectures of one search space and the operators on them.

    ``canonical(arch)`` returns a string that is equal for isomorphic cells (the same network),
    so caches, deduplication and "distinct cells trained" counts are keyed by it.
    ``to_cell(arch)`` maps a representation (e.g. a genome) to the benchmark's native cell; it is
    the identity for native spaces.
    """

    name: str = "space"
    encodings: tuple[str, ...] = ()
    #: the registered space whose cells ``to_cell`` returns, when not this one (genomes)
    cell_space: str | None = None
    #: True where a faithful operator may return its input (a published per-gene mutation);
    #: the contract then only asks that most mutations change the architecture
    mutation_may_repeat: bool = False

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> A: ...

    @abstractmethod
    def mutate(self, arch: A, rng: np.random.Generator) -> A:
        """A valid architecture different from ``arch`` (as a representation)."""

    @abstractmethod
    def crossover(self, a: A, b: A, rng: np.random.Generator) -> A: ...

    @abstractmethod
    def is_valid(self, arch: Any) -> bool: ...

    @abstractmethod
    def canonical(self, arch: A) -> str: ...

    @abstractmethod
    def to_str(self, arch: A) -> str: ...

    @abstractmethod
    def from_str(self, text: str) -> A: ...

    @abstractmethod
    def neighbours(self, arch: A) -> list[A]:
        """All valid architectures one mutation away (for local search)."""

    @abstractmethod
    def encode(self, arch: A, kind: str) -> np.ndarray | Graph: ...

    def encode_many(self, archs: Sequence[A], kind: str) -> np.ndarray:
        """Stack vector encodings of many architectures into one float32 matrix."""
        rows = [self.encode(a, kind) for a in archs]
        if rows and isinstance(rows[0], Graph):
            raise TypeError(f"encoding {kind!r} is a graph; use encode() per architecture")
        return np.asarray(rows, dtype=np.float32)

    def to_cell(self, arch: A) -> Hashable:
        return arch

    def cell_str(self, arch: A) -> str:
        """The benchmark cell's own string (differs from ``to_str`` for genome encodings)."""
        return self.to_str(arch)

    def size(self) -> int | None:
        """Number of representable architectures, when known (None when not)."""
        return None

    def categorical_params(self) -> dict[str, tuple[Any, ...]] | None:
        """Name -> choices of a categorical parametrization, or None when the space has none.

        Why: black-box optimisers (optuna's samplers) search products of categorical choices;
        a space that can be written as one exposes it here and maps a choice per name back with
        :meth:`from_params`. Some products contain invalid points (NB101's edge bits).
        """
        return None

    def from_params(self, params: Mapping[str, Any]) -> A:
        """The architecture for one choice per name of :meth:`categorical_params`.

        Raises :class:`~harness.errors.InvalidArchitecture` when the choices form no valid
        architecture of this space.
        """
        from harness.errors import ConfigError

        raise ConfigError(f"search space {self.name!r} has no categorical parametrization")

    # -- networks (zero-cost scoring and real training) -------------------------------------
    def network(
        self,
        cell: Hashable,
        num_classes: int = 10,
        *,
        channels: int | None = None,
        cells_per_stage: int | None = None,
    ) -> Any:
        """An untrained PyTorch network of a native cell (default sizes when None).

        Why here: the space knows what its cells mean as networks, so zero-cost scoring and
        training work for any space that provides one, without knowing its name.
        """
        from harness.errors import NashError

        raise NashError(
            f"search space {self.name!r} has no network builder (zero-cost scoring and real "
            "training need one)"
        )

    def network_key(self, cell: Hashable) -> str:
        """A stable string naming the network of a native cell (seeds its weights)."""
        return self.canonical(cell)  # type: ignore[arg-type]

    def network_cell(self, cell: Hashable) -> Hashable:
        """The representative to build for ``cell`` (equal keys must build equal networks)."""
        return cell

    def cell_id(self, cell: Hashable) -> str:
        """A compact unique id of a native cell (result caches of trainings)."""
        return self.canonical(cell)  # type: ignore[arg-type]

    def check_cell(self, cell: Hashable) -> Hashable:
        """``cell`` if it is a valid native cell of this space, else InvalidArchitecture."""
        if not self.is_valid(cell):
            from harness.errors import InvalidArchitecture

            raise InvalidArchitecture(
                f"{type(cell).__name__} {cell!r} is not a cell of the space {self.name!r} (an "
                "architecture of another space?)"
            )
        return cell
