"""NAS-Bench-Graph's search space: a 4-node DAG of GNN operations (Qin et al., NeurIPS 2022).

A cell has four computing nodes. Node ``i`` (0..3) reads exactly one earlier node: ``link[i]``
is 0 for the raw input, or ``j`` for computing node ``j`` (so ``link[i] <= i``: 1*2*3*4 = 24 link
patterns). Each node applies one operation; every node without a successor feeds the output.
Here an architecture is the tuple ``(link0, link1, link2, link3, op0, op1, op2, op3)`` with ops
numbered as in the package's ``gnn_list``: 0 ``gat``, 1 ``gcn``, 2 ``gin``, 3 ``cheb``,
4 ``sage``, 5 ``arma``, 6 ``graph``, 7 ``fc``, 8 ``skip``. One numbering for both spaces, so a
tuple is the same network wherever it appears:

- ``nbgraph`` (the eight main datasets): all nine ops, 24 x 9^4 = 157,464 genotypes;
- ``nbgraph-proteins``: only the package's ``gnn_list_proteins`` ops ``gcn, sage, arma, fc,
  skip`` (24 x 5^4 = 15,000 genotypes; the proteins data holds exactly these ops), the space of
  the ``nbgraph-proteins`` benchmark.

Why the package's own hash is the canonical key: the benchmark's records are keyed by
``nas_bench_graph.Arch(link, ops).valid_hash()`` (it folds link orderings, ``skip`` placement and
equivalent sibling orders into one number), so the only key that can agree with the data is that
function itself. It is computed once per genotype with the package and memoised on disk. Checked
counts (tests): the 157,440 genotypes that are not all-``skip`` map onto exactly the 26,206 keys of
each main dataset; the 14,976 proteins genotypes onto exactly the 2,021 proteins keys. The 24
all-``skip`` genotypes hash to 88888, a key no dataset has (no network), and are invalid here.

Encodings are computed on the key's canonical genotype (decoded from the hash), so every
genotype of one key gets the same vector and graph, as on NB101.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InvalidArchitecture, NotInBenchmark, unknown
from harness.spaces._base import Graph, SearchSpace

#: the package's ``gnn_list`` (its hash numbers ops in this order)
OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: the package's ``gnn_list_proteins``
OPS_PROTEINS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
N_NODES = 4
#: every link pattern: node i reads node link[i] (0 = input), link[i] <= i
LINKS: tuple[tuple[int, ...], ...] = tuple(
    lk
    for lk in itertools.product(range(N_NODES), repeat=N_NODES)
    if all(lk[i] <= i for i in range(N_NODES))
)
_LINK_INDEX = {lk: i for i, lk in enumerate(LINKS)}
#: the 9 canonical link patterns of the package's hash (``link_list``), in its order
HASH_LINKS: tuple[tuple[int, ...], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)  # fmt: skip
_HASH_BASE = len(OPS) + 1  # the package's hash digits are base 10
#: the key every all-``skip`` genotype hashes to; no dataset has it
ALL_SKIP_KEY = 88888
N_KEYS = 26206
N_KEYS_PROTEINS = 2021
_KEY_TABLE_VERSION = 2

NBGraphArch = tuple[int, int, int, int, int, int, int, int]


def _hash_source() -> tuple[str, Path]:
    """(relative path, file) of the package module that defines the hash."""
    import importlib.util

    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidArchitecture(
            "the NAS-Bench-Graph space needs the nas-bench-graph package (its hash is the key): "
            "pip install 'nas-bench-graph>=1.4,<2'"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    return "nas_bench_graph/architecture.py", root / "architecture.py"


@functools.cache
def key_table() -> np.ndarray:
    """The package's hash of every genotype, by genotype code (read-only int64 array).

    Code = link pattern index * 9^4 + the ops as base-9 digits (op0 most significant).
    Computed once with ``nas_bench_graph.Arch.valid_hash`` over the 157,464 genotypes and
    kept as a checked cache (:mod:`harness.benchmarks.cache_integrity`) named after the sha256
    of the package module that defines the hash: a changed hash gets a new table, an edited
    table is rebuilt.
    """
    from harness.benchmarks import cache_integrity
    from harness.benchmarks.registry import file_sha256
    from harness.paths import cache_dir

    rel, src = _hash_source()
    sources = {rel: file_sha256(src)}
    final = cache_dir() / f"nbgraph-keys-{sources[rel][:16]}-v{_KEY_TABLE_VERSION}"

    def rebuild() -> Path:
        table = _compute_keys()
        return cache_integrity.build(
            final,
            lambda tmp: np.save(tmp / "keys.npy", table),
            kind="nbgraph-keys",
            sources=sources,
            keep_valid=True,
        )

    d = cache_integrity.open_verified(final, kind="nbgraph-keys", sources=sources, rebuild=rebuild)
    table = np.load(d / "keys.npy")
    if table.shape != (len(LINKS) * len(OPS) ** N_NODES,) or table.dtype != np.int64:
        raise InvalidArchitecture(f"{d}: the key table has shape {table.shape}; delete it")
    table.setflags(write=False)
    return table


def _compute_keys() -> np.ndarray:
    from nas_bench_graph import Arch  # the official hash

    out = np.empty(len(LINKS) * len(OPS) ** N_NODES, dtype=np.int64)
    i = 0
    for lk in LINKS:
        for o in itertools.product(OPS, repeat=N_NODES):
            out[i] = int(Arch(list(lk), list(o)).valid_hash())
            i += 1
    return out


def decode_key(key: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The canonical (link pattern, op indices) that a package hash stands for."""
    k = int(key)
    names = []
    for _ in range(N_NODES):
        k, r = divmod(k, _HASH_BASE)
        if r >= len(OPS):
            raise InvalidArchitecture(f"{key} is not a NAS-Bench-Graph key (op digit {r})")
        names.append(r)
    if not 0 <= k < len(HASH_LINKS):
        raise InvalidArchitecture(f"{key} is not a NAS-Bench-Graph key (link pattern {k})")
    return HASH_LINKS[k], tuple(reversed(names))


class NBGraphSpace(SearchSpace[NBGraphArch]):
    """NAS-Bench-Graph genotypes (links + op indices), keyed by the package's hash.

    Args:
        ops: ``"main"`` (the 9 ops of the eight main datasets) or ``"proteins"`` (its 5 ops).
    """

    encodings = ("onehot", "adjacency", "path", "graph")
    OP_SETS: Mapping[str, tuple[str, ...]] = {"main": OPS, "proteins": OPS_PROTEINS}

    def __init__(self, ops: str = "main") -> None:
        if ops not in self.OP_SETS:
            raise unknown("NAS-Bench-Graph op set", ops, self.OP_SETS)
        self.op_set = ops
        self.ops = self.OP_SETS[ops]
        self.name = "nbgraph" if ops == "main" else "nbgraph-proteins"
        #: the allowed op indices (into OPS), in this space's order
        self.op_choices = tuple(OPS.index(o) for o in self.ops)
        self._pos = {op: i for i, op in enumerate(self.op_choices)}
        self._n_ops = len(self.ops)
        self._skip = OPS.index("skip")

    # -- validity and keys ---------------------------------------------------------------------
    def check(self, arch: object) -> NBGraphArch:
        """Validate a genotype and return it as a tuple of ints; errors name the bad part."""
        if isinstance(arch, str):
            raise InvalidArchitecture(
                f"{self.name} architecture must be 8 integers, got the string {arch!r} "
                "(parse strings with from_str)"
            )
        try:
            t = tuple(int(x) for x in arch)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            raise InvalidArchitecture(
                f"{self.name} architecture must be 8 integers (4 links, 4 op indices), "
                f"got {arch!r}"
            ) from None
        if len(t) != 2 * N_NODES:
            raise InvalidArchitecture(
                f"{self.name} architecture must be 8 integers (4 links, 4 op indices), "
                f"got {arch!r}"
            )
        for i, lk in enumerate(t[:N_NODES]):
            if not 0 <= lk <= i:
                raise InvalidArchitecture(
                    f"{self.name} link {i} is {lk}: node {i} can read only the input (0) or an "
                    f"earlier node (1..{i}), i.e. 0..{i}"
                )
        for i, op in enumerate(t[N_NODES:]):
            if op not in self._pos:
                valid = ", ".join(f"{j} {OPS[j]}" for j in self.op_choices)
                what = f"{op} ({OPS[op]})" if 0 <= op < len(OPS) else str(op)
                raise InvalidArchitecture(
                    f"{self.name} op {i} is {what}, not an op of this space; valid: {valid}"
                )
        if all(op == self._skip for op in t[N_NODES:]):
            raise InvalidArchitecture(
                f"{self.name}: an all-'skip' cell has no operation and is not in the benchmark"
            )
        return t  # type: ignore[return-value]

    def code(self, arch: NBGraphArch) -> int:
        c = _LINK_INDEX[tuple(arch[:N_NODES])]
        for op in arch[N_NODES:]:
            c = c * len(OPS) + int(op)
        return c

    def _valid_code(self, arch: object) -> int:
        """The genotype code of a valid architecture (fast path for well-formed tuples; anything
        else goes through :meth:`check`, whose error names the problem)."""
        if type(arch) is tuple and len(arch) == 2 * N_NODES:
            li = _LINK_INDEX.get(arch[:N_NODES])
            o0, o1, o2, o3 = arch[N_NODES:]
            pos = self._pos
            if (
                li is not None
                and o0 in pos
                and o1 in pos
                and o2 in pos
                and o3 in pos
                and not (o0 == o1 == o2 == o3 == self._skip)
            ):
                return int(((li * 9 + o0) * 9 + o1) * 9 + o2) * 9 + o3
        return self.code(self.check(arch))

    def key(self, arch: NBGraphArch) -> int:
        """The package's hash of a genotype (the benchmark's record key)."""
        return int(key_table()[self._valid_code(arch)])

    def keys_of(self, archs: Sequence[NBGraphArch]) -> np.ndarray:
        """Package hashes of many genotypes at once."""
        codes = np.fromiter((self._valid_code(a) for a in archs), np.int64, len(archs))
        return key_table()[codes]

    def all_keys(self) -> np.ndarray:
        """Every key this space can produce (sorted; the all-``skip`` key excluded)."""
        table = key_table()
        if self.op_set != "main":  # the codes whose ops are all allowed
            digits = np.arange(table.size)
            ok = np.ones(table.size, dtype=bool)
            allowed = np.zeros(len(OPS), dtype=bool)
            allowed[list(self.op_choices)] = True
            for _ in range(N_NODES):
                digits, r = np.divmod(digits, len(OPS))
                ok &= allowed[r]
            table = table[ok]
        ks = np.unique(table)
        return ks[ks != ALL_SKIP_KEY]

    def arch_of_key(self, key: int) -> NBGraphArch:
        """The canonical genotype of a key (decoded from the hash)."""
        links, ops = decode_key(key)
        bad = [o for o in ops if o not in self._pos]
        if bad or int(key) == ALL_SKIP_KEY:
            raise NotInBenchmark(
                f"key {key} is not a cell of {self.name}"
                + (
                    f": op {OPS[bad[0]]!r} is not one of its ops ({', '.join(self.ops)})"
                    if bad
                    else ""
                )
            )
        return tuple(links) + tuple(ops)  # type: ignore[return-value]

    def canonical_arch(self, arch: NBGraphArch) -> NBGraphArch:
        return self.arch_of_key(self.key(arch))

    # -- SearchSpace --------------------------------------------------------------------------
    def is_valid(self, arch: object) -> bool:
        try:
            self.check(arch)
        except InvalidArchitecture:
            return False
        return True

    def canonical(self, arch: NBGraphArch) -> str:
        return str(self.key(arch))

    def sample(self, rng: np.random.Generator) -> NBGraphArch:
        """A uniform genotype (link pattern and ops uniform; all-``skip`` redrawn)."""
        while True:
            lk = LINKS[int(rng.integers(len(LINKS)))]
            ops = tuple(
                self.op_choices[int(x)] for x in rng.integers(0, self._n_ops, size=N_NODES)
            )
            if not all(o == self._skip for o in ops):
                return lk + ops  # type: ignore[return-value]

    def _gene_values(self, g: int) -> tuple[int, ...]:
        return tuple(range(g + 1)) if g < N_NODES else self.op_choices

    def mutate(self, arch: NBGraphArch, rng: np.random.Generator) -> NBGraphArch:
        """One gene (a link of nodes 1..3, or an op) to a different value, valid, with a
        different key: a change that gives an isomorphic cell would waste an evaluation."""
        arch = self.check(arch)
        key = self.key(arch)
        genes = list(range(1, 2 * N_NODES))  # link 0 has a single choice
        for _ in range(64):
            g = int(rng.choice(genes))
            others = [v for v in self._gene_values(g) if v != arch[g]]
            child = list(arch)
            child[g] = others[int(rng.integers(len(others)))]
            t = tuple(child)
            if self.is_valid(t) and self.key(t) != key:  # type: ignore[arg-type]
                return t  # type: ignore[return-value]
        # vanishingly rare: fall back to the first neighbour with a different key
        for nb in self.neighbours(arch):
            if self.key(nb) != key:
                return nb
        raise InvalidArchitecture(f"{self.name}: {arch} has no neighbour with a different key")

    def crossover(self, a: NBGraphArch, b: NBGraphArch, rng: np.random.Generator) -> NBGraphArch:
        """Uniform crossover per gene (every gene's value is valid in place); an all-``skip``
        child is replaced by parent ``a``."""
        take_a = rng.random(2 * N_NODES) < 0.5
        child = tuple(x if t else y for x, y, t in zip(a, b, take_a, strict=True))
        return child if self.is_valid(child) else a  # type: ignore[return-value]

    def neighbours(self, arch: NBGraphArch) -> list[NBGraphArch]:
        arch = self.check(arch)
        out = []
        for g in range(1, 2 * N_NODES):
            for v in self._gene_values(g):
                if v != arch[g]:
                    nb = list(arch)
                    nb[g] = v
                    if self.is_valid(nb):
                        out.append(tuple(nb))
        return out  # type: ignore[return-value]

    def size(self) -> int:
        return len(LINKS) * (self._n_ops**N_NODES - 1)

    @property
    def path_dim(self) -> int:
        return sum(self._n_ops**k for k in range(1, N_NODES + 1))

    def n_keys(self) -> int:
        return int(self.all_keys().size)

    def to_str(self, arch: NBGraphArch) -> str:
        a = self.check(arch)
        return ",".join(map(str, a[:N_NODES])) + "|" + ",".join(OPS[o] for o in a[N_NODES:])

    def from_str(self, text: str) -> NBGraphArch:
        """``"0,1,2,1|gcn,gin,fc,cheb"`` (links | op names), or a key (the package's hash) as
        digits, which gives the key's canonical genotype."""
        if not isinstance(text, str):
            raise InvalidArchitecture(f"{self.name} architecture string expected, got {text!r}")
        s = text.strip()
        example = (
            "0,1,2,1|gcn,gin,fc,cheb" if self.op_set == "main" else "0,1,2,1|gcn,sage,fc,arma"
        )
        if s.isdigit():
            return self.arch_of_key(int(s))
        parts = s.split("|")
        if len(parts) != 2:
            raise InvalidArchitecture(
                f"malformed {self.name} architecture {text!r}: expected 'links|ops', "
                f"e.g. {example}"
            )
        try:
            links = [int(x) for x in parts[0].split(",")]
        except ValueError:
            raise InvalidArchitecture(
                f"malformed {self.name} links {parts[0]!r} in {text!r}: 4 integers, e.g. {example}"
            ) from None
        names = [x.strip() for x in parts[1].split(",")]
        if len(links) != N_NODES or len(names) != N_NODES:
            raise InvalidArchitecture(
                f"malformed {self.name} architecture {text!r}: 4 links and 4 ops, e.g. {example}"
            )
        ops = []
        for nm in names:
            if nm not in self.ops:
                extra = (
                    " (it is an op of the main space only; proteins has its own ops)"
                    if nm in OPS
                    else ""
                )
                raise InvalidArchitecture(
                    f"unknown {self.name} operation {nm!r} in {text!r}{extra}; valid: "
                    f"{', '.join(self.ops)}"
                )
            ops.append(OPS.index(nm))
        return self.check(tuple(links) + tuple(ops))

    def categorical_params(self) -> dict[str, tuple[Any, ...]]:
        out: dict[str, tuple[Any, ...]] = {
            f"link{i}": tuple(range(i + 1)) for i in range(1, N_NODES)
        }
        out.update({f"op{i}": self.ops for i in range(N_NODES)})
        return out

    def from_params(self, params: Mapping[str, Any]) -> NBGraphArch:
        try:
            links = [0] + [int(params[f"link{i}"]) for i in range(1, N_NODES)]
            names = [params[f"op{i}"] for i in range(N_NODES)]
        except KeyError as e:
            raise InvalidArchitecture(f"{self.name}: parameter {e.args[0]!r} missing") from None
        return self.from_str(",".join(map(str, links)) + "|" + ",".join(map(str, names)))

    # -- encodings ----------------------------------------------------------------------------
    def _dag(self, arch: NBGraphArch) -> np.ndarray:
        """6x6 adjacency (0 input, 1..4 the computing nodes, 5 output) of the canonical cell."""
        adj = np.zeros((N_NODES + 2, N_NODES + 2), dtype=np.int8)
        links = arch[:N_NODES]
        for i, lk in enumerate(links):
            adj[lk, i + 1] = 1
        for i in range(N_NODES):
            if (i + 1) not in links:  # a leaf feeds the output
                adj[i + 1, N_NODES + 1] = 1
        return adj

    def encode(self, arch: NBGraphArch, kind: str) -> np.ndarray | Graph:
        """On the key's canonical genotype: ``onehot`` (links 1+2+3+4 bits, ops 4 x n_ops),
        ``adjacency`` (15 upper-triangle bits of the 6-node DAG, ops 4 x n_ops), ``path`` (one
        bit per input-to-output op sequence: each node reads one input, so every leaf gives one
        path of 1-4 ops; n + n^2 + n^3 + n^4 bits, as BANANAS' path encoding), ``graph``
        (6 nodes: input, 4 ops, output; features one-hot over input/output/ops)."""
        c = self.canonical_arch(arch)
        ops_1h = np.zeros((N_NODES, self._n_ops), dtype=np.float32)
        ops_1h[np.arange(N_NODES), [self._pos[o] for o in c[N_NODES:]]] = 1.0
        if kind == "onehot":
            links = [np.eye(i + 1, dtype=np.float32)[c[i]] for i in range(N_NODES)]
            return np.concatenate([*links, ops_1h.ravel()])
        if kind == "adjacency":
            adj = self._dag(c)
            iu = np.triu_indices(N_NODES + 2, k=1)
            return np.concatenate([adj[iu].astype(np.float32), ops_1h.ravel()])
        if kind == "path":
            n = self._n_ops
            v = np.zeros(self.path_dim, dtype=np.float32)
            parents = c[:N_NODES]
            for leaf in range(N_NODES):
                if (leaf + 1) in parents:
                    continue  # not a leaf: its paths continue through a successor
                seq = []
                node = leaf
                while True:  # walk back to the input
                    seq.append(self._pos[c[N_NODES + node]])
                    if parents[node] == 0:
                        break
                    node = parents[node] - 1
                idx = 0
                for o in reversed(seq):
                    idx = idx * n + o
                v[sum(n**k for k in range(1, len(seq))) + idx] = 1.0
            return v
        if kind == "graph":
            adj = self._dag(c)
            x = np.zeros((N_NODES + 2, 2 + self._n_ops), dtype=np.float32)
            x[0, 0] = 1.0
            x[N_NODES + 1, 1] = 1.0
            x[1 : N_NODES + 1, 2:] = ops_1h
            src, dst = np.nonzero(adj)
            return Graph(x=x, edge_index=np.stack([src, dst]).astype(np.int64))
        raise InvalidArchitecture(
            f"unknown {self.name} encoding {kind!r} (valid: {', '.join(self.encodings)})"
        )
