"""NAS-Bench-201 / NATS-Bench topology search space (15,625 cells, 6,466 up to isomorphism).

A cell is a DAG on 4 nodes; each of its 6 edges carries one of 5 operations. Here an architecture
is a tuple of 6 op indices in the *official* edge order of the arch string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, i.e. edges (0,1), (0,2), (1,2), (0,3), (1,3), (2,3),
with ops numbered as in the official API: 0 ``none``, 1 ``skip_connect``, 2 ``nor_conv_1x1``,
3 ``nor_conv_3x3``, 4 ``avg_pool_3x3``.

NASLib and analog-nasbench use op-index tuples with a different op numbering (0 skip, 1 none,
2 conv3x3, 3 conv1x1, 4 avg_pool) AND a different edge order ((0,1),(0,2),(0,3),(1,2),(1,3),
(2,3)); :func:`from_naslib` / :func:`to_naslib` convert, and tests pin known cells both ways.

The benchmark index 0..15624 is the official API's order, which is not a product order; it is
read from ``_data/nb201_order.npy`` (generated from the shipped benchmark table by
``nash dev nb201-order --regenerate-order``, and checked against it in the tests).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InvalidArchitecture
from harness.spaces._base import Graph, SearchSpace, sized_network

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_EDGES = 6
N_OPS = 5
N_CELLS = N_OPS**N_EDGES  # 15,625
N_UNIQUE = 6466  # classes under NATS-Bench's isomorphism semantics (NB201 paper)

NB201Arch = tuple[int, int, int, int, int, int]

# NASLib / analog-nasbench conventions.
NASLIB_OPS: tuple[str, ...] = (
    "skip_connect",
    "none",
    "nor_conv_3x3",
    "nor_conv_1x1",
    "avg_pool_3x3",
)
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_NASLIB_TO_OFFICIAL_OP = tuple(OPS.index(name) for name in NASLIB_OPS)
_OFFICIAL_TO_NASLIB_OP = tuple(NASLIB_OPS.index(name) for name in OPS)
# position in the official tuple of the k-th NASLib edge
_NASLIB_EDGE_POS = tuple(EDGES.index(e) for e in NASLIB_EDGES)

_ORDER_FILE = Path(__file__).with_name("_data") / "nb201_order.npy"
_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


def code_of(arch: Sequence[int]) -> int:
    """Base-5 code of an op tuple (edge 0 most significant): a dense id 0..15624."""
    code = 0
    for op in arch:
        code = code * N_OPS + int(op)
    return code


def arch_of_code(code: int) -> NB201Arch:
    ops = []
    for _ in range(N_EDGES):
        code, r = divmod(code, N_OPS)
        ops.append(r)
    return tuple(reversed(ops))  # type: ignore[return-value]


def arch_to_str(arch: Sequence[int]) -> str:
    o = [OPS[i] for i in arch]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


@functools.lru_cache(maxsize=N_CELLS)
def _arch_str(arch: NB201Arch) -> str:
    """:func:`arch_to_str`, memoised (every stored row carries the string, twice)."""
    return arch_to_str(arch)


def str_to_arch(text: str) -> NB201Arch:
    """Parse an official arch string strictly; errors name the offending part."""
    if not isinstance(text, str):
        raise InvalidArchitecture(
            f"NB201 architecture must be a string, got {type(text).__name__}"
        )
    s = text.strip()
    example = arch_to_str((3, 3, 3, 1, 3, 2))
    nodes = s.split("+")
    if len(nodes) != 3:
        raise InvalidArchitecture(
            f"malformed NB201 arch string {text!r}: expected 3 node groups joined by '+', "
            f"e.g. {example}"
        )
    ops: list[int] = []
    for j, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise InvalidArchitecture(
                f"malformed NB201 arch string {text!r}: node group {group!r} must be wrapped in "
                f"'|', e.g. {example}"
            )
        tokens = group[1:-1].split("|")
        if len(tokens) != j:
            raise InvalidArchitecture(
                f"malformed NB201 arch string {text!r}: node {j} needs {j} inputs, got "
                f"{len(tokens)}"
            )
        for i, tok in enumerate(tokens):
            m = _TOKEN.match(tok)
            if not m:
                raise InvalidArchitecture(
                    f"malformed NB201 arch string {text!r}: token {tok!r} is not 'op~input'"
                )
            name, src = m.group(1), int(m.group(2))
            if name not in OPS:
                raise InvalidArchitecture(
                    f"unknown NB201 operation {name!r} in {text!r} (valid: {', '.join(OPS)})"
                )
            if src != i:
                raise InvalidArchitecture(
                    f"malformed NB201 arch string {text!r}: token {tok!r} of node {j} must read "
                    f"input {i}"
                )
            ops.append(OPS.index(name))
    # groups are node 1: edge (0,1); node 2: (0,2),(1,2); node 3: (0,3),(1,3),(2,3)
    return tuple(ops)  # type: ignore[return-value]


def check_arch(arch: object) -> NB201Arch:
    """Validate an op tuple and return it as a tuple of ints."""
    try:
        t = tuple(int(x) for x in arch)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise InvalidArchitecture(
            f"NB201 architecture must be 6 op indices, got {arch!r}"
        ) from None
    if len(t) != N_EDGES or any(not 0 <= x < N_OPS for x in t):
        raise InvalidArchitecture(
            f"NB201 architecture must be 6 op indices in 0..4 (official order {OPS}), got {arch!r}"
        )
    return t  # type: ignore[return-value]


def from_naslib(op_indices: Sequence[int]) -> NB201Arch:
    """Convert a NASLib / analog-nasbench op-index tuple to the official op tuple."""
    t = tuple(int(x) for x in op_indices)
    if len(t) != N_EDGES or any(not 0 <= x < N_OPS for x in t):
        raise InvalidArchitecture(f"NASLib NB201 op indices must be 6 values in 0..4, got {t!r}")
    out = [0] * N_EDGES
    for k, op in enumerate(t):
        out[_NASLIB_EDGE_POS[k]] = _NASLIB_TO_OFFICIAL_OP[op]
    return tuple(out)  # type: ignore[return-value]


def to_naslib(arch: Sequence[int]) -> tuple[int, ...]:
    a = check_arch(arch)
    return tuple(_OFFICIAL_TO_NASLIB_OP[a[_NASLIB_EDGE_POS[k]]] for k in range(N_EDGES))


def unique_str(arch: Sequence[int]) -> str:
    """Isomorphism key with the semantics of NATS-Bench ``to_unique_str(consider_zero=True)``.

    Node 0 is ``"0"``. Each incoming edge of a node gives one term: ``"#"`` when the op is
    ``none`` or the source is exactly ``"#"``; the source's string itself for ``skip_connect``
    (identity); otherwise ``"(src)@op"``. A node is its terms sorted and joined by ``+`` (so
    summation order does not matter). This literal rule (``"#"`` terms are kept inside sums) is
    the one that yields the NB201 paper's 6,466 classes; dropping them would give 5,390.
    """
    nodes = ["0"]
    k = 0
    for j in (1, 2, 3):
        terms = []
        for i in range(j):
            op = OPS[arch[k]]
            src = nodes[i]
            k += 1
            if op == "none" or src == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(src)
            else:
                terms.append(f"({src})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[3]


def output_connected(arch: Sequence[int]) -> bool:
    """Whether a path of non-``none`` ops joins input and output (NATS ``check_valid``)."""
    alive = [True, False, False, False]
    for (i, j), op in zip(EDGES, arch, strict=True):
        if op != 0 and alive[i]:
            alive[j] = True
    return alive[3]


@functools.cache
def _unique_tables() -> tuple[tuple[str, ...], np.ndarray]:
    keys = tuple(unique_str(arch_of_code(c)) for c in range(N_CELLS))
    labels = {k: n for n, k in enumerate(dict.fromkeys(keys))}
    class_id = np.fromiter((labels[k] for k in keys), dtype=np.int32, count=N_CELLS)
    return keys, class_id


@functools.cache
def _order() -> tuple[np.ndarray, np.ndarray]:
    """(code of each benchmark index, benchmark index of each code)."""
    codes = np.load(_ORDER_FILE).astype(np.int64)
    if codes.shape != (N_CELLS,) or np.unique(codes).size != N_CELLS:
        raise RuntimeError(f"{_ORDER_FILE} is corrupt; regenerate it (see module docstring)")
    index_of_code = np.empty(N_CELLS, dtype=np.int64)
    index_of_code[codes] = np.arange(N_CELLS)
    codes.setflags(write=False)
    index_of_code.setflags(write=False)
    return codes, index_of_code


def index_of(arch: Sequence[int]) -> int:
    """Official NB201 / NATS-Bench tss index of a cell."""
    return int(_order()[1][code_of(check_arch(arch))])


def arch_of_index(index: int) -> NB201Arch:
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise InvalidArchitecture(f"NB201 index must be an integer, got {index!r}")
    if not 0 <= int(index) < N_CELLS:
        raise InvalidArchitecture(f"NB201 index {index} out of range 0..{N_CELLS - 1}")
    return arch_of_code(int(_order()[0][int(index)]))


def all_indices_codes() -> np.ndarray:
    """Code of every benchmark index (read-only view); ``codes[i]`` belongs to index ``i``."""
    return _order()[0]


def parse(text: str | int | Sequence[int]) -> NB201Arch:
    """Accept an official string, an index (int or digit string) or an official op tuple."""
    if isinstance(text, str):
        s = text.strip()
        if s.lstrip("+-").isdigit():  # "-1" is an index out of range, not a malformed string
            return arch_of_index(int(s))
        return str_to_arch(s)
    if isinstance(text, int | np.integer):
        return arch_of_index(int(text))
    return check_arch(text)


# ----------------------------------------------------------------------------------------------
# NB101-style view: one node per edge of the NB201 cell (the representation of the reference
# study and of NB101-style encoders): node 0 input, nodes 1..6 the six edges in official order,
# node 7 output. An edge-node (i, j) reads the input if i == 0, else every edge-node ending at i;
# it feeds the output if j == 3, else every edge-node starting at j. ``none`` edge-nodes keep
# their slot but lose all connections.
_EDGE_NODE_ADJ = np.zeros((8, 8), dtype=np.int8)
for _a, (_i, _j) in enumerate(EDGES, start=1):
    if _i == 0:
        _EDGE_NODE_ADJ[0, _a] = 1
    if _j == 3:
        _EDGE_NODE_ADJ[_a, 7] = 1
    for _b, (_k, _l) in enumerate(EDGES, start=1):
        if _k == _j:
            _EDGE_NODE_ADJ[_a, _b] = 1
_TRIU8 = np.triu_indices(8, k=1)

# path encoding over the 4 non-none ops along the 4 input->output routes
_ROUTES: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))  # edge positions
_PATH_OFFSET = {1: 0, 2: 4, 3: 4 + 16}
PATH_DIM = 4 + 16 + 64


def edge_node_adjacency(arch: Sequence[int]) -> np.ndarray:
    """8x8 adjacency of the NB101-style edge-node graph (``none`` nodes disconnected)."""
    adj = _EDGE_NODE_ADJ.copy()
    for a, op in enumerate(arch, start=1):
        if op == 0:
            adj[a, :] = 0
            adj[:, a] = 0
    return adj


MUTATIONS = ("one_edge", "per_edge")


def _nb201_network(cell: Hashable, num_classes: int, channels: int, cells: int) -> Any:
    from harness.models.nb201_net import NB201Network

    return NB201Network(cell, num_classes, channels=channels, cells_per_stage=cells)  # type: ignore[arg-type]


class NB201Space(SearchSpace[NB201Arch]):
    """The native NB201 genome: 6 edges x 5 ops, every tuple a member of the benchmark.

    Args:
        mutation: ``"one_edge"`` (default; the NB201 paper's REA: one uniformly chosen edge gets a
            different op, so the child always differs) or ``"per_edge"`` (the bitwise mutation of
            GA studies: each edge independently, with probability ``rate``, gets a different op;
            the child may equal its parent, as in the reference study).
        rate: per-edge mutation probability for ``"per_edge"`` (default 1/6).
    """

    name = "nb201"
    encodings = ("onehot", "adjacency", "path", "graph")
    #: a categorical genome: 6 genes with 5 choices each (used by REINFORCE)
    gene_shape = (N_EDGES, N_OPS)

    def __init__(self, mutation: str = "one_edge", rate: float = 1 / N_EDGES) -> None:
        if mutation not in MUTATIONS:
            from harness.errors import unknown

            raise unknown("NB201 mutation", mutation, MUTATIONS)
        if not 0 < rate <= 1:
            from harness.errors import ConfigError

            raise ConfigError(f"NB201 mutation rate must be in (0, 1], got {rate}")
        self.mutation, self.rate = mutation, float(rate)

    def sample(self, rng: np.random.Generator) -> NB201Arch:
        return tuple(int(x) for x in rng.integers(0, N_OPS, size=N_EDGES))  # type: ignore[return-value]

    def mutate(self, arch: NB201Arch, rng: np.random.Generator) -> NB201Arch:
        """One edge to a different op, or per-edge bitwise mutation (see the class)."""
        if self.mutation == "per_edge":
            flips = rng.random(N_EDGES) < self.rate
            shifts = rng.integers(1, N_OPS, size=N_EDGES)  # a different op, uniformly
            return tuple(  # type: ignore[return-value]
                (op + int(s)) % N_OPS if f else op
                for op, f, s in zip(arch, flips, shifts, strict=True)
            )
        edge = int(rng.integers(N_EDGES))
        new = int(rng.integers(N_OPS - 1))
        if new >= arch[edge]:
            new += 1
        out = list(arch)
        out[edge] = new
        return tuple(out)  # type: ignore[return-value]

    def crossover(self, a: NB201Arch, b: NB201Arch, rng: np.random.Generator) -> NB201Arch:
        """Uniform crossover: each edge's op from either parent with probability 1/2."""
        take_a = rng.random(N_EDGES) < 0.5
        return tuple(x if t else y for x, y, t in zip(a, b, take_a, strict=True))  # type: ignore[return-value]

    def is_valid(self, arch: object) -> bool:
        try:
            check_arch(arch)
        except InvalidArchitecture:
            return False
        return True

    def canonical(self, arch: NB201Arch) -> str:
        return _unique_tables()[0][code_of(arch)]

    def class_id(self, arch: NB201Arch) -> int:
        """Dense id 0..6465 of the isomorphism class (first-seen order over codes)."""
        return int(_unique_tables()[1][code_of(arch)])

    def to_str(self, arch: NB201Arch) -> str:
        try:
            return _arch_str(arch)
        except TypeError:  # an unhashable sequence (a list): not memoised
            return arch_to_str(arch)

    def from_str(self, text: str) -> NB201Arch:
        return parse(text)

    def neighbours(self, arch: NB201Arch) -> list[NB201Arch]:
        out = []
        for e in range(N_EDGES):
            for op in range(N_OPS):
                if op != arch[e]:
                    nb = list(arch)
                    nb[e] = op
                    out.append(tuple(nb))
        return out  # type: ignore[return-value]

    def size(self) -> int:
        return N_CELLS

    network = sized_network(_nb201_network, 16, 5)  # the NB201 network: C=16, N=5

    def network_key(self, cell: Hashable) -> str:
        return arch_to_str(cell)  # type: ignore[arg-type]

    def cell_id(self, cell: Hashable) -> str:
        return str(index_of(cell))  # type: ignore[arg-type]

    def check_cell(self, cell: Hashable) -> Hashable:
        return check_arch(cell)

    def categorical_params(self) -> dict[str, tuple[Any, ...]]:
        """One choice of op name per edge, named ``edge_<i><j>`` (official edge order)."""
        return {f"edge_{i}{j}": OPS for i, j in EDGES}

    def from_params(self, params: Mapping[str, Any]) -> NB201Arch:
        try:
            ops = [params[f"edge_{i}{j}"] for i, j in EDGES]
        except KeyError as e:
            raise InvalidArchitecture(f"NB201 parameters lack {e.args[0]!r}") from None
        bad = [o for o in ops if o not in OPS]
        if bad:
            raise InvalidArchitecture(f"unknown NB201 operation {bad[0]!r} (valid: {OPS})")
        return tuple(OPS.index(o) for o in ops)  # type: ignore[return-value]

    def encode(self, arch: NB201Arch, kind: str) -> np.ndarray | Graph:
        """Encodings: ``onehot`` (6x5=30), ``adjacency`` (28 edge-node bits + 6x4 op bits = 52),
        ``path`` (84: one bit per op sequence on an input-output route, ``none`` routes absent),
        ``graph`` (8 edge-nodes, features one-hot over input/output/5 ops)."""
        if kind == "onehot":
            onehot = np.zeros((N_EDGES, N_OPS), dtype=np.float32)
            onehot[np.arange(N_EDGES), arch] = 1.0
            return onehot.ravel()
        if kind == "adjacency":
            adj = edge_node_adjacency(arch)
            op_bits = np.zeros((N_EDGES, 4), dtype=np.float32)
            for e, op in enumerate(arch):
                if op != 0:
                    op_bits[e, op - 1] = 1.0
            return np.concatenate([adj[_TRIU8].astype(np.float32), op_bits.ravel()])
        if kind == "path":
            v = np.zeros(PATH_DIM, dtype=np.float32)
            for route in _ROUTES:
                route_ops = [arch[e] for e in route]
                if 0 in route_ops:
                    continue
                idx = 0
                for op in route_ops:
                    idx = idx * 4 + (op - 1)
                v[_PATH_OFFSET[len(route)] + idx] = 1.0
            return v
        if kind == "graph":
            adj = edge_node_adjacency(arch)
            x = np.zeros((8, 2 + N_OPS), dtype=np.float32)
            x[0, 0] = 1.0
            x[7, 1] = 1.0
            for e, op in enumerate(arch, start=1):
                x[e, 2 + op] = 1.0
            src, dst = np.nonzero(adj)
            return Graph(x=x, edge_index=np.stack([src, dst]).astype(np.int64))
        raise InvalidArchitecture(
            f"unknown NB201 encoding {kind!r} (valid: {', '.join(self.encodings)})"
        )


def _regenerate_order(csv_path: Path) -> None:
    import pandas as pd

    df = pd.read_csv(csv_path, usecols=["nb201_index", "arch_str"])
    if len(df) != N_CELLS or sorted(df["nb201_index"]) != list(range(N_CELLS)):
        raise SystemExit(f"{csv_path}: expected indices 0..{N_CELLS - 1}")
    df = df.sort_values("nb201_index")
    codes = np.array([code_of(str_to_arch(s)) for s in df["arch_str"]], dtype=np.uint16)
    if np.unique(codes).size != N_CELLS:
        raise SystemExit(f"{csv_path}: arch strings are not a permutation of the space")
    _ORDER_FILE.parent.mkdir(exist_ok=True)
    np.save(_ORDER_FILE, codes)
    print(f"wrote {_ORDER_FILE} from {csv_path}")


def _main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--regenerate-order", action="store_true")
    args = p.parse_args()
    if args.regenerate_order:
        from harness.benchmarks.registry import locate

        _regenerate_order(locate("nb201", "nb201/nb201_test_acc_200ep.csv"))


if __name__ == "__main__":
    _main()

# all 15,625 op tuples in code order (handy for vectorised work)
ALL_ARCHS: tuple[NB201Arch, ...] = tuple(
    itertools.product(range(N_OPS), repeat=N_EDGES)  # type: ignore[arg-type]
)
