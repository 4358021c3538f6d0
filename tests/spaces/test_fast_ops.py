"""The fast genome operations and tournament give what the plain scalar versions give.

The references below are the scalar versions the fast ones replaced (shape-checked genomes,
one Python comparison per tournament draw); each property runs over many seeds, and the
generator must be left in the same state (the rest of a run draws from it).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import Observation
from harness.spaces import nb201_genome as g
from harness.spaces._base import SearchSpace
from harness.strategies._base import fitness, tournament

SPACE = g.NB201StudyGenomeSpace()
seeds = st.integers(0, 2**32 - 1)


def _ref_sample(rng: np.random.Generator) -> g.StudyGenome:
    while True:
        ops = tuple(int(o) for o in rng.integers(0, g.N_STUDY_OPS, size=g.N_OP_NODES))
        bits = tuple(int(b) for b in (rng.random(g.N_BITS) < 0.5))
        if g.template(bits) is not None:
            return g.StudyGenome(ops, bits)


def _ref_mutate(space: g.NB201StudyGenomeSpace, arch: g.StudyGenome, rng: np.random.Generator):
    ops = list(arch.ops)
    for i in range(g.N_OP_NODES):
        if rng.random() < space.op_rate:
            new = int(rng.integers(g.N_STUDY_OPS - 1))
            ops[i] = new + 1 if new >= ops[i] else new
    parent_bits = np.asarray(arch.bits, dtype=np.int64)
    while True:
        flips = rng.random(g.N_BITS) < space.bit_rate
        bits = tuple(int(b) for b in parent_bits ^ flips)
        if g.template(bits) is not None:
            return g.StudyGenome(tuple(ops), bits)


def _ref_tournament(pop, k, rng, replace):
    idx = rng.choice(len(pop), size=k, replace=replace)
    best = pop[int(idx[0])]
    for i in idx[1:]:
        if fitness(pop[int(i)]) > fitness(best):
            best = pop[int(i)]
    return best


def _same_state(a: np.random.Generator, b: np.random.Generator) -> bool:
    return a.bit_generator.state == b.bit_generator.state


@settings(max_examples=200, deadline=None)
@given(seeds, st.sampled_from([(1 / 6, 1 / 28), (0.5, 0.2), (0.0, 0.5), (1.0, 0.0)]))
def test_study_genome_sample_and_mutate_match_scalar(seed: int, rates) -> None:
    space = g.NB201StudyGenomeSpace(*rates)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    x, y = space.sample(a), _ref_sample(b)
    for _ in range(20):
        assert x == y and hash(x) == hash(y)
        assert space.to_str(x) == space.to_str(y) and space.canonical(x) == space.canonical(y)
        assert type(x.ops[0]) is int and type(x.bits[0]) is int
        x, y = space.mutate(x, a), _ref_mutate(space, y, b)
    assert _same_state(a, b)


@settings(max_examples=200, deadline=None)
@given(seeds, st.integers(1, 60), st.integers(1, 30), st.booleans(), st.booleans())
def test_tournament_matches_scalar(seed: int, n: int, k: int, replace: bool, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    k = k if replace else min(k, n)
    levels = rng.integers(0, 3, size=n) if ties else rng.random(n)
    pop = [Observation(i, float(v), ok=bool(v != 0 or not ties)) for i, v in enumerate(levels)]
    fits = np.array([fitness(o) for o in pop])
    a, b, c = (np.random.default_rng(seed + 1) for _ in range(3))
    for _ in range(5):
        want = _ref_tournament(pop, k, a, replace)
        assert tournament(pop, k, b, replace=replace) is want
        assert tournament(pop, k, c, replace=replace, fitnesses=fits) is want
    assert _same_state(a, b) and _same_state(a, c)


def test_trusted_genomes_equal_checked_ones() -> None:
    rng = np.random.default_rng(0)
    space: SearchSpace[g.StudyGenome] = SPACE
    for _ in range(200):
        x = space.sample(rng)
        assert x == g.StudyGenome(list(x.ops), np.array(x.bits))
        assert space.from_str(space.to_str(x)) == x
