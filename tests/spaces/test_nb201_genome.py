"""The reference study's NB201 genome: its mapping's test vectors, invariants and encodings.

The four test vectors were read off the study's code at
foteinidd/genetic_nas_acceleration); the 52-bit layouts are worked out by hand below.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError, InvalidArchitecture
from harness.spaces import nb201
from harness.spaces import nb201_genome as g
from harness.spaces._base import Graph

SPACE = g.NB201StudyGenomeSpace()
C1, C3, AVG, SKIP = 0, 1, 2, 3

TV1 = g.genome_from_edges(["c3", "avg", "skip", "skip", "skip", "skip"], [(0, 1), (1, 2), (2, 7)])
TV2 = g.genome_from_edges(
    ["c1", "c3", "avg", "skip", "c1", "c3"], [(0, 1), (1, 2), (2, 3), (3, 4), (4, 7)]
)
TV3 = g.genome_from_edges(
    ["c1", "c3", "avg", "skip", "c1", "c3"],
    [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (1, 4), (4, 7), (2, 7)],
)
TV4 = g.StudyGenome((C1, C3, AVG, SKIP, C1, C3), (1,) * 28)

seeds = st.integers(0, 2**32 - 1)
genes = st.tuples(st.tuples(*[st.integers(0, 3)] * 6), st.tuples(*[st.integers(0, 1)] * 28)).map(
    lambda t: g.StudyGenome(*t)
)


def bit(r: int, c: int) -> int:
    return g.TRIU.index((r, c))


# -- the mapping ------------------------------------------------------------------------------


def test_vector_1_chain_through_two_ops():
    assert nb201.arch_to_str(SPACE.to_cell(TV1)) == (
        "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|none~2|"
    )
    assert SPACE.is_valid(TV1)


def test_vector_2_four_source_groups_is_invalid():
    assert not SPACE.is_valid(TV2)
    assert g.template(TV2.bits) is None
    assert "3 source groups" in g.why_invalid(TV2)
    with pytest.raises(InvalidArchitecture, match="maps to no NB201 cell"):
        SPACE.to_cell(TV2)


def test_vector_3_overwrites_and_drops():
    assert nb201.arch_to_str(SPACE.to_cell(TV3)) == (
        "|none~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|"
    )


def test_vector_4_all_bits_is_all_none():
    assert SPACE.to_cell(TV4) == (0, 0, 0, 0, 0, 0)
    # nothing is pruned, and every node is grouped with the input's first successor
    assert g.kept_nodes(TV4.bits) == tuple(range(8))


def test_input_to_output_only_is_valid_all_none():
    gen = g.genome_from_edges(["c1"] * 6, [(0, 7)])
    assert g.kept_nodes(gen.bits) == (0, 7)
    assert SPACE.is_valid(gen)
    assert SPACE.to_cell(gen) == (0,) * 6


def test_disconnected_input_is_invalid():
    gen = g.genome_from_edges(["c1"] * 6, [(0, 1), (2, 7)])
    assert g.kept_nodes(gen.bits) is None
    assert not SPACE.is_valid(gen)
    assert "does not reach the output" in g.why_invalid(gen)


def test_template_refers_to_original_nodes():
    # the chain 0->2->5->7 keeps (0, 2, 5, 7): pruned node 1 is original node 2, pruned node 2
    # is original node 5, and the template names original nodes
    gen = g.genome_from_edges(["c1", "c3", "c1", "c1", "avg", "c1"], [(0, 2), (2, 5), (5, 7)])
    assert g.kept_nodes(gen.bits) == (0, 2, 5, 7)
    assert g.template(gen.bits) == (2, 0, 5, 0, 0, 0)
    assert SPACE.to_cell(gen) == (3, 0, 4, 0, 0, 0)  # c3 on 0->1, avg on 1->2


@settings(max_examples=300, deadline=None)
@given(genes, st.tuples(*[st.integers(0, 3)] * 6))
def test_validity_depends_on_bits_only(gen, other_ops):
    swapped = g.StudyGenome(other_ops, gen.bits)
    assert SPACE.is_valid(gen) == SPACE.is_valid(swapped)


@settings(max_examples=300, deadline=None)
@given(genes)
def test_to_cell_is_a_valid_nb201_tuple_and_matches_template(gen):
    if not SPACE.is_valid(gen):
        return
    cell = SPACE.to_cell(gen)
    assert nb201.check_arch(cell) == cell
    assert nb201.str_to_arch(nb201.arch_to_str(cell)) == cell
    # no genome op is 'none', so every referenced node gives a real op
    t = g.template(gen.bits)
    assert t is not None
    assert all((c == 0) == (r == 0) for c, r in zip(cell, t, strict=True))
    assert SPACE.canonical(gen) == nb201.NB201Space().canonical(cell)


def test_vectorised_mapping_agrees_with_per_genome_mapping():
    rng = np.random.default_rng(7)
    bits = rng.random((20_000, 28)) < 0.5
    bits[:200] = rng.random((200, 28)) < 0.15  # sparse graphs: many pruned / invalid
    codes = g.templates_of_bits(bits)
    for row, code in zip(bits, codes, strict=True):
        t = g.template(tuple(int(x) for x in row))
        assert (code == -1) if t is None else (g.template_of_code(int(code)) == t)
    assert 0.05 < np.mean(codes < 0) < 0.2


def test_exact_counts_on_a_slice_agree_with_per_genome_path():
    start = 0b10110011 << 20  # a slice with input edges, so some patterns are valid
    counts, invalid = g.exact_template_counts(chunk_log2=11, limit_log2=12, start=start)
    expect: dict[int, int] = {}
    n_invalid = 0
    for x in range(start, start + 4096):
        t = g.template(tuple((x >> (27 - k)) & 1 for k in range(28)))
        if t is None:
            n_invalid += 1
        else:
            code = int(sum(r * 7 ** (5 - e) for e, r in enumerate(t)))
            expect[code] = expect.get(code, 0) + 1
    assert invalid == n_invalid
    assert {int(c): int(counts[c]) for c in np.flatnonzero(counts)} == expect


# -- sampling and variation -------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(seeds)
def test_sample_and_mutate_always_valid(seed):
    rng = np.random.default_rng(seed)
    parent = SPACE.sample(rng)
    assert SPACE.is_valid(parent)
    for _ in range(20):
        child = SPACE.mutate(parent, rng)
        assert SPACE.is_valid(child)
        parent = child
    other = SPACE.sample(rng)
    assert SPACE.is_valid(SPACE.crossover(parent, other, rng))


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_determinism_for_a_seed(seed):
    def run(s: int) -> list[g.StudyGenome]:
        rng = np.random.default_rng(s)
        out = [SPACE.sample(rng)]
        for _ in range(10):
            out.append(SPACE.mutate(out[-1], rng))
        out.append(SPACE.crossover(out[0], out[-1], rng))
        return out

    assert run(seed) == run(seed)


def test_mutation_statistics_match_the_study_rates():
    rng = np.random.default_rng(0)
    parent = TV3
    n = 4000
    op_changes = bit_changes = same = 0
    for _ in range(n):
        child = SPACE.mutate(parent, rng)
        op_changes += sum(a != b for a, b in zip(parent.ops, child.ops, strict=True))
        bit_changes += sum(a != b for a, b in zip(parent.bits, child.bits, strict=True))
        same += child == parent
    assert op_changes / n == pytest.approx(1.0, abs=0.06)  # 6 nodes x 1/6
    # 28 x 1/28 expected flips before rejecting invalid children (which have more flips)
    assert 0.6 < bit_changes / n < 1.1
    assert 0.05 < same / n < 0.25  # identical children happen, as in the study


def test_mutation_changes_op_to_a_different_one_and_rates_are_parameters():
    rng = np.random.default_rng(1)
    only_ops = g.NB201StudyGenomeSpace(op_rate=1.0, bit_rate=0.0)
    child = only_ops.mutate(TV1, rng)
    assert child.bits == TV1.bits
    assert all(a != b for a, b in zip(child.ops, TV1.ops, strict=True))
    only_bits = g.NB201StudyGenomeSpace(op_rate=0.0, bit_rate=0.5)
    child = only_bits.mutate(TV1, rng)
    assert child.ops == TV1.ops and only_bits.is_valid(child)
    with pytest.raises(ConfigError):
        g.NB201StudyGenomeSpace(op_rate=1.5)
    with pytest.raises(ConfigError):
        g.NB201StudyGenomeSpace(op_rate=0.0, bit_rate=0.0)


def test_mutate_rejects_invalid_parent():
    with pytest.raises(InvalidArchitecture):
        SPACE.mutate(TV2, np.random.default_rng(0))


def test_neighbours():
    nbs = SPACE.neighbours(TV3)
    assert len(nbs) == 18 + sum(
        SPACE.is_valid(g.StudyGenome(TV3.ops, tuple(b ^ (k == i) for k, b in enumerate(TV3.bits))))
        for i in range(28)
    )
    assert len(set(nbs)) == len(nbs) and TV3 not in nbs
    for nb in nbs:
        assert SPACE.is_valid(nb)
        diff = sum(a != b for a, b in zip(nb.ops + nb.bits, TV3.ops + TV3.bits, strict=True))
        assert diff == 1


def test_crossover_takes_genes_from_parents():
    rng = np.random.default_rng(3)
    for _ in range(50):
        a, b = SPACE.sample(rng), SPACE.sample(rng)
        c = SPACE.crossover(a, b, rng)
        assert all(x in (y, z) for x, y, z in zip(c.ops, a.ops, b.ops, strict=True))
        assert all(x in (y, z) for x, y, z in zip(c.bits, a.bits, b.bits, strict=True))


# -- strings and bad input ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_string_round_trip(seed):
    gen = SPACE.sample(np.random.default_rng(seed))
    s = SPACE.to_str(gen)
    assert SPACE.from_str(s) == gen
    assert hash(SPACE.from_str(s)) == hash(gen)


def test_string_format_and_full_names():
    s = SPACE.to_str(TV1)
    assert s == "ops=c3,avg,skip,skip,skip,skip|bits=" + "".join(
        "1" if (r, c) in {(0, 1), (1, 2), (2, 7)} else "0" for r, c in g.TRIU
    )
    full = s.replace("c3", "nor_conv_3x3").replace("avg", "avg_pool_3x3")
    assert SPACE.from_str(full) == TV1
    assert SPACE.cell_str(TV1) == nb201.arch_to_str(SPACE.to_cell(TV1))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("c1,c3", "expected 'ops=...|bits=...'"),
        ("ops=c1,c3,avg,skip,c1|bits=" + "1" * 28, "needs 6 ops, got 5"),
        ("ops=c1,c3,avg,skip,c1,none|bits=" + "1" * 28, "unknown study op 'none'"),
        ("ops=c1,c3,avg,skip,c1,c3|bits=" + "1" * 27, "28 characters of 0/1"),
        ("ops=c1,c3,avg,skip,c1,c3|bits=" + "2" * 28, "28 characters of 0/1"),
        ("ops=c1,c3,avg,skip,c1,c3|bits=" + "0" * 28, "does not reach the output"),
        (SPACE.to_str(TV2), "more than 3 source groups"),
    ],
)
def test_bad_strings(text, match):
    with pytest.raises(InvalidArchitecture, match=match):
        SPACE.from_str(text)


def test_bad_genomes():
    with pytest.raises(InvalidArchitecture, match="6 op codes"):
        g.StudyGenome((0,) * 5, (1,) * 28)
    with pytest.raises(InvalidArchitecture, match="6 op codes"):
        g.StudyGenome((4,) * 6, (1,) * 28)
    with pytest.raises(InvalidArchitecture, match="28 connection bits"):
        g.StudyGenome((0,) * 6, (2,) * 28)
    with pytest.raises(InvalidArchitecture, match="sequence of ints"):
        g.StudyGenome("cccccc", (1,) * 28)  # type: ignore[arg-type]
    with pytest.raises(InvalidArchitecture, match="upper triangle"):
        g.genome_from_edges(["c1"] * 6, [(3, 2)])
    with pytest.raises(InvalidArchitecture):
        SPACE.from_str(42)  # type: ignore[arg-type]
    assert not SPACE.is_valid((0, 1, 2))
    with pytest.raises(InvalidArchitecture, match="unknown study-genome encoding"):
        SPACE.encode(TV1, "path")
    with pytest.raises(InvalidArchitecture, match="not valid"):
        SPACE.encode(TV2, "study")
    # numpy inputs normalise to plain ints and hash like tuples of ints
    a = g.StudyGenome(np.array(TV1.ops), np.array(TV1.bits))
    assert a == TV1 and hash(a) == hash(TV1)


# -- encodings ------------------------------------------------------------------------------------


def test_study_encoding_hand_checked_tv1():
    # pruned: (0, 1, 2, 7) -> n = 4; slots 1, 2 = c3, avg; slot 3 is the output -> zeros
    v = SPACE.encode(TV1, "study")
    assert v.shape == (52,) and v.dtype == np.float32
    ops = v[:24].reshape(6, 4)
    assert ops[0].tolist() == [0, 0, 1, 0]  # c3
    assert ops[1].tolist() == [0, 1, 0, 0]  # avg
    assert not ops[2:].any()
    conn = v[24:]
    # pruned matrix edges (0,1), (1,2), (2,3): the output moved from column 7 to column 3
    assert set(np.flatnonzero(conn)) == {bit(0, 1), bit(1, 2), bit(2, 3)}
    assert SPACE.encode(TV1, "study").tolist() != SPACE.encode(TV1, "onehot").tolist()


def test_study_encoding_hand_checked_tv3():
    # TV3 keeps nodes 0..4 and 7 (5, 6 dead): n = 6, slots 1..4 = c1, c3, avg, skip
    v = SPACE.encode(TV3, "study")
    ops = v[:24].reshape(6, 4)
    assert ops.tolist()[:4] == [[0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]]
    assert not ops[4:].any()
    edges = {(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (1, 4), (4, 5), (2, 5)}
    assert set(np.flatnonzero(v[24:])) == {bit(r, c) for r, c in edges}
    all_bits = SPACE.encode(TV4, "study")
    assert all_bits[24:].all() and all_bits[:24].sum() == 6


def test_onehot_encoding_is_the_raw_genome():
    v = SPACE.encode(TV3, "onehot")
    assert v.shape == (52,)
    assert v[:24].reshape(6, 4).argmax(axis=1).tolist() == list(TV3.ops)
    assert v[:24].sum() == 6
    assert v[24:].tolist() == list(TV3.bits)
    m = SPACE.encode_many([TV1, TV3, TV4], "study")
    assert m.shape == (3, 52) and m.dtype == np.float32


def test_graph_encoding_is_the_pruned_dag():
    gr = SPACE.encode(TV3, "graph")
    assert isinstance(gr, Graph)
    assert gr.x.shape == (6, 6)
    assert gr.x.argmax(axis=1).tolist() == [0, 2 + C1, 2 + C3, 2 + AVG, 2 + SKIP, 1]
    pairs = set(map(tuple, gr.edge_index.T.tolist()))
    assert pairs == {(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (1, 4), (4, 5), (2, 5)}
    assert gr.edge_index.dtype == np.int64
    with pytest.raises(TypeError):
        SPACE.encode_many([TV1], "graph")


def test_isomorphic_encodings_chain_and_identity():
    # a chain 0-1-2-7 has exactly one upper-triangular ordering: the identity
    encs = SPACE.isomorphic_encodings(TV1)
    assert len(encs) == 1 and np.array_equal(encs[0], SPACE.encode(TV1, "study"))
    # TV3: op nodes 1, 2 are interchangeable (both fed by the input), 3 and 4 are forced
    encs = SPACE.isomorphic_encodings(TV3)
    assert len(encs) == 2
    assert np.array_equal(encs[0], SPACE.encode(TV3, "study"))
    swapped = encs[1][:24].reshape(6, 4)
    assert swapped[0].tolist() == [0, 0, 1, 0] and swapped[1].tolist() == [0, 0, 0, 1]
    # 2^28-all-ones: only the identity is upper triangular (a total order); n = 8
    assert len(SPACE.isomorphic_encodings(TV4)) == 1
    # TV3's swap maps to a different NB201 cell: the mapping is not permutation-invariant
    cells = SPACE.isomorphic_cells(TV3)
    assert cells[0] == SPACE.to_cell(TV3) and cells[1] != cells[0]


def test_about_a_third_of_augmented_variants_map_elsewhere():
    rng = np.random.default_rng(11)
    same = total = 0
    for _ in range(400):
        gen = SPACE.sample(rng)
        cells = SPACE.isomorphic_cells(gen)
        assert len(cells) == len(SPACE.isomorphic_encodings(gen))
        same += sum(c == cells[0] for c in cells)
        total += len(cells)
    other = 1 - same / total
    assert 0.2 < other < 0.45, other


# -- reachable cells (real NB201 tables) ---------------------------------------------------------


def test_reachable_cells_sampled_and_best(tables):
    ops, codes = g.sample_genomes_fast(256_000, np.random.default_rng(0))
    cells = {tuple(int(x) for x in row) for row in g.cells_of_codes(ops, codes)}
    assert 700 < len(cells) < 800  # sampling sees about 765 of 15,625
    idx = np.array([nb201.index_of(c) for c in cells])
    val = np.asarray(tables.column("cifar10", "val_acc@200"))
    test = np.asarray(tables.column("cifar10", "test_acc@200"))
    assert round(float(val[idx].max()), 2) == 91.16
    assert round(float(test[idx].max()), 2) == 93.83
    assert int((test > test[idx].max()).sum()) == 110
    # sampling finds most of the exactly reachable cells, and nothing outside them; the
    # per-genome path (the space's own sample/to_cell) stays inside them too
    exact = g.reachable_cells()
    assert len(exact) == 829 and cells <= exact
    eidx = np.array([nb201.index_of(c) for c in exact])
    assert round(float(val[eidx].max()), 2) == 91.16
    assert round(float(test[eidx].max()), 2) == 93.83
    rng = np.random.default_rng(5)
    for _ in range(2000):
        assert SPACE.to_cell(SPACE.sample(rng)) in exact


def test_cells_of_codes_matches_to_cell():
    ops, codes = g.sample_genomes_fast(500, np.random.default_rng(2))
    arr = g.cells_of_codes(ops, codes)
    for o, c, row in zip(ops, codes, arr, strict=True):
        t = g.template_of_code(int(c))
        expect = tuple(g.TO_NB201_OP[o[r - 1]] if r else 0 for r in t)
        assert tuple(int(x) for x in row) == expect


def test_embedded_exact_table_is_consistent():
    table = g.exact_templates()
    assert len(table) == 373
    assert sum(table.values()) == g.VALID_BIT_PATTERNS == 240_952_407
    assert SPACE.size() == 4**6 * 240_952_407
    # the all-none template (code 0) takes 28.4% of valid genomes (the notes: ~25% of all draws)
    assert table[0] / g.VALID_BIT_PATTERNS == pytest.approx(0.2838, abs=1e-4)
    # a slice of the enumeration recomputed: every template found is in the table, no more often
    counts, _ = g.exact_template_counts(chunk_log2=14, limit_log2=15, start=0x9A5 << 16)
    for code in np.flatnonzero(counts):
        assert int(code) in table and counts[code] <= table[int(code)]
    # sampled genomes only ever hit tabled templates, at about the tabled frequency
    _, codes = g.sample_genomes_fast(100_000, np.random.default_rng(9))
    assert set(np.unique(codes).tolist()) <= set(table)
    assert np.mean(codes == 0) == pytest.approx(0.2838, abs=0.006)
    assert set(table) <= set(range(g.N_TEMPLATE_CODES))


@pytest.mark.slow
def test_exact_enumeration_of_a_larger_slice_matches_table():
    # 1/256 of all patterns (2-10 s; no input->output bit, so some are invalid): the
    # per-template counts cannot exceed the table's
    counts, invalid = g.exact_template_counts(chunk_log2=19, limit_log2=20, start=0xB5 << 20)
    table = g.exact_templates()
    assert all(counts[c] <= table.get(int(c), 0) for c in np.flatnonzero(counts))
    assert 0 < invalid < (1 << 20)


def test_template_equals_the_array_mapping_on_random_bits():
    """template() builds the pruned graph from the bits directly; the array route
    (pruned_matrix, then map_pruned) is the definition it must equal."""
    rng = np.random.default_rng(11)
    valid = 0
    for p in (0.2, 0.35, 0.5, 0.7):
        for row in rng.random((1500, g.N_BITS)) < p:
            bits = tuple(int(x) for x in row)
            pm = g.pruned_matrix(bits)
            want = None
            if pm is not None:
                t = g.map_pruned(pm[0])
                want = None if t is None else tuple(pm[1][q] if q else 0 for q in t)
            assert g.template.__wrapped__(bits) == want
            valid += want is not None
    assert 1000 < valid < 6000  # both outcomes are well represented
