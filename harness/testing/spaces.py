"""Contract checks every search space must pass (plug-in authors run them on their own spaces).

Example (in a plug-in's test suite)::

    from harness.testing.spaces import check_space

    def test_my_space():
        check_space(MySpace())

Each check raises AssertionError naming the broken invariant. The checks are the ones the
harness relies on: strategies only ever sample, mutate, cross over and ask for neighbours;
caches and "distinct cells" counts trust ``canonical``; surrogates trust fixed-length encodings;
run files store ``to_str`` and read it back with ``from_str``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.spaces._base import Graph, SearchSpace


def check_space(space: SearchSpace[Any], *, n: int = 40, seed: int = 0) -> None:
    """Run every space invariant on ``n`` seeded samples."""
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    check_samples_valid(space, archs)
    check_round_trip(space, archs)
    check_mutation(space, archs, rng)
    check_crossover(space, archs, rng)
    check_canonical_stable(space, archs)
    check_encodings(space, archs)
    check_neighbours(space, archs[:5])
    check_seeded(space, seed)


def check_samples_valid(space: SearchSpace[Any], archs: list[Any]) -> None:
    for a in archs:
        assert space.is_valid(a), f"{space.name}: sample {a!r} is not valid"


def check_round_trip(space: SearchSpace[Any], archs: list[Any]) -> None:
    for a in archs:
        text = space.to_str(a)
        back = space.from_str(text)
        assert space.canonical(back) == space.canonical(a), (
            f"{space.name}: from_str(to_str(a)) is a different cell for {text!r}"
        )
        assert space.to_str(back) == text, f"{space.name}: to_str is not stable for {text!r}"


def check_mutation(space: SearchSpace[Any], archs: list[Any], rng: np.random.Generator) -> None:
    same = 0
    for a in archs:
        m = space.mutate(a, rng)
        assert space.is_valid(m), f"{space.name}: mutate({a!r}) gave an invalid {m!r}"
        if m == a:
            assert space.mutation_may_repeat, (
                f"{space.name}: mutate({a!r}) returned the same architecture"
            )
            same += 1
    if len(archs) >= 20:  # a rate, so only on enough samples (a few may all repeat by chance)
        assert same <= len(archs) // 2, f"{space.name}: most mutations return their input"


def check_crossover(space: SearchSpace[Any], archs: list[Any], rng: np.random.Generator) -> None:
    for a, b in zip(archs[::2], archs[1::2], strict=False):
        c = space.crossover(a, b, rng)
        assert space.is_valid(c), f"{space.name}: crossover gave an invalid {c!r}"


def check_canonical_stable(space: SearchSpace[Any], archs: list[Any]) -> None:
    for a in archs:
        k = space.canonical(a)
        assert isinstance(k, str) and k, f"{space.name}: canonical key must be a non-empty str"
        assert space.canonical(a) == k, f"{space.name}: canonical key is not deterministic"
        assert space.canonical(space.from_str(space.to_str(a))) == k


def check_encodings(space: SearchSpace[Any], archs: list[Any]) -> None:
    assert space.encodings, f"{space.name}: declares no encodings (surrogates need one)"
    for kind in space.encodings:
        shapes = set()
        for a in archs[:10]:
            e = space.encode(a, kind)
            if isinstance(e, Graph):
                assert e.edge_index.shape[0] == 2, f"{space.name}/{kind}: edge_index is not 2xE"
                if e.edge_index.size:
                    assert e.edge_index.max() < e.x.shape[0], f"{space.name}/{kind}: bad edge"
                shapes.add(("graph", e.x.shape[1]))
            else:
                arr = np.asarray(e)
                assert arr.ndim == 1, f"{space.name}/{kind}: vector encodings are 1-d"
                assert np.isfinite(arr).all(), f"{space.name}/{kind}: non-finite encoding"
                shapes.add(arr.shape)
        assert len(shapes) == 1, f"{space.name}/{kind}: encodings differ in length: {shapes}"


def check_neighbours(space: SearchSpace[Any], archs: list[Any]) -> None:
    """Neighbours are valid and differ; a restricted space (a sample of cells) may leave a cell
    isolated, but not every cell."""
    total = 0
    for a in archs:
        nb = space.neighbours(a)
        total += len(nb)
        for x in nb:
            assert space.is_valid(x), f"{space.name}: invalid neighbour {x!r}"
            assert x != a, f"{space.name}: a cell is its own neighbour"
    if len(archs) >= 5:
        assert total, f"{space.name}: none of {len(archs)} sampled cells has a neighbour"


def check_seeded(space: SearchSpace[Any], seed: int) -> None:
    a = [space.to_str(space.sample(np.random.default_rng(seed))) for _ in range(3)]
    assert len(set(a)) == 1, f"{space.name}: sampling is not a function of the generator"
