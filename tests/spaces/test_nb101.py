"""NB101 space: validity, official hashes, isomorphism invariance, operators, enumeration.

Everything runs on the real shipped data (the 30k sample and the 500 full specs); the official
reference is nasbench-pytorch's ``graph_util.hash_module``.
"""

from __future__ import annotations

import csv
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nasbench_pytorch.model import graph_util

from harness.benchmarks.registry import locate
from harness.errors import InvalidArchitecture, UnknownName
from harness.spaces import nb101_enum
from harness.spaces._base import Graph
from harness.spaces.nb101 import (
    CONV1X1,
    CONV3X3,
    INTERIOR_OPS,
    MAXPOOL3X3,
    NUM_CELLS,
    PATH_ENCODING_LENGTH,
    NB101Cell,
    NB101Space,
    canonical_form,
    pad_to_7,
)

SPACE = NB101Space()
INP, OUT = "input", "output"
seeds = st.integers(0, 2**32 - 1)


def official_hash(cell: NB101Cell) -> str:
    p = cell.pruned()
    return str(graph_util.hash_module(np.asarray(p.matrix), p.labels))


@functools.cache
def zc500_rows() -> list[tuple[str, NB101Cell]]:
    path = locate("nb101-zc500", "nb101/nb101_zc_proxies_500.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        m = np.array(row["adjacency_7x7_rowmajor"].split(), dtype=np.int64).reshape(7, 7)
        out.append((row["nb101_hash"], NB101Cell.from_spec(m, row["ops"].split(","))))
    return out


def random_topological_relabel(cell: NB101Cell, rng: np.random.Generator) -> NB101Cell:
    """The same cell with interior vertices renumbered in a random topological order."""
    m = cell.matrix
    n = len(m)
    order = [0]
    placed = {0}
    while len(order) < n - 1:
        ready = [
            v
            for v in range(1, n - 1)
            if v not in placed and all(u in placed for u in range(n) if m[u, v])
        ]
        v = ready[int(rng.integers(len(ready)))]
        order.append(v)
        placed.add(v)
    order.append(n - 1)
    return NB101Cell.from_spec(m[np.ix_(order, order)], [cell.ops[v] for v in order])


# ---------------------------------------------------------------------------------------------
# Validity


def chain(*ops: str) -> NB101Cell:
    n = len(ops) + 2
    m = np.zeros((n, n), dtype=int)
    for v in range(n - 1):
        m[v, v + 1] = 1
    return NB101Cell.from_spec(m, [INP, *ops, OUT])


def test_valid_small_cells_and_matrix_property():
    c = chain(CONV3X3)
    assert c.num_vertices == 3 and c.num_edges == 2
    assert isinstance(c.matrix, np.ndarray) and c.matrix.shape == (3, 3)
    assert c == NB101Cell(((0, 1, 0), (0, 0, 1), (0, 0, 0)), (INP, CONV3X3, OUT))
    assert hash(c) == hash(
        NB101Cell.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INP, CONV3X3, OUT])
    )
    m = c.matrix
    m[0, 2] = 1  # a copy: the cell is immutable
    assert c.matrix[0, 2] == 0
    direct = NB101Cell.from_spec([[0, 1], [0, 0]], [INP, OUT])
    assert SPACE.is_valid(direct) and direct.hash == official_hash(direct)


def _mat(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    m = np.zeros((n, n), dtype=int)
    for a, b in edges:
        m[a, b] = 1
    return m


TEN_EDGES = _mat(
    7, [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 6), (2, 6), (3, 6), (4, 6), (5, 6)]
)
OPS7 = [INP, CONV3X3, CONV1X1, MAXPOOL3X3, CONV3X3, CONV1X1, OUT]


@pytest.mark.parametrize(
    ("matrix", "ops", "message"),
    [
        (np.zeros((3, 4)), [INP, CONV3X3, OUT], "square"),
        (np.zeros(3), [INP, CONV3X3, OUT], "square"),
        (np.zeros((8, 8)), [INP] + [CONV3X3] * 6 + [OUT], "8 vertices"),
        (np.zeros((1, 1)), [INP], "1 vertices"),
        ([[0, 2, 0], [0, 0, 1], [0, 0, 0]], [INP, CONV3X3, OUT], "0 or 1"),
        ([[0, 0.5, 0], [0, 0, 1], [0, 0, 0]], [INP, CONV3X3, OUT], "0 or 1"),
        ([[0, -1, 0], [0, 0, 1], [0, 0, 0]], [INP, CONV3X3, OUT], "0 or 1"),
        ([["a", "b"], ["c", "d"]], [INP, OUT], "0/1 numbers"),
        (
            [[0, 1, 1], [0, 0, 1], [0, 1, 0]],
            [INP, CONV3X3, OUT],
            "upper triangular",
        ),  # cycle 1<->2
        ([[1, 1], [0, 0]], [INP, OUT], "self-loop"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INP, CONV3X3], "2 entries"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [CONV3X3, INP, OUT], "first op"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INP, CONV3X3, CONV3X3], "last op"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INP, "conv5x5", OUT], "unknown op 'conv5x5'"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INP, INP, OUT], "unknown op 'input'"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], "input,conv3x3-bn-relu,output", "sequence"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INP, CONV3X3, OUT], "does not reach"),
        (np.zeros((7, 7)), OPS7, "does not reach"),
        (TEN_EDGES, OPS7, "10 edges after pruning"),
    ],
)
def test_bad_specs_raise_with_a_clear_message(matrix, ops, message):
    with pytest.raises(InvalidArchitecture, match=message):
        NB101Cell.from_spec(matrix, ops)
    with pytest.raises(InvalidArchitecture, match=message):
        SPACE.from_spec(matrix, ops)
    assert not SPACE.is_valid((matrix, ops))


def test_edge_limit_applies_after_pruning_as_in_the_official_api():
    # 10 raw edges, but vertex 5's two edges dangle (no path to the output): 8 edges remain.
    m = TEN_EDGES.copy()
    m[5, 6] = 0
    m[4, 5] = 1
    c = NB101Cell.from_spec(m, OPS7)
    assert c.num_edges == 10 and c.pruned().num_edges == 8 and c.pruned().num_vertices == 6


def test_direct_construction_validates_and_is_not_valid_for_other_types():
    with pytest.raises(InvalidArchitecture, match="from_spec"):
        NB101Cell([[0, 1], [0, 0]], (INP, OUT))  # type: ignore[arg-type]
    with pytest.raises(InvalidArchitecture, match="does not reach"):
        NB101Cell(((0, 0), (0, 0)), (INP, OUT))
    assert not SPACE.is_valid("adj=01/00|ops=input,output")
    assert not SPACE.is_valid(None)
    assert SPACE.is_valid(([[0, 1], [0, 0]], [INP, OUT]))


def test_pruning_removes_vertices_off_every_input_output_path():
    # 0->1->4, 0->2 (2 has no out-edge), 3->4 (3 has no in-edge)
    m = _mat(5, [(0, 1), (1, 4), (0, 2), (3, 4)])
    c = NB101Cell.from_spec(m, [INP, CONV1X1, MAXPOOL3X3, CONV3X3, OUT])
    assert c.pruned() == chain(CONV1X1)
    assert c.hash == chain(CONV1X1).hash


# ---------------------------------------------------------------------------------------------
# Hashes


def test_zc500_specs_hash_to_their_published_hash():
    rows = zc500_rows()
    assert len(rows) == 500
    assert len({h for h, _ in rows}) == 292  # data README: 292 distinct cells
    for h, cell in rows:
        assert SPACE.canonical(cell) == h
        assert official_hash(cell) == h
    assert nb101_enum.hash_cells([c for _, c in rows]) == [h for h, _ in rows]


def test_fast_batch_hash_equals_official_on_random_cells():
    rng = np.random.default_rng(101)
    cells = [SPACE.sample(rng) for _ in range(3000)]
    cells += [SPACE.mutate(c, rng) for c in cells[:1000]]
    assert sorted({c.pruned().num_vertices for c in cells}) == [2, 3, 4, 5, 6, 7]
    assert nb101_enum.hash_cells(cells) == [official_hash(c) for c in cells]


def test_fast_batch_hash_equals_official_on_every_small_class():
    # every class with at most 5 vertices (2,532 cells) through the enumeration's own path
    for n in range(2, 6):
        mats, labels = nb101_enum._classes(n)
        fast = nb101_enum.hash_batch(mats, labels)
        for m, lab, h in zip(mats, labels, fast, strict=True):
            assert h.decode() == graph_util.hash_module(m.astype(int), [-1, *lab.tolist(), -2])


def test_official_op_labels():
    # the official config['available_ops'] order; a single-op chain pins each label
    assert INTERIOR_OPS == (CONV3X3, CONV1X1, MAXPOOL3X3)
    for label, op in enumerate(INTERIOR_OPS):
        m = np.asarray(chain(op).matrix)
        assert chain(op).hash == graph_util.hash_module(m, [-1, label, -2])


# ---------------------------------------------------------------------------------------------
# Isomorphism invariance (property tests over seeded samples)


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_relabelled_cells_have_the_same_canonical_key_and_encodings(seed):
    rng = np.random.default_rng(seed)
    cell = SPACE.sample(rng)
    other = random_topological_relabel(cell, rng)
    assert SPACE.canonical(other) == SPACE.canonical(cell)
    assert canonical_form(other) == canonical_form(cell)
    for kind in ("adjacency", "onehot", "path"):
        np.testing.assert_array_equal(SPACE.encode(other, kind), SPACE.encode(cell, kind))
    g1, g2 = SPACE.encode(cell, "graph"), SPACE.encode(other, "graph")
    assert isinstance(g1, Graph) and isinstance(g2, Graph)
    np.testing.assert_array_equal(g1.x, g2.x)
    np.testing.assert_array_equal(g1.edge_index, g2.edge_index)


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_canonical_form_is_a_pruned_isomorphic_cell(seed):
    cell = SPACE.sample(np.random.default_rng(seed))
    cf = canonical_form(cell)
    assert cf.hash == cell.hash
    assert cf.pruned() == cf
    assert cf.num_vertices == cell.pruned().num_vertices
    assert sorted(cf.ops) == sorted(cell.pruned().ops)
    m, ops = pad_to_7(cf)
    assert NB101Cell.from_spec(m, ops).hash == cell.hash


# ---------------------------------------------------------------------------------------------
# Operators


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_mutate_is_valid_and_a_different_network(seed):
    rng = np.random.default_rng(seed)
    parent = SPACE.sample(rng)
    for _ in range(5):
        child = SPACE.mutate(parent, rng)
        assert isinstance(child, NB101Cell) and SPACE.is_valid(child)
        assert SPACE.canonical(child) != SPACE.canonical(parent)
        assert child.num_vertices == 7
        parent = child


def test_mutate_pads_small_cells_and_changes_few_genes():
    rng = np.random.default_rng(7)
    small = chain(CONV3X3)
    child = SPACE.mutate(small, rng)
    assert child.hash != small.hash and child.num_vertices == 7
    diffs = []
    for _ in range(300):
        p = SPACE.sample(rng)
        c = SPACE.mutate(p, rng)
        diffs.append(
            int((p.matrix != c.matrix).sum())
            + sum(a != b for a, b in zip(p.ops, c.ops, strict=True))
        )
    assert 1 <= np.mean(diffs) <= 4  # about one edge flip and one op change per mutation


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_crossover_is_valid_and_mixes_parent_genes(seed):
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    child = SPACE.crossover(a, b, rng)
    assert SPACE.is_valid(child) and child.num_vertices == 7
    ma, mb, mc = a.matrix, b.matrix, child.matrix
    assert np.all((mc == ma) | (mc == mb))
    assert all(c in (x, y) for c, x, y in zip(child.ops, a.ops, b.ops, strict=True))


def test_crossover_of_small_cells():
    rng = np.random.default_rng(3)
    for _ in range(20):
        child = SPACE.crossover(chain(CONV3X3), chain(MAXPOOL3X3, CONV1X1), rng)
        assert SPACE.is_valid(child)


def test_sample_and_mutate_are_deterministic_for_a_seed():
    def run(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        cells = [SPACE.sample(rng) for _ in range(20)]
        cells += [SPACE.mutate(c, rng) for c in cells]
        cells += [SPACE.crossover(cells[i], cells[i + 1], rng) for i in range(10)]
        return [SPACE.to_str(c) for c in cells]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_sample_matches_random_spec_statistics():
    # uniform over valid raw 7x7 specs: raw edge bits have p close to (a bit above) 1/2
    rng = np.random.default_rng(0)
    cells = [SPACE.sample(rng) for _ in range(2000)]
    assert all(c.num_vertices == 7 for c in cells)
    assert 0.4 < np.mean([c.num_edges / 21 for c in cells]) < 0.6
    # many raw specs prune to the same small cell (why random_spec is not uniform over cells)
    assert 500 < len({c.hash for c in cells}) < 2000


def test_neighbours_are_one_step_distinct_and_valid():
    rng = np.random.default_rng(5)
    for _ in range(10):
        cell = SPACE.sample(rng)
        nbrs = SPACE.neighbours(cell)
        keys = [SPACE.canonical(c) for c in nbrs]
        assert nbrs and len(set(keys)) == len(keys) and SPACE.canonical(cell) not in keys
        m0, ops0 = pad_to_7(cell)
        for c in nbrs:
            d_edges = int((c.matrix != m0).sum())
            d_ops = sum(x != y for x, y in zip(c.ops, ops0, strict=True))
            assert (d_edges, d_ops) in ((1, 0), (0, 1))
        assert len(nbrs) <= 21 + 10
    assert len(SPACE.neighbours(chain(CONV3X3))) > 0


# ---------------------------------------------------------------------------------------------
# Strings and encodings


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_to_str_round_trips(seed):
    cell = SPACE.sample(np.random.default_rng(seed))
    text = SPACE.to_str(cell)
    assert SPACE.from_str(text) == cell
    assert SPACE.from_str(SPACE.to_str(cell.pruned())) == cell.pruned()


def test_string_format_example():
    c = chain(CONV3X3)
    assert SPACE.to_str(c) == "adj=010/001/000|ops=input,conv3x3-bn-relu,output"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot parse"),
        ("adj=010/001/000", "cannot parse"),
        ("adj=010/0a1/000|ops=input,conv3x3-bn-relu,output", "0/1 digits"),
        ("adj=010/01/000|ops=input,conv3x3-bn-relu,output", "differ in length"),
        ("adj=010/001/000|ops=input,conv5x5,output", "unknown op"),
        ("adj=011/000/000|ops=input,conv3x3-bn-relu,output", None),  # valid: 1 dangles
        ("adj=000/001/000|ops=input,conv3x3-bn-relu,output", "does not reach"),
        ("adj=010/101/000|ops=input,conv3x3-bn-relu,output", "upper triangular"),
    ],
)
def test_from_str_errors(text, message):
    if message is None:
        assert SPACE.from_str(text).pruned() == NB101Cell.from_spec([[0, 1], [0, 0]], [INP, OUT])
        return
    with pytest.raises(InvalidArchitecture, match=message):
        SPACE.from_str(text)


def test_encoding_shapes_and_values():
    rng = np.random.default_rng(11)
    cells = [SPACE.sample(rng) for _ in range(50)]
    for c in cells:
        adj = SPACE.encode(c, "adjacency")
        assert isinstance(adj, np.ndarray) and adj.shape == (36,) and adj.dtype == np.float32
        assert set(np.unique(adj)) <= {0.0, 1.0}
        assert adj[:21].sum() == c.pruned().num_edges
        assert adj[21:].sum() == c.pruned().num_vertices - 2
        np.testing.assert_array_equal(SPACE.encode(c, "onehot"), adj)
        path = SPACE.encode(c, "path")
        assert isinstance(path, np.ndarray) and path.shape == (PATH_ENCODING_LENGTH,) == (364,)
        assert path.sum() >= 1
        g = SPACE.encode(c, "graph")
        assert isinstance(g, Graph)
        p = c.pruned()
        assert g.x.shape == (p.num_vertices, 5) and g.edge_index.shape == (2, p.num_edges)
        assert g.edge_index.dtype == np.int64 and np.all(g.x.sum(axis=1) == 1)
    assert SPACE.encode_many(cells, "path").shape == (50, 364)
    with pytest.raises(UnknownName, match="did you mean 'path'"):
        SPACE.encode(cells[0], "paths")


def test_path_encoding_known_cells():
    # input->output directly: the empty path, index 0
    direct = SPACE.encode(NB101Cell.from_spec([[0, 1], [0, 0]], [INP, OUT]), "path")
    assert np.flatnonzero(direct).tolist() == [0]
    # input->conv1x1->maxpool->output: index 3**0*(1+1) + 3**1*(2+1) = 11
    assert np.flatnonzero(SPACE.encode(chain(CONV1X1, MAXPOOL3X3), "path")).tolist() == [11]
    # diamond 0->1->3, 0->2->3 plus 0->3: paths (), (conv3x3), (maxpool) -> 0, 1, 3
    m = _mat(4, [(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)])
    cell = NB101Cell.from_spec(m, [INP, CONV3X3, MAXPOOL3X3, OUT])
    assert np.flatnonzero(SPACE.encode(cell, "path")).tolist() == [0, 1, 3]


def test_adjacency_encoding_known_cell():
    # input->conv1x1->output padded to 7: edges (0,1) and (1,6); op one-hot of vertex 1
    v = SPACE.encode(chain(CONV1X1), "adjacency")
    rows, cols = np.triu_indices(7, k=1)
    on = {(int(r), int(c)) for r, c, x in zip(rows, cols, v[:21], strict=True) if x}
    assert on == {(0, 1), (1, 6)}
    assert np.flatnonzero(v[21:]).tolist() == [1]  # vertex 1, conv1x1 (label 1)


def test_size_and_name():
    assert SPACE.name == "nb101" and SPACE.size() == NUM_CELLS == 423_624
    with pytest.raises(ValueError):
        NB101Space(mutation_rate=0)


# ---------------------------------------------------------------------------------------------
# Enumeration and the 30k sample


@pytest.fixture(scope="module")
def space_table() -> nb101_enum.NB101Table:
    return nb101_enum.load_nb101_space()  # cached on disk; built (about a minute) when missing


def test_full_dag_counts():
    # 4,793 fully connected 7-vertex DAGs with <= 9 edges
    assert [len(nb101_enum.full_dags(n)) for n in range(2, 8)] == [1, 2, 10, 121, 1545, 4793]


@pytest.mark.slow
def test_enumeration_has_exactly_423624_cells(space_table):
    t = space_table
    assert len(t) == NUM_CELLS == 423_624
    assert len(np.unique(t.hash)) == NUM_CELLS
    assert np.all(t.hash[1:] > t.hash[:-1])  # sorted, for searchsorted lookups
    counts = np.bincount(t.num_vertices, minlength=8)[2:].tolist()
    assert counts == [1, 6, 84, 2441, 62010, 359082]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(t), size=1500, replace=False):
        cell = t.cell_at(int(i))
        assert official_hash(cell) == t.hash[i].decode()
        assert canonical_form(cell) == cell
        assert cell.num_edges <= 9


@pytest.mark.slow
def test_lookup_by_hash_gives_the_canonical_form(space_table):
    rng = np.random.default_rng(9)
    for _ in range(300):
        c = SPACE.sample(rng)
        assert space_table.cell(c.hash) == canonical_form(c)
        assert c.hash in space_table
    assert "0" * 32 not in space_table
    assert space_table.index(["0" * 32]).tolist() == [-1]


@pytest.mark.slow
def test_30k_sample_specs_are_all_recovered(space_table):
    table, n_csv = nb101_enum.recover_30k_specs()
    assert n_csv == 30_001 and len(table) == 30_001
    committed = nb101_enum.load_nb101_30k_specs()
    for k, v in table.arrays().items():
        np.testing.assert_array_equal(getattr(committed, k), v)
    # the committed specs hash to their keys (official hash), the published first record included
    rng = np.random.default_rng(1)
    for i in rng.choice(len(committed), size=500, replace=False):
        assert official_hash(committed.cell_at(int(i))) == committed.hash[i].decode()
    first = committed.cell("00005c142e6f48ac74fdcf73e3439874")
    assert official_hash(first) == "00005c142e6f48ac74fdcf73e3439874"


def test_committed_30k_specs_file_is_small_and_consistent():
    committed = nb101_enum.load_nb101_30k_specs()
    assert len(committed) == 30_001 and nb101_enum.SPECS_30K.stat().st_size < 1_000_000
    assert np.all(committed.hash[1:] > committed.hash[:-1])
    assert set(np.unique(committed.num_vertices).tolist()) <= set(range(2, 8))


@pytest.mark.slow
def test_zc500_cells_in_the_enumeration(space_table):
    for h, cell in zc500_rows():
        assert space_table.cell(h) == canonical_form(cell)


def test_unique_rows_is_exact():
    rng = np.random.default_rng(4)
    rows = rng.integers(0, 5, size=(20_000, 3))
    urows, inv = nb101_enum._unique_rows(rows, np.random.default_rng(0))
    np.testing.assert_array_equal(urows[inv], rows)
    assert len(urows) == len(np.unique(rows, axis=0)) == 125


def test_unreadable_cache_file_is_treated_as_missing(tmp_path):
    bad = tmp_path / "nb101_space.npz"
    bad.write_bytes(b"not a zip file")
    assert nb101_enum._load(bad) is None
    assert nb101_enum._load(tmp_path / "absent.npz") is None
    small = nb101_enum.load_nb101_30k_specs()
    nb101_enum._save(bad, small.arrays())
    assert len(nb101_enum._load(bad)) == 30_001
