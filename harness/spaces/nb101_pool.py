"""NB101 restricted to the shipped 30,001-cell sample: a closed candidate pool.

The shipped NB101 data covers about 7 % of the space, so searching the full NB101 space would
mostly query cells without results. This space keeps every operator inside the pool: sampling is
uniform over pool members, and a mutation (or crossover) is retried until its child lies in the
pool; after ``max_tries`` misses it resamples a uniform pool member instead. This is a different
problem from NB101's (neighbourhoods are sparser, and the fallback is a random restart), and
results on it are labelled as such; they are validation-only, because the shipped NB101 data
has no test accuracy.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from harness.spaces._base import Graph
from harness.spaces.nb101 import (
    MAX_VERTICES,
    NB101Cell,
    NB101Space,
    bit_index,
    class_key,
)
from harness.spaces.nb101_enum import NB101Table, load_nb101_30k_specs


@functools.cache
def _pool() -> tuple[NB101Table, frozenset[tuple[int, int]]]:
    """The pool's specs and the set of their (vertex count, canonical integer key).

    The committed specs are class representatives (the enumeration's canonical forms), whose own
    code is their class's :func:`canonical_keys` value; membership of any cell is then a test
    on its integer key, about ten times cheaper than the official MD5 hash.
    """
    table = load_nb101_30k_specs()
    keys: set[tuple[int, int]] = set()
    bits = table.adj_bits.astype(np.int64)
    for n in np.unique(table.num_vertices).tolist():
        rows = np.flatnonzero(table.num_vertices == n)
        b = bits[rows]
        adj = np.zeros(len(rows), dtype=np.int64)
        for dst in range(1, n):  # the table stores the output column at 7x7 position 6
            dst7 = MAX_VERTICES - 1 if dst == n - 1 else dst
            for src in range(dst):
                adj |= ((b >> bit_index(src, dst7)) & 1) << bit_index(src, dst)
        lab = np.zeros(len(rows), dtype=np.int64)
        for j in range(n - 2):
            lab = lab * 3 + table.ops[rows, j].astype(np.int64)
        keys.update(zip([n] * len(rows), (adj * 3 ** (n - 2) + lab).tolist(), strict=True))
    return table, frozenset(keys)


class NB101PoolSpace(NB101Space):
    """NB101 operators confined to the NB101-30k sample (see the module docstring)."""

    name = "nb101-30k-pool"
    cell_space = "nb101"

    def __init__(self, mutation_rate: float = 1.0, max_tries: int = 100) -> None:
        super().__init__(mutation_rate=mutation_rate)
        self.max_tries = int(max_tries)
        self.table, self.members = _pool()
        self.n_fallbacks = 0
        self._nb_cache: dict[tuple[int, int], list[NB101Cell]] = {}

    def size(self) -> int:
        return len(self.table)

    def sample(self, rng: np.random.Generator) -> NB101Cell:
        return self.table.cell_at(int(rng.integers(len(self.table))))

    def contains(self, cell: NB101Cell) -> bool:
        return class_key(cell) in self.members

    def mutate(self, arch: NB101Cell, rng: np.random.Generator) -> NB101Cell:
        """The NB101 mutation, redrawn until the child is a pool member (a different network).

        After ``max_tries`` children outside the pool, a uniform pool member is returned instead
        (a restart; counted in ``n_fallbacks``).
        """
        for _ in range(self.max_tries):
            child = super().mutate(arch, rng)
            if self.contains(child):
                return child
        self.n_fallbacks += 1
        return self.sample(rng)

    def _pool_neighbours(self, arch: NB101Cell) -> list[NB101Cell]:
        key = class_key(arch)
        hit = self._nb_cache.get(key)
        if hit is None:
            seen: dict[tuple[int, int], NB101Cell] = {}
            for c in super().neighbours(arch):
                k = class_key(c)
                if k in self.members and k != key and k not in seen:
                    seen[k] = c
            hit = [seen[k] for k in sorted(seen)]
            self._nb_cache[key] = hit
        return hit

    def crossover(self, a: NB101Cell, b: NB101Cell, rng: np.random.Generator) -> NB101Cell:
        for _ in range(self.max_tries):
            child = super().crossover(a, b, rng)
            if self.contains(child):
                return child
        self.n_fallbacks += 1
        return self.sample(rng)

    def neighbours(self, arch: NB101Cell) -> list[NB101Cell]:
        return list(self._pool_neighbours(arch))

    def is_valid(self, arch: Any) -> bool:
        return super().is_valid(arch) and self.contains(arch)

    def encode(self, arch: NB101Cell, kind: str) -> np.ndarray | Graph:
        return super().encode(arch, kind)
