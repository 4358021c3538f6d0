"""NAS-Bench-Graph space: the package's hash as key, counts against the shipped data, invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nas_bench_graph import Arch, light_read

from harness.errors import InvalidArchitecture, NotInBenchmark
from harness.spaces._base import Graph
from harness.spaces.nbgraph import (
    ALL_SKIP_KEY,
    LINKS,
    OPS,
    OPS_PROTEINS,
    NBGraphSpace,
    key_table,
)

MAIN = NBGraphSpace("main")
PROT = NBGraphSpace("proteins")
seeds = st.integers(0, 2**32 - 1)


def test_link_patterns_and_ops_are_the_packages():
    from nas_bench_graph import architecture as pkg

    assert len(LINKS) == 24  # node i reads one of nodes 0..i
    assert OPS == tuple(pkg.gnn_list)
    assert OPS_PROTEINS == tuple(pkg.gnn_list_proteins)


def test_every_genotype_maps_onto_exactly_the_benchmark_keys():
    """157,440 main genotypes -> the 26,206 keys of every main dataset; 14,976 -> proteins' 2,021."""
    table = key_table()
    assert table.size == 24 * 9**4
    assert MAIN.size() == 157_440 and PROT.size() == 14_976
    main_keys = set(light_read("cora"))
    assert len(main_keys) == 26_206
    assert set(MAIN.all_keys().tolist()) == main_keys
    assert set(np.unique(table).tolist()) == main_keys | {ALL_SKIP_KEY}
    for ds in ("citeseer", "arxiv"):
        assert set(light_read(ds)) == main_keys
    prot_keys = set(light_read("proteins"))
    assert len(prot_keys) == 2_021
    assert set(PROT.all_keys().tolist()) == prot_keys
    assert MAIN.n_keys() == 26_206 and PROT.n_keys() == 2_021


def test_key_table_matches_the_official_hash_on_a_sample():
    rng = np.random.default_rng(0)
    for _ in range(500):
        a = MAIN.sample(rng)
        names = [OPS[o] for o in a[4:]]
        assert MAIN.key(a) == Arch(list(a[:4]), names).valid_hash()


def test_readme_example_same_network_two_orders():
    # the package README's example, written in a second node order. (The README's own second
    # order, links 0,1,1,2, feeds fc from cheb instead of gin: a different network, and the
    # hash rightly differs; 0,1,1,3 is the same network.)
    a = MAIN.from_str("0,1,2,1|gcn,gin,fc,cheb")
    b = MAIN.from_str("0,1,1,3|gcn,cheb,gin,fc")
    assert MAIN.canonical(a) == MAIN.canonical(b)
    assert MAIN.key(a) == Arch([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).valid_hash()
    assert MAIN.encode(a, "adjacency").tolist() == MAIN.encode(b, "adjacency").tolist()
    readme_b = MAIN.from_str("0,1,1,2|gcn,cheb,gin,fc")
    assert MAIN.canonical(readme_b) != MAIN.canonical(a)


def test_no_two_keys_are_the_same_graph():
    """Keys = structural isomorphism classes: no key's canonical genotype can be renumbered into
    another key's (and by the sampled relabelings below, renumbering never changes a key)."""
    for sp in (MAIN, PROT):
        structural = set()
        for k in sp.all_keys().tolist():
            a = sp.arch_of_key(k)
            structural.add(min(b for p in PERMS if (b := _relabel(a, p)) is not None))
        assert len(structural) == sp.n_keys()


def test_canonical_genotype_of_every_key_has_that_key():
    for sp in (MAIN, PROT):
        for k in sp.all_keys().tolist():
            assert sp.key(sp.arch_of_key(k)) == k


def test_all_skip_is_invalid():
    with pytest.raises(InvalidArchitecture, match="all-'skip'"):
        MAIN.check((0, 0, 0, 0, 8, 8, 8, 8))
    assert not MAIN.is_valid((0, 1, 2, 3, 8, 8, 8, 8))


def test_bad_input_names_the_problem():
    with pytest.raises(InvalidArchitecture, match="unknown nbgraph operation 'gru'"):
        MAIN.from_str("0,1,2,1|gcn,gru,fc,cheb")
    with pytest.raises(InvalidArchitecture, match="main space only"):
        PROT.from_str("0,1,2,1|gcn,gat,fc,sage")
    with pytest.raises(InvalidArchitecture, match=r"op 1 is 0 \(gat\), not an op"):
        PROT.check((0, 0, 0, 0, 1, 0, 1, 1))
    with pytest.raises(InvalidArchitecture, match="link 2 is 3"):
        MAIN.check((0, 1, 3, 0, 1, 1, 1, 1))
    with pytest.raises(InvalidArchitecture, match="8 integers"):
        MAIN.check((0, 1, 2))
    with pytest.raises(InvalidArchitecture, match="links\\|ops"):
        MAIN.from_str("gcn,gin,fc,cheb")
    with pytest.raises(NotInBenchmark, match="'gat' is not one of its ops"):
        PROT.arch_of_key(0)  # key 0: four gat nodes


def _relabel(a: tuple[int, ...], perm: tuple[int, ...]) -> tuple[int, ...] | None:
    """The same network with computing node i renumbered perm[i], if still topologically ordered."""
    links, ops = a[:4], a[4:]
    nl: list[int] = [0] * 4
    no: list[int] = [0] * 4
    for i in range(4):
        nl[perm[i]] = 0 if links[i] == 0 else perm[links[i] - 1] + 1
        no[perm[i]] = ops[i]
    return tuple(nl) + tuple(no) if all(nl[i] <= i for i in range(4)) else None


PERMS = list(itertools.permutations(range(4)))


@settings(max_examples=150, deadline=None)
@given(seeds, st.sampled_from(["main", "proteins"]))
def test_space_invariants(seed, which):
    sp = MAIN if which == "main" else PROT
    rng = np.random.default_rng(seed)
    a = sp.sample(rng)
    assert sp.is_valid(a)
    # mutation: valid, different genotype and different key; deterministic for a seed
    m = sp.mutate(a, rng)
    assert sp.is_valid(m) and m != a and sp.canonical(m) != sp.canonical(a)
    assert sp.mutate(a, np.random.default_rng(seed)) == sp.mutate(a, np.random.default_rng(seed))
    c = sp.crossover(a, m, rng)
    assert sp.is_valid(c)
    # round trips
    assert sp.from_str(sp.to_str(a)) == a
    assert sp.canonical(sp.from_str(sp.canonical(a))) == sp.canonical(a)
    assert sp.from_params({k: a[i + 1] for i, k in enumerate(["link1", "link2", "link3"])}
                          | {f"op{i}": OPS[a[4 + i]] for i in range(4)}) == a  # fmt: skip
    # key stable under isomorphism (node renumbering), encodings equal for isomorphic cells
    for perm in PERMS:
        b = _relabel(a, perm)
        if b is not None:
            assert sp.canonical(b) == sp.canonical(a)
            for kind in ("onehot", "adjacency", "path"):
                assert np.array_equal(sp.encode(a, kind), sp.encode(b, kind))
    # fixed-length encodings
    n_ops = len(sp.ops)
    assert sp.encode(a, "onehot").shape == (10 + 4 * n_ops,)
    assert sp.encode(a, "adjacency").shape == (15 + 4 * n_ops,)
    path = sp.encode(a, "path")
    assert path.shape == (sum(n_ops**k for k in range(1, 5)),)
    leaves = sum((i + 1) not in a[:4] for i in range(4))
    assert 1 <= path.sum() <= leaves  # one path per leaf (equal paths share a bit)
    g = sp.encode(a, "graph")
    assert isinstance(g, Graph) and g.x.shape == (6, 2 + n_ops)
    assert g.edge_index.shape[0] == 2 and g.edge_index.max() <= 5
    # every neighbour is valid and one gene away
    for nb in sp.neighbours(a)[:10]:
        assert sp.is_valid(nb) and sum(x != y for x, y in zip(a, nb, strict=True)) == 1


def test_proteins_samples_use_only_its_ops():
    rng = np.random.default_rng(3)
    allowed = {OPS.index(o) for o in OPS_PROTEINS}
    for _ in range(200):
        a = PROT.sample(rng)
        assert set(a[4:]) <= allowed
        assert set(PROT.mutate(a, rng)[4:]) <= allowed


def test_encode_many_and_unknown_encoding():
    rng = np.random.default_rng(5)
    archs = [MAIN.sample(rng) for _ in range(8)]
    assert MAIN.encode_many(archs, "onehot").shape == (8, 46)
    with pytest.raises(InvalidArchitecture, match="unknown nbgraph encoding 'study'"):
        MAIN.encode(archs[0], "study")


def test_key_table_cache_is_checked_and_rebuilt_when_edited(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path))
    key_table.cache_clear()
    try:
        first = key_table().copy()
        (d,) = [p for p in tmp_path.iterdir() if p.name.startswith("nbgraph-keys-")]
        edited = first.copy()
        edited[0] = 12345
        np.save(d / "keys.npy", edited)
        key_table.cache_clear()
        again = key_table()
        assert "failed its check" in capsys.readouterr().err
        assert np.array_equal(again, first)
        assert first[0] == Arch([0, 0, 0, 0], ["gat"] * 4).valid_hash()
    finally:
        key_table.cache_clear()


def test_path_encoding_of_a_known_cell():
    # gcn -> gin -> fc and gcn -> cheb: two paths, (gcn, gin, fc) and (gcn, cheb)
    a = MAIN.from_str("0,1,2,1|gcn,gin,fc,cheb")
    v = MAIN.encode(a, "path")
    n = 9
    i3 = n + n**2 + (OPS.index("gcn") * n + OPS.index("gin")) * n + OPS.index("fc")
    i2 = n + OPS.index("gcn") * n + OPS.index("cheb")
    assert set(np.flatnonzero(v).tolist()) == {i2, i3}


@pytest.mark.slow
def test_every_registered_strategy_runs_on_nbgraph_or_says_why():
    """The strategies run unchanged on this space: valid proposals within the budget, or one
    clear refusal (multi-fidelity strategies: the package ships no fidelities; REINFORCE: no
    categorical genome)."""
    from harness import strategies
    from harness.benchmarks import get_benchmark
    from harness.errors import ConfigError
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search

    small = {"bananas": {"n_ensemble": 2, "surrogate_params": {"hidden": (16,), "epochs": 10}},
             "gp_bo": {"batch_size": 5}, "gp_bo_ucb": {"batch_size": 5},
             "genetic": {"population_size": 10}, "genetic_study": {"population_size": 10}}  # fmt: skip
    refused = {}
    for name in strategies.STRATEGIES.names():
        ev = TabularEvaluator(get_benchmark("nbgraph"), "cora", space=MAIN)
        try:
            s = strategies.create(
                name, MAIN, seed=np.random.SeedSequence([0]), **small.get(name, {})
            )
            r = run_search(s, ev, Budget(evaluations=30))
        except ConfigError as e:
            refused[name] = str(e)
            continue
        assert r.trials and all(MAIN.is_valid(MAIN.from_str(t.arch)) for t in r.trials), name
    for name, why in refused.items():
        assert "fidelit" in why or "gene_shape" in why, (name, why)
    assert "bananas" not in refused and "neural_predictor" not in refused
