"""Enumerate the whole NB101 space (423,624 cells) with official hashes, fast.

Why not the straightforward way: hashing every labelled DAG with ``graph_util.hash_module``
(about 0.47 ms a call, 57 MD5s of Python-built strings for a 7-vertex cell) over ~1.2 M labelled
cells takes 284 s on 2 cores. Here:

1. all pruned DAGs (every vertex on an input->output path, <= 9 edges) of 2..7 vertices come from
   bit masks filtered with NumPy;
2. duplicates are removed *before* hashing with an exact canonical key
   (:func:`harness.spaces.nb101.canonical_keys`, the minimum over interior-vertex relabellings),
   which also yields each class's representative;
3. the official hash is recomputed for all representatives at once (:func:`hash_batch`): the
   iterated neighbour-label hashing is done one round at a time over the whole batch, every
   distinct vertex state is MD5-hashed once (rows deduplicated with NumPy, messages assembled as
   byte arrays), so Python only calls ``hashlib.md5`` once per distinct state. The result is
   bit-identical to ``graph_util.hash_module`` (tested on thousands of random cells and on the
   published hashes).

The count of distinct hashes must equal the count of canonical keys (the official hash has no
collision in this space) and the published 423,624; :func:`enumerate_space` checks both.

Arrays (sorted by hash): ``hash`` (S32 hex), ``adj_bits`` (uint32, the 21 edge bits in
:func:`~harness.spaces.nb101.bit_index` order of the representative padded to 7 vertices: real
vertices first, dangling padding vertices before the output, output at index 6),
``num_vertices`` (uint8, after pruning) and ``ops`` (uint8 [N, 5]: interior op codes in
``INTERIOR_OPS`` order, 255 at padding positions). They are cached in
``cache_dir() / "nb101_space.npz"``.

Command line: ``nash dev nb101-enum --write-30k-specs`` regenerates
``harness/spaces/_data/nb101_30k_specs.npz`` (the specs of the NB101-30k sample's hashes).
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import itertools
import multiprocessing
import os
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DataError, NotInBenchmark
from harness.paths import atomic_path, cache_dir
from harness.spaces.nb101 import (
    INPUT,
    INTERIOR_OPS,
    MAX_EDGES,
    MAX_VERTICES,
    N_EDGE_BITS,
    N_OP_SPOTS,
    NUM_CELLS,
    OUTPUT,
    NB101Cell,
    bit_index,
    canonical_keys,
)

FORMAT_VERSION = 1
CACHE_NAME = "nb101_space.npz"
PAD_OP = 255
SPECS_30K = Path(__file__).resolve().parent / "_data" / "nb101_30k_specs.npz"
CSV_30K = "nb101/nb101_subset30k_val_acc.csv"

try:  # CPython's built-in MD5: same digests, about a third less call overhead than OpenSSL's
    from _md5 import md5 as _fast_md5
except ImportError:  # pragma: no cover
    _fast_md5 = hashlib.md5

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX2 = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 15]], axis=1)  # byte -> 2 hex
_PIPE = np.frombuffer(b"|", dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# Vectorised official hash


def _md5_rows(msgs: np.ndarray) -> np.ndarray:
    """MD5 of each row of a [G, L] uint8 array (one fixed-length message per row) -> [G, 16]."""
    if len(msgs) == 0:
        return np.zeros((0, 16), dtype=np.uint8)
    length = msgs.shape[1]
    items = np.ascontiguousarray(msgs).view(f"S{length}").ravel().tolist()
    md5 = _fast_md5
    digests = b"".join([md5(m).digest() for m in items])
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16)


def _to_hex(digests: np.ndarray) -> np.ndarray:
    """[G, 16] digest bytes -> [G, 32] ASCII lowercase hex (what ``hexdigest`` returns)."""
    return _HEX2[digests].reshape(len(digests), 32)


def _ranks(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order and rank of the rows of a [T, 16] digest table in hex-string order.

    ``hash_module`` sorts hex strings; hex is order-preserving, so this sorts the raw digests:
    by their first 8 bytes (big-endian), with a full two-word lexsort only when two of them share
    those 64 bits.
    """
    words = np.ascontiguousarray(digests).view(">u8").astype(np.uint64)  # [T, 2]
    order = np.argsort(words[:, 0], kind="stable")
    first = words[order, 0]
    if len(first) > 1 and bool((first[1:] == first[:-1]).any()):
        order = np.lexsort((words[:, 1], words[:, 0]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return order, rank


def _unique_rows(rows: np.ndarray, salt: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows and each row's group (like ``np.unique(axis=0)``, without its slow sort).

    Rows are keyed by a random 64-bit linear hash, grouped by an argsort of the keys, and the
    grouping is then verified row by row; the exact (slow) path is taken if two different rows
    ever shared a key, so the result never depends on luck. The order of the distinct rows is
    arbitrary but deterministic.
    """
    coef = salt.integers(1, np.iinfo(np.int64).max, size=rows.shape[1], dtype=np.int64)
    keys = rows.astype(np.uint64) @ coef.astype(np.uint64)  # wraps modulo 2**64
    order = np.argsort(keys)
    sk = keys[order]
    starts = np.empty(len(sk), dtype=bool)
    starts[:1] = True
    np.not_equal(sk[1:], sk[:-1], out=starts[1:])
    inv = np.empty(len(sk), dtype=np.int64)
    inv[order] = np.cumsum(starts) - 1
    urows = rows[order[starts]]
    shared = np.bincount(inv)[inv] > 1  # a row alone in its group is its own representative
    if not np.array_equal(urows[inv[shared]], rows[shared]):
        urows, inv = np.unique(rows, axis=0, return_inverse=True)  # pragma: no cover
    return urows, inv.ravel()


def hash_batch(mats: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Official NB101 hashes (``graph_util.hash_module``) of a batch of same-size pruned cells.

    ``mats``: [M, n, n] 0/1 upper-triangular (already pruned); ``labels``: [M, n-2] interior
    labels 0..2 (conv3x3, conv1x1, maxpool3x3). Returns [M] ``S32`` hex hashes.
    """
    mats = np.asarray(mats).astype(bool)
    m_cells, n, _ = mats.shape
    if m_cells == 0:
        return np.zeros(0, dtype="S32")
    salt = np.random.default_rng(0x5EED)  # fixed: only for row deduplication, never a result
    lab = np.empty((m_cells, n), dtype=np.int64)
    lab[:, 0] = -1
    lab[:, -1] = -2
    lab[:, 1:-1] = np.asarray(labels, dtype=np.int64).reshape(m_cells, n - 2)
    in_deg = mats.sum(axis=1)
    out_deg = mats.sum(axis=2)

    # Round 0: md5(str((out_degree, in_degree, label))) for each distinct triple.
    triples = np.stack([out_deg, in_deg, lab], axis=-1).reshape(-1, 3)
    uniq, inv = np.unique(triples, axis=0, return_inverse=True)
    table = np.frombuffer(
        b"".join(hashlib.md5(str(tuple(map(int, t))).encode()).digest() for t in uniq),
        dtype=np.uint8,
    ).reshape(-1, 16)
    ids = inv.reshape(m_cells, n)

    # A vertex's state is (sorted in-neighbour hashes, sorted out-neighbour hashes, own hash).
    # With ranks r < T in hex order, in-neighbours are coded r and out-neighbours T + r: one
    # sorted row of at most n - 1 neighbours (a DAG vertex has in + out degree <= n - 1) then
    # holds both sorted lists, in-neighbours first.
    in_mask = np.swapaxes(mats, 1, 2)  # in_mask[c, v, w]: edge w -> v
    for _ in range(n):
        order, rank = _ranks(table)
        t = len(table)
        big = np.int64(2 * t + 1)
        sorted_hex = _to_hex(table[order])  # row r = hex of rank r
        r = rank[ids]  # [M, n]
        rb = np.broadcast_to(r[:, None, :], mats.shape)
        neigh = np.where(in_mask, rb, np.where(mats, rb + t, big))
        neigh.sort(axis=2)
        rows = np.concatenate([neigh[:, :, : n - 1], r[:, :, None]], axis=2).reshape(-1, n)
        del neigh, rb
        urows, inv = _unique_rows(rows, salt)
        del rows
        is_in = urows[:, : n - 1] < t
        k_in = is_in.sum(axis=1)
        k_out = (urows[:, : n - 1] < big).sum(axis=1) - k_in
        nb = urows[:, : n - 1]
        nb = np.where(nb >= t, nb - t, nb)  # back to ranks (padding columns are never read)
        new_table = np.empty((len(urows), 16), dtype=np.uint8)
        kind = k_in * n + k_out
        for kk in np.unique(kind).tolist():
            ki, ko = divmod(kk, n)
            sel = np.flatnonzero(kind == kk)
            u = nb[sel]
            g = len(sel)
            msg = np.concatenate(
                [
                    sorted_hex[u[:, :ki]].reshape(g, 32 * ki),
                    np.broadcast_to(_PIPE, (g, 1)),
                    sorted_hex[u[:, ki : ki + ko]].reshape(g, 32 * ko),
                    np.broadcast_to(_PIPE, (g, 1)),
                    sorted_hex[urows[sel, n - 1]],
                ],
                axis=1,
            )
            new_table[sel] = _md5_rows(msg)
        table = new_table
        ids = inv.reshape(m_cells, n)

    # Fingerprint: md5(str(sorted(hashes))) = md5("['h1', 'h2', ...]").
    order, rank = _ranks(table)
    sorted_hex = _to_hex(table[order])
    fr = np.sort(rank[ids], axis=1)
    ufr, inv = _unique_rows(fr, salt)
    g = len(ufr)
    quote = np.full((g, 1), ord("'"), dtype=np.uint8)
    parts = [np.full((g, 1), ord("["), dtype=np.uint8)]
    for j in range(n):
        if j:
            parts.append(np.broadcast_to(np.frombuffer(b", ", dtype=np.uint8), (g, 2)))
        parts += [quote, sorted_hex[ufr[:, j]], quote]
    parts.append(np.full((g, 1), ord("]"), dtype=np.uint8))
    fingerprints = _to_hex(_md5_rows(np.concatenate(parts, axis=1)))
    return np.ascontiguousarray(fingerprints).view("S32").ravel()[inv]


def hash_cells(cells: Iterable[NB101Cell]) -> list[str]:
    """Official hashes of many cells via :func:`hash_batch` (grouped by pruned size)."""
    pruned = [c.pruned() for c in cells]
    out: list[str] = [""] * len(pruned)
    for n in range(2, MAX_VERTICES + 1):
        idx = [i for i, c in enumerate(pruned) if c.num_vertices == n]
        if not idx:
            continue
        mats = np.stack([pruned[i].matrix for i in idx])
        labs = np.array([pruned[i].labels[1:-1] for i in idx], dtype=np.int64).reshape(
            len(idx), -1
        )
        for i, h in zip(idx, hash_batch(mats, labs), strict=True):
            out[i] = h.decode()
    return out


# ---------------------------------------------------------------------------------------------
# Enumeration


def full_dags(n: int) -> np.ndarray:
    """All n-vertex upper-triangular 0/1 matrices with <= 9 edges whose every vertex lies on an
    input->output path ([M, n, n] bool, in bit-mask order).

    In a DAG that is the same as: every vertex but the output has an out-edge and every vertex
    but the input has an in-edge (nasbench's ``is_full_dag``), which NumPy checks on all masks.
    """
    n_bits = n * (n - 1) // 2
    masks = np.arange(1 << n_bits, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(n_bits)) & 1).astype(bool)
    bits = bits[bits.sum(axis=1) <= MAX_EDGES]
    mats = np.zeros((len(bits), n, n), dtype=bool)
    for dst in range(n):
        for src in range(dst):
            mats[:, src, dst] = bits[:, bit_index(src, dst)]
    has_out = np.any(mats[:, : n - 1, :], axis=2)
    has_in = np.any(mats[:, :, 1:], axis=1)
    ok = np.all(has_out, axis=1) & np.all(has_in, axis=1)
    return mats[ok]


def _decode_keys(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`~harness.spaces.nb101.decode_key`: [K] keys -> matrices, labels."""
    k = n - 2
    adjcode, labelcode = np.divmod(keys, 3**k)
    mats = np.zeros((len(keys), n, n), dtype=bool)
    for dst in range(n):
        for src in range(dst):
            mats[:, src, dst] = (adjcode >> bit_index(src, dst)) & 1
    labels = (
        np.stack([(labelcode // 3 ** (k - 1 - i)) % 3 for i in range(k)], axis=1)
        if k
        else (np.zeros((len(keys), 0), dtype=np.int64))
    )
    return mats, labels.astype(np.int64)


def _pad_bits(mats: np.ndarray) -> np.ndarray:
    """21-bit codes of n-vertex matrices padded to 7 vertices (output moved to index 6)."""
    n = mats.shape[1]
    code = np.zeros(len(mats), dtype=np.uint32)
    for dst in range(1, n):
        dst7 = MAX_VERTICES - 1 if dst == n - 1 else dst
        for src in range(dst):
            code |= mats[:, src, dst].astype(np.uint32) << np.uint32(bit_index(src, dst7))
    return code


def _classes(n: int, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Representatives (matrices, interior labels) of all n-vertex classes, ordered by key."""
    mats = full_dags(n)
    labellings = np.array(list(itertools.product(range(3), repeat=n - 2)), dtype=np.int64)
    labellings = labellings.reshape(3 ** (n - 2), n - 2)
    keys = np.unique(
        np.concatenate(
            [
                canonical_keys(mats[i : i + chunk], labellings).ravel()
                for i in range(0, len(mats), chunk)
            ]
        )
    )
    return _decode_keys(keys, n)


def default_workers() -> int:
    """Processes for :func:`enumerate_space`: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def enumerate_space(
    workers: int | None = None, verbose: bool = False, batch: int = 4000
) -> dict[str, np.ndarray]:
    """Every NB101 cell up to isomorphism with its official hash (arrays sorted by hash).

    The hashing runs in batches of ``batch`` classes over ``workers`` processes (default
    :func:`default_workers`); the result does not depend on either.
    """
    workers = default_workers() if workers is None else max(1, workers)
    t0 = time.perf_counter()
    classes = {n: _classes(n) for n in range(2, MAX_VERTICES + 1)}
    n_keys = sum(len(m) for m, _ in classes.values())
    if verbose:
        print(f"{n_keys} classes in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    # Batches of a few thousand classes: cross-cell sharing of vertex states is mostly within
    # neighbouring keys (same matrix), and small arrays stay in cache (measured 53 us/cell at
    # 2,000 cells a batch vs 96 us/cell in one batch of all 359,082 7-vertex classes).
    jobs: list[tuple[int, slice]] = []
    for n, (mats, _) in classes.items():
        bounds = [*range(0, len(mats), batch), len(mats)]
        jobs += [(n, slice(lo, hi)) for lo, hi in itertools.pairwise(bounds)]
    if workers > 1:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [
                pool.submit(hash_batch, classes[n][0][sl], classes[n][1][sl]) for n, sl in jobs
            ]
            hashes = [f.result() for f in futures]
    else:
        hashes = [hash_batch(classes[n][0][sl], classes[n][1][sl]) for n, sl in jobs]
    if verbose:
        print(f"hashed in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    out: dict[str, list[np.ndarray]] = {"hash": [], "adj_bits": [], "num_vertices": [], "ops": []}
    for n, (mats, labels) in classes.items():
        ops = np.full((len(mats), N_OP_SPOTS), PAD_OP, dtype=np.uint8)
        ops[:, : n - 2] = labels
        out["adj_bits"].append(_pad_bits(mats))
        out["num_vertices"].append(np.full(len(mats), n, dtype=np.uint8))
        out["ops"].append(ops)
    out["hash"] = hashes  # jobs are in the same (n, row) order
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    order = np.argsort(arrays["hash"], kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    n_hashes = len(np.unique(arrays["hash"]))
    if not n_hashes == n_keys == NUM_CELLS:
        raise AssertionError(
            f"NB101 enumeration found {n_keys} isomorphism classes and {n_hashes} distinct "
            f"hashes; expected {NUM_CELLS}"
        )
    return arrays


# ---------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True, eq=False)
class NB101Table:
    """Cells keyed by official hash: ``hash`` (sorted S32), ``adj_bits``, ``num_vertices``,
    ``ops`` (see the module docstring for the layout)."""

    hash: np.ndarray
    adj_bits: np.ndarray
    num_vertices: np.ndarray
    ops: np.ndarray

    def __len__(self) -> int:
        return len(self.hash)

    def __contains__(self, h: object) -> bool:
        return isinstance(h, str) and bool(self.index([h])[0] >= 0)

    def index(self, hashes: Sequence[str] | np.ndarray) -> np.ndarray:
        """Row of each hash (vectorised), -1 where absent."""
        q = np.asarray(hashes, dtype="S32")
        pos = np.searchsorted(self.hash, q)
        pos_c = np.minimum(pos, len(self.hash) - 1)
        found = (pos < len(self.hash)) & (self.hash[pos_c] == q)
        return np.where(found, pos_c, -1)

    def cell_at(self, i: int) -> NB101Cell:
        """The (pruned, canonical-form) cell of row ``i``."""
        n = int(self.num_vertices[i])
        code = int(self.adj_bits[i])
        m = np.zeros((n, n), dtype=np.int64)
        for dst in range(1, n):
            dst7 = MAX_VERTICES - 1 if dst == n - 1 else dst
            for src in range(dst):
                m[src, dst] = (code >> bit_index(src, dst7)) & 1
        ops = (INPUT, *(INTERIOR_OPS[c] for c in self.ops[i, : n - 2]), OUTPUT)
        return NB101Cell(tuple(tuple(int(x) for x in row) for row in m), ops)

    def cell(self, h: str) -> NB101Cell:
        """The cell with official hash ``h``; NotInBenchmark when the table lacks it."""
        i = int(self.index([h])[0])
        if i < 0:
            raise NotInBenchmark(f"NB101 hash {h!r} is not among the {len(self)} cells here")
        return self.cell_at(i)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "hash": self.hash,
            "adj_bits": self.adj_bits,
            "num_vertices": self.num_vertices,
            "ops": self.ops,
        }


def _save(path: Path, arrays: dict[str, np.ndarray], compressed: bool = False) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        payload: dict[str, Any] = {"format_version": np.array(FORMAT_VERSION), **arrays}
        if compressed:
            np.savez_compressed(f, **payload)
        else:
            np.savez(f, **payload)


def _load(path: Path) -> NB101Table | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format_version"]) != FORMAT_VERSION:
                return None
            return NB101Table(
                hash=z["hash"],
                adj_bits=z["adj_bits"],
                num_vertices=z["num_vertices"],
                ops=z["ops"],
            )
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # missing, truncated or foreign: the caller rebuilds


@functools.lru_cache(maxsize=1)
def load_nb101_space(rebuild: bool = False) -> NB101Table:
    """All 423,624 cells, from the cache file, (re)built when missing, stale or unreadable."""
    path = cache_dir() / CACHE_NAME
    table = None if rebuild else _load(path)
    if table is None or len(table) != NUM_CELLS:
        arrays = enumerate_space()
        _save(path, arrays)
        table = NB101Table(**arrays)
    return table


def recover_30k_specs(csv_path: Path | None = None) -> tuple[NB101Table, int]:
    """Specs of the NB101-30k sample's hashes joined from the enumeration.

    Returns the table (rows sorted by hash) and the number of CSV hashes; every hash must be
    recovered (a missing one raises DataError naming it).
    """
    from harness.benchmarks.registry import locate  # verifies the pinned sha256

    path = csv_path or locate("nb101-30k", CSV_30K)
    with open(path, newline="") as f:
        hashes = [row["nb101_hash"] for row in csv.DictReader(f)]
    space = load_nb101_space()
    idx = space.index(hashes)
    missing = [h for h, i in zip(hashes, idx, strict=True) if i < 0]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(hashes)} hashes in {path} are not NB101 cells "
            f"(first: {missing[0]})"
        )
    rows = np.unique(idx)
    arr = {k: v[rows] for k, v in space.arrays().items()}
    return NB101Table(**arr), len(hashes)


def load_nb101_30k_specs() -> NB101Table:
    """The committed specs of the NB101-30k sample (no accuracies; see ``--write-30k-specs``)."""
    table = _load(SPECS_30K)
    if table is None:
        raise DataError(
            f"{SPECS_30K} is missing or unreadable; regenerate it with "
            "`python -m harness.spaces.nb101_enum --write-30k-specs`"
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the enumeration cache")
    parser.add_argument(
        "--write-30k-specs",
        action="store_true",
        help=f"write {SPECS_30K.name} from the NB101-30k CSV (found under the data roots)",
    )
    parser.add_argument("--csv", type=Path, default=None, help="explicit path of the 30k CSV")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.rebuild:
        load_nb101_space.cache_clear()
    space = load_nb101_space(rebuild=args.rebuild)
    print(f"{len(space)} NB101 cells ({time.perf_counter() - t0:.1f} s)")
    if args.write_30k_specs:
        table, n_csv = recover_30k_specs(args.csv)
        _save(SPECS_30K, table.arrays(), compressed=True)
        print(f"recovered {len(table)} of {n_csv} hashes -> {SPECS_30K}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "N_EDGE_BITS",
    "NB101Table",
    "enumerate_space",
    "full_dags",
    "hash_batch",
    "hash_cells",
    "load_nb101_30k_specs",
    "load_nb101_space",
    "recover_30k_specs",
]
