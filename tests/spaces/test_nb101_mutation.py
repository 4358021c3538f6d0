"""The NB101 mutation's fast path (edge-bit validity memo, class keys instead of hashes) makes
exactly the children, from exactly the same random draws, as the plain rule it implements:
redraw the raw genome until the spec is valid and its official hash differs from the parent's.

The reference below is that plain rule, written with the public validation and hash; a
difference in one child or one draw would change every run that mutates NB101 cells.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.spaces.nb101 import (
    _EDGE_DST,
    _EDGE_SRC,
    _OP_LABEL,
    INTERIOR_OPS,
    N_EDGE_BITS,
    N_OP_SPOTS,
    NB101Cell,
    NB101Space,
    _validation_error,
)
from harness.spaces.nb101_pool import NB101PoolSpace


def _reference_mutate(space: NB101Space, arch: NB101Cell, rng: np.random.Generator) -> NB101Cell:
    parent = arch.hash
    m0, ops0 = space._padded(arch, rng)
    p_edge = space.mutation_rate / N_EDGE_BITS
    p_op = min(1.0, space.mutation_rate / N_OP_SPOTS)
    while True:
        m = m0.copy()
        flips = rng.random(N_EDGE_BITS) < p_edge
        m[_EDGE_SRC[flips], _EDGE_DST[flips]] ^= 1
        ops = list(ops0)
        change = rng.random(N_OP_SPOTS) < p_op
        shifts = rng.integers(1, len(INTERIOR_OPS), size=N_OP_SPOTS)
        for i in np.flatnonzero(change):
            ops[i + 1] = INTERIOR_OPS[(_OP_LABEL[ops[i + 1]] + int(shifts[i])) % 3]
        if _validation_error(m, ops) is None:
            child = NB101Cell.from_spec(m, ops)
            if child.hash != parent:
                return child


def _reference_pool_mutate(
    space: NB101PoolSpace, arch: NB101Cell, rng: np.random.Generator
) -> NB101Cell:
    for _ in range(space.max_tries):
        child = _reference_mutate(space, arch, rng)
        if space.contains(child):
            return child
    return space.sample(rng)


def _replay(space, reference, seeds, steps, parent_seed) -> list[tuple[NB101Cell, NB101Cell]]:
    """Mutate a chain of cells with the space and with ``reference`` on twin generators; every
    child and the generators' next draw must agree. Returns the (parent, child) pairs."""
    children = []
    for seed in seeds:
        rng_fast, rng_ref = np.random.default_rng(seed), np.random.default_rng(seed)
        parent = space.sample(np.random.default_rng(parent_seed + seed))
        for _ in range(steps):
            fast = space.mutate(parent, rng_fast)
            assert fast == reference(space, parent, rng_ref)
            children.append((parent, fast))
            parent = fast
        assert rng_fast.random() == rng_ref.random()  # the same draws, to the last one
    return children


@pytest.mark.parametrize("rate", [1.0, 3.0])
def test_nb101_mutation_matches_the_plain_rule(rate):
    space = NB101Space(mutation_rate=rate)
    for parent, child in _replay(space, _reference_mutate, range(4), 150, 100):
        assert child.hash != parent.hash
        NB101Cell(child.adj, child.ops)  # a valid cell by the validating constructor


def test_pool_mutation_matches_the_plain_rule():
    space = NB101PoolSpace()
    pairs = _replay(space, _reference_pool_mutate, range(3), 40, 7)
    assert len(pairs) == 120 and all(space.contains(child) for _, child in pairs)
