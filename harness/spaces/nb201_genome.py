"""The reference study's NB201 genome: an NB101-style 8-node graph mapped onto NB201 cells.

The reference study (foteinidd/genetic_nas_acceleration) does not search NB201 in its native form
(6 edges x 5 ops). It reuses its NB101 machinery: a genome is an 8-node DAG -- node 0 the input,
node 7 the output, nodes 1..6 each carrying one of four ops (``nor_conv_1x1``, ``nor_conv_3x3``,
``avg_pool_3x3``, ``skip_connect``; there is no ``none``) -- plus 28 connection bits, the strict
upper triangle of the 8x8 adjacency matrix in row-major order ((0,1), (0,2), ..., (0,7), (1,2),
..., (6,7)). Mutation, the surrogate's input and the isomorphic augmentation all work on this
genome, and a quirky rule turns it into an NB201 cell for the benchmark query. To reproduce the
study's results we must reproduce that rule exactly, quirks included, because it decides which
cells the study can ever reach (about 760 of 15,625; see ``bench/RESULTS.md``).

The rule (read from the study's code, foteinidd/genetic_nas_acceleration):

1. *Prune* as NB101's ModelSpec does: keep the nodes that are reachable from the input and reach
   the output, renumbered in order; if the input does not reach the output the genome is invalid.
   An input->output-only graph (2 nodes) is valid and maps to the all-``none`` cell.
2. *Group* destinations: visit the pruned nodes u = 1, 2, ..., n-1 and then 0 last; every
   successor v of u gets ``G[v] = min(succ(u))`` (a later visit overwrites, so the input wins).
3. *Edge dict* (insertion-ordered): for v = 1..n-1 ascending and each predecessor u of v, u != 0,
   ascending: ``E[G[u]][G[v]] = label(u)`` -- a new source key is appended, an existing pair is
   overwritten (the last write wins).
4. *Emit* the NB201 cell: with ``keys = list(E)``, the op of NB201 edge j -> i (official order)
   is ``E[keys[j]][i + 1]`` when ``j < len(keys)`` and that entry exists, else ``none``; note the
   destination is compared with *pruned node* i + 1. Entries that do not fit are silently dropped.
5. More than 3 source groups would need a 5th NB201 node: the benchmark query fails and the study
   treats the genome as invalid. Validity therefore depends on the bits only, never on the ops.

:class:`NB201StudyGenomeSpace` gives this genome the :class:`SearchSpace` interface so that the
study's GA and NAS-EA-FA V2 can run on it unchanged, with ``canonical`` keyed on the *mapped NB201
cell* (so evaluations of different genomes that map to the same cell count as repeats).

Readable format (``to_str`` / ``from_str``)::

    ops=c3,avg,skip,skip,skip,skip|bits=1000000100000000000100000000

six op names for nodes 1..6 (short ``c1 c3 avg skip`` or the full NB201 names) and 28 ``0``/``1``
characters in the bit order above. ``nash dev nb201-genome`` prints the
reachable-cell figures of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import ConfigError, InvalidArchitecture
from harness.spaces import nb201
from harness.spaces._base import Graph, SearchSpace

# op codes of the genome (the study's ``available_ops`` order)
STUDY_OPS: tuple[str, ...] = ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect")
SHORT_NAMES: tuple[str, ...] = ("c1", "c3", "avg", "skip")
N_STUDY_OPS = 4
N_OP_NODES = 6
N_NODES = 8
N_BITS = 28
ENCODING_DIM = N_OP_NODES * N_STUDY_OPS + N_BITS  # 52
# the study's surrogate one-hot: skip=[1,0,0,0], avg=[0,1,0,0], c3=[0,0,1,0], c1=[0,0,0,1]
STUDY_ONEHOT_POS: tuple[int, ...] = (3, 2, 1, 0)  # position of the 1 for op code c1, c3, avg, skip
# NB201 official op index of each genome op code
TO_NB201_OP: tuple[int, ...] = tuple(nb201.OPS.index(name) for name in STUDY_OPS)
# graph encoding node features: input, output, then the 4 ops in code order
GRAPH_FEATURES: tuple[str, ...] = ("input", "output", *STUDY_OPS)

TRIU: tuple[tuple[int, int], ...] = tuple(
    (r, c) for r in range(N_NODES) for c in range(r + 1, N_NODES)
)
_TRIU_R = np.array([r for r, _ in TRIU])
_TRIU_C = np.array([c for _, c in TRIU])
_NAME_TO_CODE = {
    **{s: k for k, s in enumerate(SHORT_NAMES)},
    **{s: k for k, s in enumerate(STUDY_OPS)},
}
_BITS_RE = re.compile(r"^[01]{28}$")
_INVALID_TEMPLATE = -1


@dataclass(frozen=True, slots=True)
class StudyGenome:
    """One genome of the study: ``ops`` (6 op codes over :data:`STUDY_OPS`, nodes 1..6) and
    ``bits`` (28 connection bits, strict upper triangle of the 8x8 matrix, row-major).

    Construction checks the *shape* (lengths and values) and normalises to tuples of ``int`` so
    that equal genomes hash equal; whether the genome maps to an NB201 cell is
    :meth:`NB201StudyGenomeSpace.is_valid`'s business (invalid genomes exist during mutation).
    """

    ops: tuple[int, ...]
    bits: tuple[int, ...]

    def __post_init__(self) -> None:
        ops = _int_tuple(self.ops, "ops")
        bits = _int_tuple(self.bits, "bits")
        if len(ops) != N_OP_NODES or any(not 0 <= o < N_STUDY_OPS for o in ops):
            raise InvalidArchitecture(
                f"study genome needs {N_OP_NODES} op codes in 0..{N_STUDY_OPS - 1} "
                f"({', '.join(SHORT_NAMES)}), got {self.ops!r}"
            )
        if len(bits) != N_BITS or any(b not in (0, 1) for b in bits):
            raise InvalidArchitecture(
                f"study genome needs {N_BITS} connection bits of 0/1, got {self.bits!r}"
            )
        object.__setattr__(self, "ops", ops)
        object.__setattr__(self, "bits", bits)

    @classmethod
    def _trusted(cls, ops: tuple[int, ...], bits: tuple[int, ...]) -> StudyGenome:
        """A genome from tuples of in-range ints made by this module's own operations, without
        the shape checks (why: they were a third of a mutation's cost)."""
        g = object.__new__(cls)
        object.__setattr__(g, "ops", ops)
        object.__setattr__(g, "bits", bits)
        return g

    def matrix(self) -> np.ndarray:
        """The unpruned 8x8 adjacency matrix (int8)."""
        m = np.zeros((N_NODES, N_NODES), dtype=np.int8)
        m[_TRIU_R, _TRIU_C] = self.bits
        return m


def _int_tuple(values: object, what: str) -> tuple[int, ...]:
    if isinstance(values, str | bytes):
        raise InvalidArchitecture(f"study genome {what} must be a sequence of ints, got a string")
    try:
        out = []
        for x in values:  # type: ignore[attr-defined]
            if isinstance(x, bool) or int(x) != x:
                raise TypeError
            out.append(int(x))
    except (TypeError, ValueError):
        raise InvalidArchitecture(
            f"study genome {what} must be a sequence of ints, got {values!r}"
        ) from None
    return tuple(out)


def genome_from_edges(ops: Sequence[int | str], edges: Sequence[tuple[int, int]]) -> StudyGenome:
    """Build a genome from op codes or names for nodes 1..6 and a list of (src, dst) edges."""
    codes = tuple(_op_code(o) for o in ops)
    bits = [0] * N_BITS
    for e in edges:
        try:
            bits[TRIU.index((int(e[0]), int(e[1])))] = 1
        except ValueError:
            raise InvalidArchitecture(
                f"edge {e!r} is not in the strict upper triangle of an 8-node graph"
            ) from None
    return StudyGenome(codes, tuple(bits))


def _op_code(op: int | str) -> int:
    if isinstance(op, str):
        if op not in _NAME_TO_CODE:
            raise InvalidArchitecture(
                f"unknown study op {op!r} (valid: {', '.join(SHORT_NAMES)} or "
                f"{', '.join(STUDY_OPS)}; the study's genome has no 'none')"
            )
        return _NAME_TO_CODE[op]
    return int(op)


# ----------------------------------------------------------------------------------------------
# The mapping, in pure Python (per genome; memoised on the bits since it ignores the ops).


@functools.lru_cache(maxsize=1 << 16)
def kept_nodes(bits: tuple[int, ...]) -> tuple[int, ...] | None:
    """Original indices of the nodes NB101 pruning keeps (sorted), or None when the input does
    not reach the output (the study's ``len(extraneous) > num_vertices - 2``)."""
    succ: list[list[int]] = [[] for _ in range(N_NODES)]
    for (r, c), b in zip(TRIU, bits, strict=True):
        if b:
            succ[r].append(c)
    fwd = [False] * N_NODES
    fwd[0] = True
    for u in range(N_NODES):
        if fwd[u]:
            for v in succ[u]:
                fwd[v] = True
    if not fwd[N_NODES - 1]:
        return None
    bwd = [False] * N_NODES
    bwd[N_NODES - 1] = True
    for u in range(N_NODES - 2, -1, -1):
        bwd[u] = any(bwd[v] for v in succ[u])
    return tuple(u for u in range(N_NODES) if fwd[u] and bwd[u])


def pruned_matrix(bits: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """(pruned n x n matrix, kept original node indices), or None when pruned away."""
    kept = kept_nodes(bits)
    if kept is None:
        return None
    full = np.zeros((N_NODES, N_NODES), dtype=np.int8)
    full[_TRIU_R, _TRIU_C] = bits
    return full[np.ix_(kept, kept)], kept


def map_pruned(matrix: np.ndarray | Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    """The study's NB201 mapping of a pruned graph, as a *template*.

    Returns, for each NB201 edge in official order, the pruned node whose op the edge carries
    (1..n-2), or 0 for ``none``; None when more than 3 source groups make it invalid. Templates
    are what the mapping really computes: the cell follows by substituting each node's op, which
    is why validity and the set of reachable cells depend on the bits alone.
    """
    a = np.asarray(matrix)
    n = a.shape[0]
    return _map_succ([[v for v in range(u + 1, n) if a[u, v]] for u in range(n)])


def _map_succ(succ: list[list[int]]) -> tuple[int, ...] | None:
    """:func:`map_pruned` on successor lists (ascending), the form :func:`template` builds."""
    n = len(succ)
    if n < 2:
        return None
    group: dict[int, int] = {}
    for u in [*range(1, n), 0]:  # the input is visited last, so its grouping wins
        for v in succ[u]:
            group[v] = succ[u][0]
    edges: dict[int, dict[int, int]] = {}  # insertion order matters: it numbers the sources
    for v in range(1, n):
        for u in range(1, v):
            if v in succ[u]:
                edges.setdefault(group[u], {})[group[v]] = u  # last write wins
    keys = list(edges)
    if len(keys) > 3:
        return None
    out = []
    for i in range(1, 4):
        for j in range(i):
            out.append(edges[keys[j]].get(i + 1, 0) if j < len(keys) else 0)
    return tuple(out)


@functools.lru_cache(maxsize=1 << 16)
def template(bits: tuple[int, ...]) -> tuple[int, ...] | None:
    """Per NB201 edge (official order): the *original* genome node (1..6) whose op it carries, or
    0 for ``none``; None for an invalid genome."""
    kept = kept_nodes(bits)
    if kept is None:
        return None
    # the pruned graph's successor lists, straight from the bits (pruned_matrix + map_pruned
    # without building arrays: this runs once per new genome of a GA run)
    pos = {u: i for i, u in enumerate(kept)}
    succ: list[list[int]] = [[] for _ in kept]
    for (r, c), b in zip(TRIU, bits, strict=True):
        if b and r in pos and c in pos:
            succ[pos[r]].append(pos[c])
    for lst in succ:
        lst.sort()
    t = _map_succ(succ)
    if t is None:
        return None
    return tuple(kept[p] if p else 0 for p in t)


def _fill(t: Sequence[int], ops: Sequence[int]) -> nb201.NB201Arch:
    """Substitute op codes into a template (``ops[r - 1]`` is node r's op code)."""
    return tuple(TO_NB201_OP[ops[r - 1]] if r else 0 for r in t)  # type: ignore[return-value]


@functools.lru_cache(maxsize=1 << 16)
def cell_of(genome: StudyGenome) -> nb201.NB201Arch | None:
    """The NB201 cell (official op tuple) of a genome, or None when invalid (memoised: the
    loop asks for it several times per query)."""
    t = template(genome.bits)
    if t is None:
        return None
    return _fill(t, genome.ops)


# ----------------------------------------------------------------------------------------------
# Encodings


def study_vector(labels: Sequence[int], matrix: np.ndarray) -> np.ndarray:
    """The study's 52-bit surrogate input of a pruned graph.

    ``labels``: op codes of pruned nodes 1..n-2; ``matrix``: the pruned n x n matrix. 24 op bits
    (slot i = pruned node i when it is an op node, else zeros; one-hot order skip, avg, c3, c1)
    then 28 bits ``matrix[r, c]`` for (r, c) in the 8x8 strict-upper order, 0 where r or c >= n
    (so the output's column moves to n-1 and a pruned genome's bits are *not* its raw bits).
    """
    n = matrix.shape[0]
    v = np.zeros(ENCODING_DIM, dtype=np.float32)
    for i, op in enumerate(labels, start=1):
        v[(i - 1) * N_STUDY_OPS + STUDY_ONEHOT_POS[op]] = 1.0
    for k, (r, c) in enumerate(TRIU):
        if r < n and c < n:
            v[N_OP_NODES * N_STUDY_OPS + k] = matrix[r, c]
    return v


def isomorphic_graphs(
    matrix: np.ndarray, labels: Sequence[int]
) -> Iterator[tuple[np.ndarray, tuple[int, ...]]]:
    """The study's augmentation: every permutation of the op nodes 1..n-2 (input and output fixed,
    in ``itertools.permutations`` order, identity first), kept when the permuted matrix is still
    strictly upper triangular. No deduplication, as in the study."""
    n = matrix.shape[0]
    for perm in itertools.permutations(range(1, n - 1)):
        full = (0, *perm, n - 1)  # new position of old node v is full[v]
        inv = np.argsort(full)  # old node at new position x
        pm = matrix[np.ix_(inv, inv)]
        if np.any(np.tril(pm)):
            continue
        yield pm, tuple(int(labels[inv[x] - 1]) for x in range(1, n - 1))


# ----------------------------------------------------------------------------------------------
# Vectorised mapping over many bit patterns (for exact enumeration and fast sampling)

_TEMPLATE_BASE = 7  # template entries are 0 (none) or an original node 1..6
N_TEMPLATE_CODES = _TEMPLATE_BASE**nb201.N_EDGES


def templates_of_bits(bits: np.ndarray) -> np.ndarray:
    """Template codes (base 7, edge 0 most significant) for a [B, 28] 0/1 array; -1 = invalid.

    The same rule as :func:`template`, written array-wise so that all 2^28 bit patterns can be
    enumerated in minutes; the tests check it against the per-genome path.
    """
    x = np.asarray(bits).astype(bool)
    b = x.shape[0]
    a = np.zeros((b, N_NODES, N_NODES), dtype=bool)
    a[:, _TRIU_R, _TRIU_C] = x
    fwd = np.zeros((b, N_NODES), dtype=bool)
    fwd[:, 0] = True
    for c in range(1, N_NODES):
        fwd[:, c] = np.any(fwd[:, :c] & a[:, :c, c], axis=1)
    bwd = np.zeros((b, N_NODES), dtype=bool)
    bwd[:, -1] = True
    for r in range(N_NODES - 2, -1, -1):
        bwd[:, r] = np.any(a[:, r, r + 1 :] & bwd[:, r + 1 :], axis=1)
    keep = fwd & bwd
    ak = a & keep[:, :, None] & keep[:, None, :]
    # min kept successor of each node (N_NODES when none)
    minsucc = np.full((b, N_NODES), N_NODES, dtype=np.int64)
    for c in range(N_NODES - 1, 0, -1):
        minsucc[ak[:, :, c]] = c  # descending, so the smallest successor is written last
    # group of each node: min successor of its last-visited predecessor (input last = wins)
    group = np.zeros((b, N_NODES), dtype=np.int64)
    rows_idx = np.arange(N_NODES)
    for v in range(1, N_NODES):
        preds = ak[:, :v, v]
        last_mid = np.where(preds[:, 1:], rows_idx[None, 1:v], 0).max(axis=1) if v > 1 else 0
        p = np.where(preds[:, 0], 0, last_mid)
        group[:, v] = minsucc[np.arange(b), p]
    edges = np.zeros((b, N_NODES + 1, N_NODES + 1), dtype=np.int8)
    first = np.full((b, N_NODES + 1), 1 << 30, dtype=np.int64)
    step = 0
    for v in range(1, N_NODES):
        for u in range(1, v):
            idx = np.flatnonzero(ak[:, u, v])
            gu, gv = group[idx, u], group[idx, v]
            edges[idx, gu, gv] = u
            first[idx, gu] = np.minimum(first[idx, gu], step)
            step += 1
    nkeys = (first < (1 << 30)).sum(axis=1)
    keys = np.argsort(first, axis=1, kind="stable")
    n = keep.sum(axis=1)
    kept_order = np.argsort(~keep, axis=1, kind="stable")  # kept original indices first
    code = np.zeros(b, dtype=np.int64)
    ar = np.arange(b)
    for i in range(1, 4):
        dest = kept_order[:, min(i + 1, N_NODES - 1)]
        dest_ok = n > i + 1
        for j in range(i):
            ref = edges[ar, keys[:, j], dest].astype(np.int64)
            ref = np.where(dest_ok & (j < nkeys), ref, 0)
            code = code * _TEMPLATE_BASE + ref
    valid = fwd[:, -1] & (nkeys <= 3)
    return np.where(valid, code, _INVALID_TEMPLATE)


def template_of_code(code: int) -> tuple[int, ...]:
    out = []
    for _ in range(nb201.N_EDGES):
        code, r = divmod(int(code), _TEMPLATE_BASE)
        out.append(r)
    return tuple(reversed(out))


def cells_of_template(t: Sequence[int]) -> set[nb201.NB201Arch]:
    """Every NB201 cell a template yields as the ops of its referenced nodes vary."""
    nodes = sorted({r for r in t if r})
    cells = set()
    for ops in itertools.product(range(N_STUDY_OPS), repeat=len(nodes)):
        op_of = dict(zip(nodes, ops, strict=True))
        cells.add(tuple(TO_NB201_OP[op_of[r]] if r else 0 for r in t))
    return cells  # type: ignore[return-value]


def exact_template_counts(
    chunk_log2: int = 20,
    limit_log2: int = N_BITS,
    start: int = 0,
    processes: int = 1,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Count, over 2^``limit_log2`` consecutive bit patterns from ``start`` (bit patterns read
    as 28-bit integers, bit 0 most significant; the defaults cover all 2^28), how many map to
    each template code. Returns (counts[N_TEMPLATE_CODES], number of invalid patterns).
    All 2^28 take about 2 s per 2^20 patterns per core."""
    counts = np.zeros(N_TEMPLATE_CODES, dtype=np.int64)
    invalid = 0
    total = 1 << limit_log2
    chunk = min(1 << chunk_log2, total)
    starts = range(start, start + total, chunk)
    if processes > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(processes) as pool:
            results = pool.map(_count_chunk, starts, [chunk] * len(starts))
            for k, (c, i) in enumerate(results):
                counts += c
                invalid += i
                if progress and k % 16 == 15:
                    print(f"  {(k + 1) * chunk:>11,} / {total:,} patterns", flush=True)
        return counts, invalid
    for k, s in enumerate(starts):
        c, i = _count_chunk(s, chunk)
        counts += c
        invalid += i
        if progress and k % 16 == 15:
            print(f"  {(k + 1) * chunk:>11,} / {total:,} patterns", flush=True)
    return counts, invalid


def _count_chunk(start: int, size: int) -> tuple[np.ndarray, int]:
    shifts = np.arange(N_BITS - 1, -1, -1, dtype=np.int64)  # bit 0 is the most significant
    ints = np.arange(start, start + size, dtype=np.int64)
    codes = templates_of_bits(((ints[:, None] >> shifts[None, :]) & 1).astype(bool))
    ok = codes >= 0
    return np.bincount(codes[ok], minlength=N_TEMPLATE_CODES), int((~ok).sum())


def reachable_cells(counts: np.ndarray | None = None) -> frozenset[nb201.NB201Arch]:
    """The exact set of NB201 cells that some valid genome maps to (829 of 15,625).

    Every template that some bit pattern maps to yields all substitutions of ops into its
    referenced nodes, since the ops are free and do not affect validity. ``counts``: template
    counts from :func:`exact_template_counts`; by default the embedded enumeration result.
    """
    codes = exact_templates() if counts is None else (int(c) for c in np.flatnonzero(counts))
    cells: set[nb201.NB201Arch] = set()
    for code in codes:
        cells |= cells_of_template(template_of_code(code))
    return frozenset(cells)


def sample_genomes_fast(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` valid genomes drawn as :meth:`NB201StudyGenomeSpace.sample` draws them (ops uniform,
    bits fair coins, rejection until valid), vectorised: (ops [n, 6], template codes [n]).

    Not the same random stream as ``sample`` (which draws one genome at a time); the same
    distribution."""
    ops_out = np.empty((0, N_OP_NODES), dtype=np.int64)
    codes_out = np.empty(0, dtype=np.int64)
    while len(codes_out) < n:
        m = int((n - len(codes_out)) * 1.1) + 16
        ops = rng.integers(0, N_STUDY_OPS, size=(m, N_OP_NODES))
        bits = rng.random((m, N_BITS)) < 0.5
        codes = templates_of_bits(bits)
        ok = codes >= 0
        ops_out = np.concatenate([ops_out, ops[ok]])
        codes_out = np.concatenate([codes_out, codes[ok]])
    return ops_out[:n], codes_out[:n]


def cells_of_codes(ops: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """NB201 op tuples [n, 6] of genomes given as (ops [n, 6], template codes [n])."""
    powers = _TEMPLATE_BASE ** np.arange(nb201.N_EDGES - 1, -1, -1, dtype=np.int64)
    refs = (np.asarray(codes, dtype=np.int64)[:, None] // powers[None, :]) % _TEMPLATE_BASE
    to201 = np.asarray(TO_NB201_OP)
    picked = np.take_along_axis(ops, np.maximum(refs - 1, 0), axis=1)
    return np.where(refs > 0, to201[picked], 0)


# ----------------------------------------------------------------------------------------------


class NB201StudyGenomeSpace(SearchSpace[StudyGenome]):
    """The reference study's NB201 genome as a search space (see the module docstring).

    Args:
        op_rate: per-op-node mutation probability (study: 1/6); a mutated node takes a uniformly
            chosen *different* op.
        bit_rate: per-bit flip probability (study: 1/28).
    """

    name = "nb201-study-genome"
    cell_space = "nb201"
    mutation_may_repeat = True  # the study's per-gene mutation (see mutate)
    encodings = ("study", "onehot", "graph")

    def __init__(self, op_rate: float = 1 / N_OP_NODES, bit_rate: float = 1 / N_BITS) -> None:
        for what, rate in (("op_rate", op_rate), ("bit_rate", bit_rate)):
            if not 0 <= rate <= 1:
                raise ConfigError(f"study genome {what} must be in [0, 1], got {rate}")
        if bit_rate == 0 and op_rate == 0:
            raise ConfigError("study genome mutation needs op_rate or bit_rate above 0")
        self.op_rate, self.bit_rate = float(op_rate), float(bit_rate)
        self._native = nb201.NB201Space()

    # -- sampling and variation ----------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> StudyGenome:
        """Ops uniform over 4, each bit 1 with probability 1/2, the whole genome redrawn until it
        is valid (the study's initial population; ~6% of draws are rejected)."""
        while True:
            ops = tuple(rng.integers(0, N_STUDY_OPS, size=N_OP_NODES).tolist())
            bits = tuple((rng.random(N_BITS) < 0.5).astype(np.int64).tolist())
            if template(bits) is not None:
                return StudyGenome._trusted(ops, bits)

    def mutate(self, arch: StudyGenome, rng: np.random.Generator) -> StudyGenome:
        """The study's bitwise mutation.

        Ops once: each node with probability ``op_rate`` takes a uniformly chosen different op.
        Then bits: each flips with probability ``bit_rate``; when the result is invalid the
        original bits are restored and the flips redrawn (the ops are kept). The child may equal
        its parent (about 12% of the time at the default rates): the study allows it and the
        GA's evaluation count includes such children, so we keep it rather than the protocol's
        usual "different" contract.
        """
        self._require_valid(arch)
        ops = list(arch.ops)
        for i in range(N_OP_NODES):
            if rng.random() < self.op_rate:
                new = int(rng.integers(N_STUDY_OPS - 1))
                ops[i] = new + 1 if new >= ops[i] else new
        parent_bits = np.asarray(arch.bits, dtype=np.int64)
        while True:
            flips = rng.random(N_BITS) < self.bit_rate
            bits = tuple((parent_bits ^ flips).tolist())
            if template(bits) is not None:
                return StudyGenome._trusted(tuple(ops), bits)

    def crossover(self, a: StudyGenome, b: StudyGenome, rng: np.random.Generator) -> StudyGenome:
        """Uniform crossover over the 34 genes (6 ops, 28 bits), redrawn until valid.

        The study uses no crossover; this exists so generic GAs can switch it on. After 1,000
        invalid draws (only possible for very different parents) it returns ``a`` unchanged.
        """
        for _ in range(1000):
            take_ops = rng.random(N_OP_NODES) < 0.5
            take_bits = rng.random(N_BITS) < 0.5
            bits = tuple(x if t else y for x, y, t in zip(a.bits, b.bits, take_bits, strict=True))
            if template(bits) is not None:
                ops = tuple(x if t else y for x, y, t in zip(a.ops, b.ops, take_ops, strict=True))
                return StudyGenome._trusted(ops, bits)
        return a

    def neighbours(self, arch: StudyGenome) -> list[StudyGenome]:
        """Every valid genome one op change (18, always valid) or one bit flip (<= 28) away."""
        self._require_valid(arch)
        out = []
        for i in range(N_OP_NODES):
            for op in range(N_STUDY_OPS):
                if op != arch.ops[i]:
                    ops = list(arch.ops)
                    ops[i] = op
                    out.append(StudyGenome._trusted(tuple(ops), arch.bits))
        for k in range(N_BITS):
            bits = list(arch.bits)
            bits[k] ^= 1
            if template(tuple(bits)) is not None:
                out.append(StudyGenome._trusted(arch.ops, tuple(bits)))
        return out

    # -- identity --------------------------------------------------------------------------------

    def is_valid(self, arch: Any) -> bool:
        """Pruned to >= 2 nodes and <= 3 source groups (depends on the bits only)."""
        return isinstance(arch, StudyGenome) and template(arch.bits) is not None

    def to_cell(self, arch: StudyGenome) -> nb201.NB201Arch:
        """The NB201 cell (official op tuple) the study would query for this genome."""
        cell = cell_of(self._check(arch))
        if cell is None:
            raise InvalidArchitecture(f"study genome {self.to_str(arch)} maps to no NB201 cell")
        return cell

    def canonical(self, arch: StudyGenome) -> str:
        """The NB201 isomorphism key of the mapped cell, so that repeats are detected at the cell
        level (many genomes, and many cells, are the same network)."""
        return self._native.canonical(self.to_cell(arch))

    def cell_str(self, arch: StudyGenome) -> str:
        return self._native.to_str(self.to_cell(arch))

    def to_str(self, arch: StudyGenome) -> str:
        return genome_str(arch)

    def from_str(self, text: str) -> StudyGenome:
        """Parse ``ops=...|bits=...`` (see the module docstring); the genome must be valid."""
        g = parse_genome(text)
        if not self.is_valid(g):
            raise InvalidArchitecture(f"study genome {text!r} is not valid: {why_invalid(g)}")
        return g

    def categorical_params(self) -> dict[str, tuple[Any, ...]]:
        """The genome itself: ``op_<node>`` (4 study ops) for nodes 1..6 and 28 bits
        ``bit_<k>`` (row-major upper triangle); about 6 % of the points are invalid."""
        out: dict[str, tuple[Any, ...]] = {f"op_{n}": STUDY_OPS for n in range(1, N_OP_NODES + 1)}
        out.update({f"bit_{k}": (0, 1) for k in range(N_BITS)})
        return out

    def from_params(self, params: Mapping[str, Any]) -> StudyGenome:
        try:
            ops = tuple(_op_code(params[f"op_{n}"]) for n in range(1, N_OP_NODES + 1))
            bits = tuple(int(params[f"bit_{k}"]) for k in range(N_BITS))
        except KeyError as e:
            raise InvalidArchitecture(f"study genome parameters lack {e.args[0]!r}") from None
        g = StudyGenome(ops, bits)
        if not self.is_valid(g):
            raise InvalidArchitecture(
                f"study genome {self.to_str(g)} is not valid: {why_invalid(g)}"
            )
        return g

    def size(self) -> int:
        """Number of valid genomes: 4^6 op assignments x the valid bit patterns (exact count
        from the enumeration in ``bench/RESULTS.md``)."""
        return N_STUDY_OPS**N_OP_NODES * VALID_BIT_PATTERNS

    # -- encodings -------------------------------------------------------------------------------

    def encode(self, arch: StudyGenome, kind: str) -> np.ndarray | Graph:
        """``study``: the study's 52-bit surrogate input (see :func:`study_vector`);
        ``onehot``: the raw genome, 6x4 op one-hot in code order (c1, c3, avg, skip) then the 28
        raw bits (52); ``graph``: the pruned DAG, node features one-hot over
        (input, output, c1, c3, avg, skip), ``edge_index`` [2, n_edges]."""
        self._require_valid(arch)
        if kind == "study":
            matrix, kept = self._pruned(arch)
            return study_vector([arch.ops[k - 1] for k in kept[1:-1]], matrix)
        if kind == "onehot":
            v = np.zeros(ENCODING_DIM, dtype=np.float32)
            v[np.arange(N_OP_NODES) * N_STUDY_OPS + np.asarray(arch.ops)] = 1.0
            v[N_OP_NODES * N_STUDY_OPS :] = arch.bits
            return v
        if kind == "graph":
            matrix, kept = self._pruned(arch)
            n = len(kept)
            x = np.zeros((n, len(GRAPH_FEATURES)), dtype=np.float32)
            x[0, 0] = 1.0
            x[n - 1, 1] = 1.0
            for pos, k in enumerate(kept[1:-1], start=1):
                x[pos, 2 + arch.ops[k - 1]] = 1.0
            src, dst = np.nonzero(matrix)
            return Graph(x=x, edge_index=np.stack([src, dst]).astype(np.int64))
        raise InvalidArchitecture(
            f"unknown study-genome encoding {kind!r} (valid: {', '.join(self.encodings)})"
        )

    def isomorphic_encodings(self, arch: StudyGenome) -> list[np.ndarray]:
        """The study's training-set augmentation: the ``study`` encoding of every permutation of
        the pruned op nodes that keeps the matrix upper triangular (identity first, no dedup).

        These are not all the same network to the benchmark: the mapping is not invariant under
        the permutation, and about 29% of the variants (roughly a third) map to a different NB201
        cell (0.7% to none); the study labels them all with this genome's accuracy. See
        :meth:`isomorphic_cells` and ``bench/RESULTS.md``.
        """
        matrix, kept = self._pruned(self._require_valid(arch))
        labels = [arch.ops[k - 1] for k in kept[1:-1]]
        return [study_vector(lab, pm) for pm, lab in isomorphic_graphs(matrix, labels)]

    def isomorphic_cells(self, arch: StudyGenome) -> list[nb201.NB201Arch | None]:
        """The NB201 cell each augmentation variant maps to (None: invalid), in the same order
        as :meth:`isomorphic_encodings`."""
        matrix, kept = self._pruned(self._require_valid(arch))
        labels = [arch.ops[k - 1] for k in kept[1:-1]]
        out: list[nb201.NB201Arch | None] = []
        for pm, lab in isomorphic_graphs(matrix, labels):
            t = map_pruned(pm)
            out.append(None if t is None else _fill(t, lab))
        return out

    # -- helpers ---------------------------------------------------------------------------------

    def _check(self, arch: object) -> StudyGenome:
        if not isinstance(arch, StudyGenome):
            raise InvalidArchitecture(f"expected a StudyGenome, got {type(arch).__name__}")
        return arch

    def _require_valid(self, arch: object) -> StudyGenome:
        g = self._check(arch)
        if template(g.bits) is None:
            raise InvalidArchitecture(
                f"study genome {self.to_str(g)} is not valid: {why_invalid(g)}"
            )
        return g

    def _pruned(self, arch: StudyGenome) -> tuple[np.ndarray, tuple[int, ...]]:
        pm = pruned_matrix(arch.bits)
        assert pm is not None  # callers checked validity
        return pm


@functools.lru_cache(maxsize=1 << 16)
def genome_str(genome: StudyGenome) -> str:
    """The readable form ``ops=...|bits=...`` (memoised: every stored row carries it)."""
    return (
        "ops="
        + ",".join(SHORT_NAMES[o] for o in genome.ops)
        + "|bits="
        + "".join(map(str, genome.bits))
    )


def why_invalid(genome: StudyGenome) -> str:
    """A human-readable reason, for error messages."""
    pm = pruned_matrix(genome.bits)
    if pm is None:
        return "the input does not reach the output"
    if map_pruned(pm[0]) is None:
        return "its pruned graph has more than 3 source groups (would need a 5-node NB201 cell)"
    return "it is valid"


def parse_genome(text: str) -> StudyGenome:
    """Parse ``ops=a,b,c,d,e,f|bits=<28 x 0/1>`` without checking validity."""
    if not isinstance(text, str):
        raise InvalidArchitecture(f"study genome string expected, got {type(text).__name__}")
    example = "ops=c1,c3,avg,skip,c1,c3|bits=" + "1" * 7 + "0" * 21
    parts = text.strip().split("|")
    if len(parts) != 2 or not parts[0].startswith("ops=") or not parts[1].startswith("bits="):
        raise InvalidArchitecture(
            f"malformed study genome {text!r}: expected 'ops=...|bits=...', e.g. {example}"
        )
    names = [s.strip() for s in parts[0][len("ops=") :].split(",")]
    if len(names) != N_OP_NODES:
        raise InvalidArchitecture(
            f"malformed study genome {text!r}: needs {N_OP_NODES} ops, got {len(names)}"
        )
    ops = tuple(_op_code(s) for s in names)
    bits_s = parts[1][len("bits=") :].strip()
    if not _BITS_RE.match(bits_s):
        raise InvalidArchitecture(
            f"malformed study genome {text!r}: bits must be {N_BITS} characters of 0/1, got "
            f"{len(bits_s)} character(s) {bits_s!r}"
        )
    return StudyGenome(ops, tuple(int(c) for c in bits_s))


# Exact figures from enumerating all 2^28 bit patterns with :func:`exact_template_counts`
# (``nash dev nb201-genome --exact``, ~10 CPU-minutes; bench/RESULTS.md). The
# tests re-check slices of it against the per-genome mapping.
VALID_BIT_PATTERNS = 240_952_407  # of 2^28; 27,483,049 (10.24%) are invalid
# "template code:number of bit patterns" for each of the 373 templates valid genomes map to
_EXACT_TEMPLATES = """
0:68378600 49:455600 98:1818976 147:8597841 196:7754745 245:5299980 294:3460506
2401:3122868 2422:106184 2429:49312 2436:13016 2471:118312 2478:52096 2485:13016
2499:261920 2520:435754 2527:124330 2534:41922 2541:16550 2548:93424 2576:153202
2583:48490 2590:18206 2597:17328 2632:51306 2639:18206 2688:16550 4802:13459221
4823:692551 4830:251935 4837:83867 4844:24825 4851:138232 4872:848756 4879:246452
4886:83844 4893:33100 4921:1590427 4928:506291 4935:167711 4942:57925 4949:237008
4977:263014 4984:80910 4991:29642 4998:38512 5033:89102 5040:30922 5089:29090
7203:10271686 7231:675460 7238:223532 7245:71772 7252:33824 7280:303044 7287:96980
7294:36412 7301:60768 7329:519788 7336:161820 7343:59284 7378:1519092 7385:482332
7392:167468 7399:83952 7434:145062 7441:48914 7490:48074 9604:6421033 9639:460709
9646:147063 9653:5416 9688:102612 9695:36412 9702:9912 9737:178204 9744:61844 9751:17176
9786:290124 9793:97828 9835:1031649 9842:343147 9891:73418 12005:4205774 12047:250698
12096:33100 12145:58180 12194:96148 12243:146836 12292:584962 14406:3164247 16807:20688067
16821:382112 16828:501901 16835:247142 16842:96891 16849:34756 16870:421104 16877:545981
16884:256422 16891:96891 16898:34756 16905:266960 16926:428074 16933:123594 16940:41922
16947:16550 16954:1321492 16956:1024 16968:1696040 16982:152082 16989:48490 16996:18206
17003:752008 17017:492904 17024:606088 17038:51306 17045:18206 17052:335500 17066:167688
17073:193960 17080:205224 17094:16550 17101:139024 17115:66200 17122:72824 17129:72824
17136:66200 17493:2362203 17496:36709 17497:24037 17498:14545 17499:8275 17510:36709
17511:24037 17512:14545 17513:8275 17545:36709 17546:24037 17547:14545 17548:8275
17559:36709 17560:24037 17561:14545 17562:8275 17836:944307 17840:24457 17841:15461
17842:9103 17861:24457 17862:15461 17863:9103 17889:24457 17890:15461 17891:9103
17910:24457 17911:15461 17912:9103 18179:387871 18184:14821 18185:9103 18212:14821
18213:9103 18233:14821 18234:9103 18261:14821 18262:9103 18522:174943 18528:8275
18563:8275 18577:8275 18612:8275 18865:91609 19894:2663723 19897:36709 19898:24037
19899:14545 19900:8275 19911:36709 19912:24037 19913:14545 19914:8275 19946:36709
19947:24037 19948:14545 19949:8275 19960:36709 19961:24037 19962:14545 19963:8275
20237:1015315 20241:24457 20242:15461 20243:9103 20262:24457 20263:15461 20264:9103
20290:24457 20291:15461 20292:9103 20311:24457 20312:15461 20313:9103 20580:398703
20585:14821 20586:9103 20613:14821 20614:9103 20634:14821 20635:9103 20662:14821
20663:9103 20923:174943 20929:8275 20964:8275 20978:8275 21013:8275 21266:91609
21609:311280 24010:72128 26411:10832 33614:11449015 33635:175544 33642:256651 33649:120558
33656:44827 33733:184904 33740:267051 33747:120558 33754:44827 33761:119456 33789:260934
33796:80910 33803:29642 33810:738748 33831:1039576 33845:89102 33852:30922 33859:411128
33880:323640 33887:356408 33901:29090 33908:179308 33929:118568 33936:123688 33943:116360
34643:1523569 34647:38179 34648:24727 34649:14821 34668:38179 34669:24727 34670:14821
34745:38179 34746:24727 34747:14821 34766:38179 34767:24727 34768:14821 34986:610197
34991:24727 34992:15461 35019:24727 35020:15461 35089:24727 35090:15461 35117:24727
35118:15461 35329:269141 35335:14545 35370:14545 35433:14545 35468:14545 35672:141843
39445:1651345 39449:38179 39450:24727 39451:14821 39470:38179 39471:24727 39472:14821
39547:38179 39548:24727 39549:14821 39568:38179 39569:24727 39570:14821 39788:630021
39793:24727 39794:15461 39821:24727 39822:15461 39891:24727 39892:15461 39919:24727
39920:15461 40131:269141 40137:14545 40172:14545 40235:14545 40270:14545 40474:141843
40817:129856 43218:19824 50421:6616033 50449:51528 50456:106883 50463:48494 50596:51528
50603:106883 50610:48494 50617:34352 50652:145062 50659:48914 50666:358828 50694:580248
50708:48074 50715:193976 50743:195656 50750:192296 51793:903289 51798:38179 51799:24457
51826:38179 51827:24457 51945:38179 51946:24457 51973:38179 51974:24457 52136:387001
52142:24037 52177:24037 52289:24037 52324:24037 52479:205519 58996:937641 59001:38179
59002:24457 59029:38179 59030:24457 59148:38179 59149:24457 59176:38179 59177:24457
59339:387001 59345:24037 59380:24037 59492:24037 59527:24037 59682:205519 60025:34352
67228:4205639 67270:36709 67466:36709 67515:73418 67522:146836 67557:293672 68943:515129
68949:36709 68984:36709 69145:36709 69180:36709 69286:275919 78547:515129 78553:36709
78588:36709 78749:36709 78784:36709 78890:275919 84035:2875513 86093:339859 98098:339859
100842:1947545
"""


@functools.cache
def exact_templates() -> dict[int, int]:
    """Template code -> number of the 2^28 bit patterns that map to it (the embedded result of
    the exhaustive enumeration; the counts are exact probabilities under :meth:`sample`)."""
    pairs = (tok.split(":") for tok in _EXACT_TEMPLATES.split())
    return {int(k): int(v) for k, v in pairs}


def _main() -> None:
    p = argparse.ArgumentParser(description="Reachable-cell figures of the study's NB201 genome")
    p.add_argument("--samples", type=int, default=256_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exact", action="store_true", help="also enumerate all 2^28 bit patterns")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--save", help="write the exact template counts to this .npy file")
    p.add_argument("--load", help="read exact template counts from this .npy file")
    args = p.parse_args()
    _report(args.samples, args.seed, args.exact, args.processes, args.save, args.load)


def _report(
    samples: int, seed: int, exact: bool, processes: int, save: str | None, load: str | None
) -> None:
    from harness.benchmarks import nb201 as tables_mod

    tables = tables_mod.load()
    val = np.asarray(tables.column("cifar10", "val_acc@200"))
    test = np.asarray(tables.column("cifar10", "test_acc@200"))

    def describe(cells: Iterable[nb201.NB201Arch], label: str) -> None:
        idx = np.array(sorted(nb201.index_of(c) for c in cells))
        bv, bt = int(idx[np.argmax(val[idx])]), int(idx[np.argmax(test[idx])])
        iso = {nb201.NB201Space().canonical(nb201.arch_of_index(int(i))) for i in idx}
        print(f"{label}: {len(idx)} distinct NB201 cells ({len(iso)} isomorphism classes)")
        print(f"  best val:  index {bv} val {val[bv]:.2f} test {test[bv]:.2f}")
        print(f"  best test: index {bt} val {val[bt]:.2f} test {test[bt]:.2f}")
        print(f"  cells in the space with higher test accuracy: {(test > test[bt]).sum()}")
        print(f"  space optimum: val {np.nanmax(val):.2f} test {np.nanmax(test):.2f}")

    rng = np.random.default_rng(seed)
    ops, codes = sample_genomes_fast(samples, rng)
    cells_arr = cells_of_codes(ops, codes)
    describe(
        {tuple(int(x) for x in row) for row in cells_arr},  # type: ignore[misc]
        f"sampled {samples:,} valid genomes (seed {seed})",
    )
    print(f"  share mapping to the all-none cell: {np.mean(~cells_arr.any(axis=1)):.4f}")
    total = 1 << N_BITS
    if exact or load:
        if load:
            counts = np.load(load)
        else:
            counts, _ = exact_template_counts(processes=processes, progress=True)
            if save:
                np.save(save, counts)
        source = "recomputed"
    else:
        counts = np.zeros(N_TEMPLATE_CODES, dtype=np.int64)
        for code, n in exact_templates().items():
            counts[code] = n
        source = "embedded table"
    valid = int(counts.sum())
    print(
        f"exact ({source}): {valid:,} valid of {total:,} bit patterns "
        f"({(total - valid) / total:.4%} invalid), {np.count_nonzero(counts)} distinct templates, "
        f"all-none share of valid genomes {counts[0] / valid:.4f}"
    )
    describe(reachable_cells(counts), "exact, all 2^28 bit patterns x all 4^6 op assignments")


if __name__ == "__main__":
    _main()
