from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.benchmarks import registry
from harness.errors import InvalidArchitecture
from harness.spaces import nb201
from harness.spaces._base import Graph

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
archs = st.tuples(*[st.integers(0, 4)] * 6)
SPACE = nb201.NB201Space()


def test_known_cells_string_index_tuple():
    # index 6111 is the best cifar10 cell (data README); the tuple is read off the string by hand
    a = nb201.str_to_arch(BEST_C10)
    assert a == (3, 3, 3, 1, 3, 2)
    assert nb201.index_of(a) == 6111
    assert nb201.arch_to_str(nb201.arch_of_index(6111)) == BEST_C10
    # NASLib / analog-nasbench: ops 0 skip 1 none 2 conv3x3 3 conv1x1 4 avg_pool over edges
    # (0,1),(0,2),(0,3),(1,2),(1,3),(2,3) -- converted by hand from the string above
    assert nb201.to_naslib(a) == (2, 2, 0, 2, 2, 3)
    assert nb201.from_naslib((2, 2, 0, 2, 2, 3)) == a
    # an asymmetric cell pins the edge order: only edge (0,3) is avg_pool, (1,2) is conv1x1
    s = "|none~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|none~2|"
    b = nb201.str_to_arch(s)
    assert b == (0, 0, 2, 4, 0, 0)
    assert nb201.to_naslib(b) == (1, 1, 4, 3, 1, 1)


def test_roundtrip_all_cells_against_shipped_strings():
    df = pd.read_csv(registry.locate("nb201", "nb201/nb201_test_acc_200ep.csv"))
    for idx, s in zip(df["nb201_index"], df["arch_str"], strict=True):
        a = nb201.str_to_arch(s)
        assert nb201.index_of(a) == idx
        assert nb201.arch_to_str(a) == s
        assert nb201.from_naslib(nb201.to_naslib(a)) == a
        assert nb201.parse(int(idx)) == a
    assert len(df) == nb201.N_CELLS


def test_naslib_strings_from_naslib_file_match_official_index():
    # NASLib's own export names cells by official string and index: they must agree with ours
    df = pd.read_csv(registry.locate("nb201", "nb201/zc_proxies_with_time_725.csv"))
    for idx, s in zip(df["nb201_index"], df["arch_str"], strict=True):
        assert nb201.index_of(nb201.str_to_arch(s)) == idx


def test_isomorphism_classes(space201):
    keys = {space201.canonical(a) for a in nb201.ALL_ARCHS}
    assert len(keys) == nb201.N_UNIQUE == 6466
    ids = {space201.class_id(a) for a in nb201.ALL_ARCHS}
    assert ids == set(range(6466))


def test_canonical_semantics_examples(space201):
    key = space201.canonical
    # skip_connect passes its input through: conv3x3 after a skip from the input equals a direct
    # conv3x3 from the input (the '#' terms of the two none edges sort the same way)
    a = nb201.str_to_arch("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    b = nb201.str_to_arch("|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert key(a) == key(b)
    # a node whose only input is none is zero: whatever leaves it is zero too
    c = nb201.str_to_arch(
        "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|"
    )
    d = nb201.str_to_arch(
        "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    )
    assert key(c) == key(d)
    # NATS semantics are literal: a node with two zero inputs is '#+#', not '#', so what leaves
    # it still counts (this is what gives the paper's 6,466 classes)
    e = nb201.str_to_arch(
        "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    )
    f = nb201.str_to_arch(
        "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    )
    assert key(e) != key(f)
    assert key(a) != key(c)


def test_canonical_agrees_with_official_nats_structure():
    from nats_bench.genotype_utils import topology_str2structure

    rng = np.random.default_rng(0)
    for code in rng.choice(nb201.N_CELLS, size=500, replace=False):
        a = nb201.arch_of_code(int(code))
        official = topology_str2structure(nb201.arch_to_str(a)).to_unique_str(consider_zero=True)
        assert nb201.unique_str(a) == official


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|nor_conv_3x3~0|",
        "|conv~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
        "-1",
        "15625",
    ],
)
def test_bad_strings(bad):
    with pytest.raises(InvalidArchitecture):
        nb201.parse(bad)


@pytest.mark.parametrize("bad", [(0, 1, 2), (0, 1, 2, 3, 4, 5), ("a",) * 6, None])
def test_bad_tuples(bad):
    with pytest.raises(InvalidArchitecture):
        nb201.check_arch(bad)
    assert not nb201.NB201Space().is_valid(bad)


@settings(max_examples=200, deadline=None)
@given(archs, st.integers(0, 2**32 - 1))
def test_mutation_changes_exactly_one_edge(a, seed):
    m = SPACE.mutate(a, np.random.default_rng(seed))
    assert SPACE.is_valid(m)
    assert sum(x != y for x, y in zip(a, m, strict=True)) == 1
    assert m in SPACE.neighbours(a)


@settings(max_examples=200, deadline=None)
@given(archs, archs, st.integers(0, 2**32 - 1))
def test_crossover_takes_each_edge_from_a_parent(a, b, seed):
    c = SPACE.crossover(a, b, np.random.default_rng(seed))
    assert all(x in (p, q) for x, p, q in zip(c, a, b, strict=True))


@settings(max_examples=100, deadline=None)
@given(archs)
def test_roundtrips_and_encodings(a):
    assert SPACE.from_str(SPACE.to_str(a)) == a
    assert nb201.arch_of_index(nb201.index_of(a)) == a
    assert SPACE.encode(a, "onehot").shape == (30,)
    assert SPACE.encode(a, "onehot").sum() == 6
    adj = SPACE.encode(a, "adjacency")
    assert adj.shape == (52,)
    assert adj[28:].sum() == sum(op != 0 for op in a)
    path = SPACE.encode(a, "path")
    assert path.shape == (nb201.PATH_DIM,)
    assert (path.sum() > 0) == (nb201.output_connected(a) and _has_nonnone_route(a))
    g = SPACE.encode(a, "graph")
    assert isinstance(g, Graph)
    assert g.x.shape == (8, 7)
    assert g.edge_index.shape[0] == 2
    assert np.all(g.edge_index[0] < g.edge_index[1])  # a DAG in topological order


def _has_nonnone_route(a):
    return any(all(a[e] != 0 for e in r) for r in ((3,), (0, 4), (1, 5), (0, 2, 5)))


def test_isomorphic_cells_share_the_canonical_key_but_may_differ_in_encoding(space201):
    # the class of index 6111 has more than one member? count sizes: every class is non-empty
    _, class_id = nb201._unique_tables()
    sizes = np.bincount(class_id)
    assert sizes.sum() == nb201.N_CELLS and sizes.min() >= 1 and sizes.max() > 1


def test_sampling_is_uniform_and_seeded(space201):
    a = [space201.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(1)
    codes = np.array([nb201.code_of(space201.sample(rng)) for _ in range(50_000)])
    # each edge's op is uniform: chi-square over the 5 ops of edge 0
    counts = np.bincount(codes // 5**5, minlength=5)
    expected = 50_000 / 5
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 18.5  # p < 0.001 for 4 dof


def test_unknown_encoding(space201):
    with pytest.raises(InvalidArchitecture, match="unknown NB201 encoding"):
        space201.encode((0,) * 6, "nope")
