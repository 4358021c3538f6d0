"""The NAS-Bench-101 cell space: representation, validity, variation operators and encodings.

A cell is a DAG of at most 7 vertices given by an upper-triangular 0/1 adjacency matrix (vertices
numbered in topological order, vertex 0 the input, the last vertex the output) and one op per
vertex. Validity follows the official ``nasbench`` API (``ModelSpec`` + ``NASBench.is_valid``):
vertices that are not on an input->output path are pruned first, and the limits (7 vertices,
9 edges) apply to the *pruned* cell. A raw 7x7 spec with 12 edges of which 3 dangle is therefore
valid, exactly as in the benchmark; this matters because random specs (``sample``) have 10.5 raw
edges on average.

Two cells are the same network when their pruned graphs are isomorphic (with ops). The canonical
key is the benchmark's own module hash (``graph_util.hash_module`` on the pruned matrix, with the
official labels -1 input, -2 output, 0 conv3x3, 1 conv1x1, 2 maxpool3x3), so keys can be joined
directly with the published tables, which are keyed by that hash.

Representations are kept as given (a sampled cell stays a raw 7x7 spec with its dangling vertices)
because the variation operators act on the raw genome, as in the NB101 paper's evolution code.
Encodings for surrogates use :func:`canonical_form`, a deterministic representative of the
isomorphism class, so isomorphic cells get identical feature vectors.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from nasbench_pytorch.model import graph_util

from harness.errors import InvalidArchitecture, unknown
from harness.spaces._base import Graph, SearchSpace, sized_network

INPUT = "input"
OUTPUT = "output"
CONV1X1 = "conv1x1-bn-relu"
CONV3X3 = "conv3x3-bn-relu"
MAXPOOL3X3 = "maxpool3x3"

#: Interior ops in the official ``config['available_ops']`` order; the index is the label used by
#: the official hash and the op code stored in the enumeration arrays.
INTERIOR_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: All node types, the feature order of the ``graph`` encoding.
NODE_TYPES: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
MAX_VERTICES = 7
MAX_EDGES = 9
#: Number of upper-triangular bits of a 7x7 matrix, and of interior op genes.
N_EDGE_BITS = MAX_VERTICES * (MAX_VERTICES - 1) // 2
N_OP_SPOTS = MAX_VERTICES - 2
#: Number of cells up to isomorphism (NB101 paper; checked by the enumeration tests).
NUM_CELLS = 423_624
PATH_ENCODING_LENGTH = sum(len(INTERIOR_OPS) ** i for i in range(N_OP_SPOTS + 1))  # 364

_OP_LABEL = {op: i for i, op in enumerate(INTERIOR_OPS)}
_MAX_TRIES = 100_000

Adjacency = tuple[tuple[int, ...], ...]


def bit_index(src: int, dst: int) -> int:
    """Bit of edge ``src -> dst`` (src < dst), nasbench's ``gen_is_edge_fn`` order.

    Column-major over the upper triangle, so the index does not depend on the matrix size: a
    smaller cell's bits are a prefix-compatible subset of the 7x7 bits.
    """
    return src + dst * (dst - 1) // 2


def _validation_error(matrix: Any, ops: Any) -> str | None:
    """Why ``(matrix, ops)`` is not a valid NB101 spec, or None when it is."""
    try:
        m = np.asarray(matrix)
    except Exception as exc:  # ragged nested lists etc.
        return f"adjacency matrix is not a rectangular array ({exc})"
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        return f"adjacency matrix must be square, got shape {m.shape}"
    n = m.shape[0]
    if not 2 <= n <= MAX_VERTICES:
        return f"adjacency matrix has {n} vertices; NB101 cells have 2 to {MAX_VERTICES}"
    if m.dtype.kind not in "biuf":
        return f"adjacency matrix must hold 0/1 numbers, got dtype {m.dtype}"
    bad = (m != 0) & (m != 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return f"adjacency entries must be 0 or 1, found {m[i, j]!r} at ({i}, {j})"
    low = np.argwhere(np.tril(m) != 0)
    if len(low):
        i, j = low[0]
        kind = "self-loop" if i == j else "backward edge (a cycle or a vertex order that is not"
        kind += "" if i == j else " topological)"
        return (
            f"adjacency matrix is not strictly upper triangular: {kind} {i}->{j}; NB101 cells "
            "are DAGs with vertices numbered in topological order"
        )
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        return f"ops must be a sequence of op names, got {type(ops).__name__}"
    if len(ops) != n:
        return f"ops has {len(ops)} entries but the matrix has {n} vertices"
    if ops[0] != INPUT:
        return f"first op must be {INPUT!r}, got {ops[0]!r}"
    if ops[-1] != OUTPUT:
        return f"last op must be {OUTPUT!r}, got {ops[-1]!r}"
    for v, op in enumerate(ops[1:-1], start=1):
        if op not in _OP_LABEL:
            return f"unknown op {op!r} at vertex {v} (interior ops: {', '.join(INTERIOR_OPS)})"
    keep = _kept_vertices(m.astype(bool))
    if keep is None:
        return "input vertex does not reach the output vertex (no input->output path)"
    n_edges = int(m[np.ix_(keep, keep)].sum())
    if n_edges > MAX_EDGES:
        return f"cell has {n_edges} edges after pruning; NB101 allows at most {MAX_EDGES}"
    return None


def _kept_vertices(m: np.ndarray) -> list[int] | None:
    """Vertices on an input->output path (sorted), None when the input misses the output.

    The same rule as nasbench's ``ModelSpec._prune``: keep vertices reachable from the input and
    reaching the output.
    """
    n = m.shape[0]
    rows = m.tolist()  # plain lists: element access is ~20x cheaper than numpy scalar indexing
    fwd = [False] * n
    fwd[0] = True
    for v in range(1, n):
        fwd[v] = any(fwd[u] and rows[u][v] for u in range(v))
    bwd = [False] * n
    bwd[n - 1] = True
    for v in range(n - 2, -1, -1):
        bwd[v] = any(bwd[w] and rows[v][w] for w in range(v + 1, n))
    keep = [v for v in range(n) if fwd[v] and bwd[v]]
    return keep if len(keep) >= 2 and keep[0] == 0 and keep[-1] == n - 1 else None


@dataclass(frozen=True, slots=True)
class NB101Cell:
    """One NB101 spec: adjacency (tuple of 0/1 row tuples) and one op name per vertex.

    Construction validates (an invalid cell cannot exist); use :meth:`from_spec` to build one
    from a NumPy array or nested lists. Equality is equality of the representation; use
    :meth:`NB101Space.canonical` (or :attr:`hash`) for "same network".
    """

    adj: Adjacency
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not (
            isinstance(self.adj, tuple)
            and all(isinstance(r, tuple) for r in self.adj)
            and isinstance(self.ops, tuple)
        ):
            raise InvalidArchitecture(
                "NB101Cell needs adj as a tuple of row tuples and ops as a tuple; "
                "use NB101Cell.from_spec(matrix, ops) for arrays or lists"
            )
        err = _validation_error(self.adj, self.ops)
        if err is not None:
            raise InvalidArchitecture(f"invalid NB101 cell: {err}")

    @classmethod
    def from_spec(cls, matrix: Any, ops: Sequence[str]) -> NB101Cell:
        """Validate and build a cell from any 2-D 0/1 array-like and a list of op names."""
        err = _validation_error(matrix, ops)
        if err is not None:
            raise InvalidArchitecture(f"invalid NB101 cell: {err}")
        m = np.asarray(matrix).astype(np.int64)
        adj = tuple(tuple(int(x) for x in row) for row in m)
        return cls(adj, tuple(str(o) for o in ops))

    @property
    def matrix(self) -> np.ndarray:
        """The adjacency as a fresh int64 array (callers may modify it)."""
        return np.array(self.adj, dtype=np.int64)

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.adj))

    def pruned(self) -> NB101Cell:
        """The cell without vertices off every input->output path (as nasbench prunes)."""
        return _pruned(self)

    @property
    def labels(self) -> list[int]:
        """The official hash labels: -1 input, -2 output, interior ops by INTERIOR_OPS index."""
        return [-1] + [_OP_LABEL[o] for o in self.ops[1:-1]] + [-2]

    @property
    def hash(self) -> str:
        """The official NB101 module hash of the pruned cell (the benchmark tables' key)."""
        return _official_hash(self)


@functools.lru_cache(maxsize=1 << 16)
def _pruned(cell: NB101Cell) -> NB101Cell:
    m = cell.matrix
    keep = _kept_vertices(m.astype(bool))
    assert keep is not None  # a constructed cell is valid
    if len(keep) == len(cell.ops):
        return cell
    sub = m[np.ix_(keep, keep)]  # the pruned part of a valid cell is valid
    return _trusted_cell(
        tuple(tuple(int(x) for x in row) for row in sub), tuple(cell.ops[v] for v in keep)
    )


@functools.lru_cache(maxsize=1 << 18)
def _official_hash(cell: NB101Cell) -> str:
    p = _pruned(cell)
    # np.asarray matters: nasbench-pytorch's ModelSpec keeps a torch tensor.
    return str(graph_util.hash_module(np.asarray(p.matrix), p.labels))


# ---------------------------------------------------------------------------------------------
# Canonical labelled form (a deterministic representative of an isomorphism class)


@functools.cache
def _perm_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Interior-vertex permutations of an n-vertex cell and the bit weight of each matrix entry.

    Input (0) and output (n-1) carry unique labels, so isomorphisms fix them; only the n-2
    interior vertices are permuted.
    """
    perms = np.array(
        [(0, *p, n - 1) for p in itertools.permutations(range(1, n - 1))], dtype=np.int64
    ).reshape(-1, n)
    weights = np.zeros((n, n), dtype=np.int64)
    for dst in range(n):
        for src in range(dst):
            weights[src, dst] = 1 << bit_index(src, dst)
    return perms, weights


def canonical_keys(mats: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Isomorphism-invariant integer keys of every (matrix, labelling) pair.

    ``mats``: [M, n, n] 0/1 upper-triangular pruned matrices; ``labels``: [L, n-2] interior
    labels 0..2. Returns [M, L] int64: the minimum over the relabellings that keep the matrix
    upper triangular of ``adjcode * 3**(n-2) + labelcode`` (adjcode: the bits in
    :func:`bit_index` order; labelcode: labels read as a base-3 number, vertex 1 most significant).
    The set of upper-triangular labelled forms is the same for every member of a class, so its
    minimum is a class invariant, and it decodes to the representative itself
    (:func:`decode_key`).
    """
    mats = np.asarray(mats).astype(bool)
    labels = np.asarray(labels, dtype=np.int64)
    n = mats.shape[1]
    perms, weights = _perm_table(n)
    k = n - 2
    permuted = mats[:, perms[:, :, None], perms[:, None, :]]  # [M, P, n, n]
    lower = np.tril(np.ones((n, n), dtype=bool))
    upper_ok = ~(permuted & lower).any(axis=(2, 3))  # [M, P]
    adjcode = (permuted * weights).sum(axis=(2, 3))
    adjcode = np.where(upper_ok, adjcode, np.int64(1) << 40)  # identity is always allowed
    lw = 3 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    if k:
        lc = (labels[:, perms[:, 1:-1] - 1] * lw).sum(axis=2).T  # [P, L]
    else:
        lc = np.zeros((perms.shape[0], labels.shape[0]), dtype=np.int64)
    scale = np.int64(3**k)
    return np.asarray((adjcode[:, :, None] * scale + lc[None, :, :]).min(axis=1))


def decode_key(key: int, n: int) -> tuple[np.ndarray, list[int]]:
    """The n-vertex matrix and interior labels that :func:`canonical_keys` encoded in ``key``."""
    k = n - 2
    adjcode, labelcode = divmod(int(key), 3**k)
    m = np.zeros((n, n), dtype=np.int64)
    for dst in range(n):
        for src in range(dst):
            m[src, dst] = (adjcode >> bit_index(src, dst)) & 1
    labels = [(labelcode // 3 ** (k - 1 - i)) % 3 for i in range(k)]
    return m, labels


@functools.lru_cache(maxsize=1 << 16)
def canonical_form(cell: NB101Cell) -> NB101Cell:
    """The pruned cell relabelled to its class representative (same for isomorphic cells).

    The enumeration (:mod:`harness.spaces.nb101_enum`) stores exactly these representatives.
    """
    p = _pruned(cell)
    n = p.num_vertices
    key = canonical_keys(p.matrix[None], np.array([p.labels[1:-1]], dtype=np.int64).reshape(1, -1))
    m, labels = decode_key(int(key[0, 0]), n)
    ops = (INPUT, *(INTERIOR_OPS[c] for c in labels), OUTPUT)
    return NB101Cell(tuple(tuple(int(x) for x in row) for row in m), ops)


@functools.lru_cache(maxsize=1 << 18)
def class_key(cell: NB101Cell) -> tuple[int, int]:
    """(pruned vertex count, :func:`canonical_keys` value): an exact isomorphism-class key.

    Equal exactly when the official hashes are equal (nasbench checked its hash has no
    collision over the 423,624 classes), and about four times cheaper to compute, so the
    variation operators compare these instead of hashes.
    """
    p = _pruned(cell)
    lab = np.array([p.labels[1:-1]], dtype=np.int64).reshape(1, -1)
    return p.num_vertices, int(canonical_keys(p.matrix[None], lab)[0, 0])


def pad_to_7(cell: NB101Cell, filler: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """A 7-vertex spec equivalent to ``cell``: extra isolated vertices inserted before the output.

    The inserted vertices dangle, so pruning removes them and the hash is unchanged; they give
    the variation operators the full 21 edge bits and 5 op genes. ``filler`` supplies their ops
    (default conv3x3).
    """
    n = cell.num_vertices
    m = cell.matrix
    if n == MAX_VERTICES:
        return m, list(cell.ops)
    out = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    out[: n - 1, : n - 1] = m[: n - 1, : n - 1]
    out[: n - 1, MAX_VERTICES - 1] = m[: n - 1, n - 1]
    extra = MAX_VERTICES - n
    fill = list(filler) if filler is not None else [CONV3X3] * extra
    if len(fill) != extra:
        raise ValueError(f"need {extra} filler ops, got {len(fill)}")
    return out, [*cell.ops[:-1], *fill, OUTPUT]


_ROWS, _COLS = np.triu_indices(MAX_VERTICES, k=1)  # row-major upper triangle (encodings)
_EDGE_SRC = np.array([s for d in range(MAX_VERTICES) for s in range(d)], dtype=np.int64)
_EDGE_DST = np.array([d for d in range(MAX_VERTICES) for s in range(d)], dtype=np.int64)
_EDGE_WEIGHT = np.int64(1) << np.arange(N_EDGE_BITS, dtype=np.int64)  # _EDGE_* are bit order


def _bits7(m: np.ndarray) -> int:
    """The 21 upper-triangular bits of a 7x7 matrix, :func:`bit_index` order."""
    return int(_EDGE_WEIGHT[m[_EDGE_SRC, _EDGE_DST] != 0].sum())


@functools.lru_cache(maxsize=1 << 18)
def _adj7(bits: int) -> Adjacency | None:
    """The 7x7 adjacency of ``bits`` when it is a valid NB101 graph (any ops), else None.

    Why: validity of a mutated genome depends on its edges only; a mutation draws tens of
    genomes near one parent, so their verdicts repeat and are looked up, not recomputed.
    """
    m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    m[_EDGE_SRC, _EDGE_DST] = (bits >> np.arange(N_EDGE_BITS)) & 1
    keep = _kept_vertices(m.astype(bool))
    if keep is None or int(m[np.ix_(keep, keep)].sum()) > MAX_EDGES:
        return None
    return tuple(tuple(int(x) for x in row) for row in m)


def _trusted_cell(adj: Adjacency, ops: tuple[str, ...]) -> NB101Cell:
    """A cell from parts already known valid (skips the constructor's re-validation)."""
    cell = object.__new__(NB101Cell)
    object.__setattr__(cell, "adj", adj)
    object.__setattr__(cell, "ops", ops)
    return cell


def _nb101_network(cell: Hashable, num_classes: int, channels: int, cells: int) -> Any:
    from harness.models.nb101_net import build_nb101_network

    return build_nb101_network(cell, num_classes, stem_channels=channels, cells_per_stack=cells)  # type: ignore[arg-type]


class NB101Space(SearchSpace[NB101Cell]):
    """The NB101 space with the NB101 paper's (regularized evolution) variation operators.

    ``mutation_rate`` scales the per-gene mutation probabilities (see :meth:`mutate`).
    """

    name = "nb101"
    encodings = ("adjacency", "onehot", "path", "graph")

    def __init__(self, mutation_rate: float = 1.0) -> None:
        if not 0 < mutation_rate <= N_EDGE_BITS:
            raise ValueError(f"mutation_rate must be in (0, {N_EDGE_BITS}], got {mutation_rate}")
        self.mutation_rate = float(mutation_rate)

    # -- construction ---------------------------------------------------------------------------
    @staticmethod
    def from_spec(matrix: Any, ops: Sequence[str]) -> NB101Cell:
        """Validate and build a cell; raises InvalidArchitecture naming the problem."""
        return NB101Cell.from_spec(matrix, ops)

    def size(self) -> int:
        return NUM_CELLS

    # -- sampling and variation -------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> NB101Cell:
        """nasbench's ``random_spec``: every upper-triangular bit 1 with p=0.5, ops uniform.

        Rejection until valid, so the result is uniform over valid raw 7x7 specs (not over the
        423,624 classes: small cells have many raw specs, as in the official example).
        """
        for _ in range(_MAX_TRIES):
            m = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
            codes = rng.integers(0, len(INTERIOR_OPS), size=N_OP_SPOTS)
            ops = [INPUT, *(INTERIOR_OPS[c] for c in codes), OUTPUT]
            if _validation_error(m, ops) is None:
                return NB101Cell.from_spec(m, ops)
        raise RuntimeError("could not sample a valid NB101 cell")  # pragma: no cover

    def _padded(self, cell: NB101Cell, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        extra = MAX_VERTICES - cell.num_vertices
        fill = [INTERIOR_OPS[c] for c in rng.integers(0, len(INTERIOR_OPS), size=extra)]
        return pad_to_7(cell, fill)

    def mutate(self, arch: NB101Cell, rng: np.random.Generator) -> NB101Cell:
        """NB101 regularized-evolution mutation on the raw 7-vertex genome.

        Each of the 21 upper-triangular edge bits flips with probability ``mutation_rate / 21``
        and each of the 5 interior ops changes, with probability ``mutation_rate / 5``, to one of
        the two other ops chosen uniformly; retried until the result is valid and a different
        network (another isomorphism class, :func:`class_key`) from the parent, so no evaluation
        is wasted on a copy.
        (google-research/nasbench's example notebook divides the edge rate by the number of
        vertices, 7, instead of 21; the per-bit 1/21 rate used here is the common
        re-implementation, with about one edge flip and one op change per mutation.)
        Cells with fewer than 7 vertices are first padded with dangling vertices whose ops are
        drawn from ``rng``.
        """
        parent_key = class_key(arch)
        m0, ops0 = self._padded(arch, rng)
        bits0 = _bits7(m0)
        p_edge = self.mutation_rate / N_EDGE_BITS
        p_op = min(1.0, self.mutation_rate / N_OP_SPOTS)
        for _ in range(_MAX_TRIES):
            flips = rng.random(N_EDGE_BITS) < p_edge
            adj = _adj7(bits0 ^ int(_EDGE_WEIGHT[flips].sum()))
            ops = list(ops0)
            change = rng.random(N_OP_SPOTS) < p_op
            shifts = rng.integers(1, len(INTERIOR_OPS), size=N_OP_SPOTS)
            for i in np.flatnonzero(change):
                old = _OP_LABEL[ops[i + 1]]
                ops[i + 1] = INTERIOR_OPS[(old + int(shifts[i])) % len(INTERIOR_OPS)]
            if adj is None:  # invalid whatever the ops (they are always legal ops)
                continue
            child = _trusted_cell(adj, tuple(ops))
            if class_key(child) != parent_key:
                return child
        raise RuntimeError("mutation found no valid, different cell")  # pragma: no cover

    def crossover(self, a: NB101Cell, b: NB101Cell, rng: np.random.Generator) -> NB101Cell:
        """Uniform crossover: each of the 21 edge bits and 5 op genes from either parent (p=1/2).

        Parents are padded to 7 vertices first; retried until the child is valid (terminates:
        taking every gene from one parent is always valid).
        """
        ma, oa = self._padded(a, rng)
        mb, ob = self._padded(b, rng)
        for _ in range(_MAX_TRIES):
            take_b = rng.random(N_EDGE_BITS) < 0.5
            m = ma.copy()
            m[_EDGE_SRC[take_b], _EDGE_DST[take_b]] = mb[_EDGE_SRC[take_b], _EDGE_DST[take_b]]
            take_op = rng.random(N_OP_SPOTS) < 0.5
            ops = [oa[0], *(ob[i + 1] if take_op[i] else oa[i + 1] for i in range(5)), oa[-1]]
            if _validation_error(m, ops) is None:
                return NB101Cell.from_spec(m, ops)
        raise RuntimeError("crossover found no valid cell")  # pragma: no cover

    def neighbours(self, arch: NB101Cell) -> list[NB101Cell]:
        """Valid cells one edge flip or one op change away from the (7-vertex padded) genome.

        Only networks different from ``arch`` are returned, one per network (first in the order:
        edge flips in bit order, then op changes by vertex), so a local search never
        re-evaluates the cell it stands on or a relabelled copy.
        """
        m0, ops0 = pad_to_7(arch)
        seen = {self.canonical(arch)}
        out: list[NB101Cell] = []

        def consider(m: np.ndarray, ops: list[str]) -> None:
            if _validation_error(m, ops) is None:
                c = NB101Cell.from_spec(m, ops)
                key = self.canonical(c)
                if key not in seen:
                    seen.add(key)
                    out.append(c)

        for src, dst in zip(_EDGE_SRC, _EDGE_DST, strict=True):
            m = m0.copy()
            m[src, dst] ^= 1
            consider(m, ops0)
        for v in range(1, MAX_VERTICES - 1):
            for op in INTERIOR_OPS:
                if op != ops0[v]:
                    consider(m0, [*ops0[:v], op, *ops0[v + 1 :]])
        return out

    network = sized_network(_nb101_network, 128, 3)  # nasbench-pytorch: 128 stem channels

    def network_key(self, cell: Hashable) -> str:
        return str(cell.hash)  # type: ignore[attr-defined]

    def network_cell(self, cell: Hashable) -> Hashable:
        """The canonical form: the network of the hash, whatever the vertex numbering."""
        return canonical_form(cell)

    def cell_id(self, cell: Hashable) -> str:
        return str(cell.hash)  # type: ignore[attr-defined]

    def check_cell(self, cell: Hashable) -> Hashable:
        if not isinstance(cell, NB101Cell):
            raise InvalidArchitecture(
                f"{type(cell).__name__} {cell!r} is not an NB101Cell (an architecture of "
                "another space?)"
            )
        return cell

    def categorical_params(self) -> dict[str, tuple[Any, ...]]:
        """The raw 7-vertex genome: 21 edge bits ``edge_<src>_<dst>`` (0/1) and 5 interior ops
        ``op_<v>``. Most of the 2^21 x 3^5 points are invalid specs (no input->output path or
        more than 9 edges after pruning): :meth:`from_params` says so."""
        out: dict[str, tuple[Any, ...]] = {
            f"edge_{s}_{d}": (0, 1) for s, d in zip(_EDGE_SRC, _EDGE_DST, strict=True)
        }
        out.update({f"op_{v}": INTERIOR_OPS for v in range(1, MAX_VERTICES - 1)})
        return out

    def from_params(self, params: Mapping[str, Any]) -> NB101Cell:
        m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        try:
            for s, d in zip(_EDGE_SRC, _EDGE_DST, strict=True):
                m[s, d] = int(params[f"edge_{s}_{d}"])
            ops = [INPUT, *(str(params[f"op_{v}"]) for v in range(1, MAX_VERTICES - 1)), OUTPUT]
        except KeyError as e:
            raise InvalidArchitecture(f"NB101 parameters lack {e.args[0]!r}") from None
        return NB101Cell.from_spec(m, ops)

    # -- validity and keys ----------------------------------------------------------------------
    def is_valid(self, arch: Any) -> bool:
        """True for a cell (validated at construction) or a valid ``(matrix, ops)`` pair."""
        if isinstance(arch, NB101Cell):
            return True
        if isinstance(arch, tuple) and len(arch) == 2:
            return _validation_error(arch[0], arch[1]) is None
        return False

    def canonical(self, arch: NB101Cell) -> str:
        """The official NB101 module hash of the pruned cell (32 hex digits)."""
        return _official_hash(arch)

    def to_str(self, arch: NB101Cell) -> str:
        """``adj=<rows>|ops=<ops>``: rows of 0/1 digits separated by '/', ops by ','.

        Example: ``adj=011/001/000|ops=input,conv3x3-bn-relu,output``. The raw spec (not the
        pruned one) is kept, so ``from_str(to_str(c)) == c``.
        """
        rows = "/".join("".join(str(x) for x in row) for row in arch.adj)
        return f"adj={rows}|ops={','.join(arch.ops)}"

    def from_str(self, text: str) -> NB101Cell:
        fmt = "expected 'adj=<0/1 rows separated by />|ops=<comma-separated ops>'"
        parts = text.strip().split("|")
        if len(parts) != 2 or not parts[0].startswith("adj=") or not parts[1].startswith("ops="):
            raise InvalidArchitecture(f"cannot parse NB101 cell string {text!r}: {fmt}")
        rows = parts[0][4:].split("/")
        if any(set(r) - {"0", "1"} or not r for r in rows):
            raise InvalidArchitecture(
                f"cannot parse NB101 cell string {text!r}: adjacency rows must be 0/1 digits"
            )
        if len({len(r) for r in rows}) != 1:
            raise InvalidArchitecture(
                f"cannot parse NB101 cell string {text!r}: adjacency rows differ in length"
            )
        matrix = [[int(ch) for ch in r] for r in rows]
        ops = parts[1][4:].split(",")
        try:
            return NB101Cell.from_spec(matrix, ops)
        except InvalidArchitecture as exc:
            raise InvalidArchitecture(f"{exc} (in {text!r})") from None

    # -- encodings --------------------------------------------------------------------------------
    def encode(self, arch: NB101Cell, kind: str) -> np.ndarray | Graph:
        """Features for surrogates, computed on :func:`canonical_form` (isomorphism-invariant).

        - ``adjacency``: NAS-EA-FA's 36 bits: the 21 upper-triangular bits (row-major) of the
          pruned cell padded to 7 vertices (output at index 6), then a 3-bit one-hot op
          (INTERIOR_OPS order) for each of the 5 interior positions (all zero where padded).
        - ``onehot``: the same vector (NB101 has no edge ops, so those bits already are the
          one-hot encoding).
        - ``path``: BANANAS / NASLib path encoding, 364 indicators, one per possible sequence of
          interior ops along an input->output path (index sum_i 3**i * (op_i + 1)).
        - ``graph``: node one-hot over NODE_TYPES and the pruned DAG's edges.
        """
        if kind in ("adjacency", "onehot"):
            return self._encode_adjacency(arch)
        if kind == "path":
            return self._encode_path(arch)
        if kind == "graph":
            c = canonical_form(arch)
            x = np.zeros((c.num_vertices, len(NODE_TYPES)), dtype=np.float32)
            x[np.arange(c.num_vertices), [NODE_TYPES.index(o) for o in c.ops]] = 1.0
            src, dst = np.nonzero(c.matrix)
            return Graph(x=x, edge_index=np.stack([src, dst]).astype(np.int64))
        raise unknown("NB101 encoding", kind, self.encodings)

    def _encode_adjacency(self, arch: NB101Cell) -> np.ndarray:
        c = canonical_form(arch)
        m, ops = pad_to_7(c)
        vec = np.zeros(N_EDGE_BITS + 3 * N_OP_SPOTS, dtype=np.float32)
        vec[:N_EDGE_BITS] = m[_ROWS, _COLS]
        for i in range(c.num_vertices - 2):  # real interior vertices come first
            vec[N_EDGE_BITS + 3 * i + _OP_LABEL[ops[i + 1]]] = 1.0
        return vec

    def _encode_path(self, arch: NB101Cell) -> np.ndarray:
        c = _pruned(arch)
        n = c.num_vertices
        vec = np.zeros(PATH_ENCODING_LENGTH, dtype=np.float32)
        # paths[v]: path indices (partial sums) of all input->v paths; DAG order = vertex order.
        paths: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        paths[0] = [(0, 0)]  # (index so far, number of interior ops so far)
        for v in range(1, n):
            for u in range(v):
                if c.adj[u][v]:
                    for idx, depth in paths[u]:
                        if v == n - 1:
                            paths[v].append((idx, depth))
                        else:
                            label = _OP_LABEL[c.ops[v]]
                            paths[v].append((idx + 3**depth * (label + 1), depth + 1))
        for idx, _ in paths[n - 1]:
            vec[idx] = 1.0
        return vec
