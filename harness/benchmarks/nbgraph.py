"""NAS-Bench-Graph (Qin et al., NeurIPS 2022) from the data its PyPI package ships.

What the package holds (``nas_bench_graph/light/<dataset>.bench``, one pickle per dataset, a dict
keyed by the package's architecture hash; checked in the tests):

- nine datasets: cora, citeseer, pubmed, cs, physics, photo, computers, arxiv (26,206 keys each)
  and proteins (2,021 keys: its space has only 5 ops);
- per key: ``valid_perf`` (validation), ``perf`` (TEST), ``latency``, ``para``. The package's
  README names them "validation performance", "test performance", "latency" and "number of
  parameters". Performance is accuracy as a fraction (proteins: ogbn-proteins, whose metric is
  ROC-AUC). The values are means over the paper's three training seeds (inferred from the data:
  every cora test value is a multiple of 1/3000 with 1,000 test nodes, only 34 % are multiples of
  1/1000); the per-seed and per-epoch records are only in the full download (figshare), not in
  the package, so there are no per-seed values and no fidelities here. ``para`` is in millions
  (cora's smallest, 0.437, is about one 1433x256 input layer plus a classifier); ``latency`` is
  recorded as seconds (0.3 ms to 0.6 s), as the package stores it.

Units here: performance is multiplied by 100 (percent, as NB201, NB101 and AnalogNAS-Bench
store accuracy) so reports, regrets and thresholds read alike across benchmarks; the tests check
every value against ``100 * `` the package's; latency and parameters are as stored.

Two benchmarks, one per space: ``nbgraph`` (the eight main datasets, space ``nbgraph``) and
``nbgraph-proteins`` (ogbn-proteins, space ``nbgraph-proteins``): a benchmark is defined on one
space, and proteins was trained only on its five ops.

Roles: ``val_acc`` / ``val_rocauc`` are the search signal; ``test_acc`` / ``test_rocauc`` are
report-only; latency and parameters are info.

Loading: the pickles are read once with the project's restricted unpickler (pinned sha256, only
the two numpy globals they name allowed), checked (field set, key set equal to the space's), and
converted into memory-mapped ``.npy`` arrays under the cache directory, whose name carries the
pinned checksums; later loads verify the package files (memoised checksums) and map the arrays.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.benchmarks.base import Benchmark, Metric, Provenance
from harness.errors import DataError, NotInBenchmark, UnknownName
from harness.spaces.nbgraph import OPS, OPS_PROTEINS, NBGraphSpace, decode_key

PACKAGE = "nas-bench-graph"
PACKAGE_VERSIONS = ">=1.4,<2"
DATASETS: tuple[str, ...] = (
    "cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins",
)  # fmt: skip
#: sha256 of the package's data files (nas-bench-graph 1.4.0)
SHA256: dict[str, str] = {
    "arxiv": "7ee21a7653297a806c0ed1be3efe6ecc06acc84e48e942da0bfde0e5d287debe",
    "citeseer": "99c7f79b73372636305bf73fb32a58b63c57bd1871a152dd62ec72d984c8c50f",
    "computers": "fdb3dc0cf405d62322f0ab9614b2083c2a5e6576c2f43e4f2214be64bc62b1b3",
    "cora": "5e69b2f9bb08d8927d9ffd4921f8494a3cea349c9c3a461334cb9dc9e11701a8",
    "cs": "71ae8469930517160b024f52db6000a4897f1aff5d765beb27bb60952ed5bd31",
    "photo": "5511b4dc3f63fa988792177227db7901290fb9b27fc6c02e3036b29e134ed6df",
    "physics": "1e309bafee0b832c8b84fa3c039c36992bc0a910238b128f26b7e9190d7f2aea",
    "proteins": "b9e7fb0902bda44fec32c948e5fde822fb22d38d674c52e43ace5197378f2d21",
    "pubmed": "10b4dcf6cfd3a24f6059f7d541a4a872960b4adac0b3dba26abed1bb9a3d904d",
}
#: the globals the pickles name (numpy float64 scalars); nothing else is unpickled
_ALLOWED = (("numpy.core.multiarray", "scalar"), ("numpy", "dtype"))
#: package field -> column, in the stored order, and the factor applied (performance -> %)
FIELDS: tuple[tuple[str, str], ...] = (
    ("valid_perf", "val"),
    ("perf", "test"),
    ("latency", "latency_s"),
    ("para", "params_m"),
)
SCALE: dict[str, float] = {"valid_perf": 100.0, "perf": 100.0, "latency": 1.0, "para": 1.0}
N_KEYS = {ds: (2021 if ds == "proteins" else 26206) for ds in DATASETS}
#: the datasets of the main space (benchmark ``nbgraph``); proteins is ``nbgraph-proteins``
MAIN_DATASETS = tuple(d for d in DATASETS if d != "proteins")
_FORMAT = 2
CITATION = (
    "Qin, Zhang, Wang, Zhang, Zhu: NAS-Bench-Graph: Benchmarking Graph Neural Architecture "
    "Search, NeurIPS 2022 Datasets and Benchmarks"
)


def package_file(dataset: str) -> Path:
    """The installed package's data file of ``dataset`` (located without importing it)."""
    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"NAS-Bench-Graph needs the {PACKAGE} package ({PACKAGE_VERSIONS}), which ships its "
            f"data: pip install '{PACKAGE}{PACKAGE_VERSIONS}'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "light" / f"{dataset}.bench"


def verified_file(dataset: str) -> Path:
    """The package file of ``dataset`` after checking its pinned sha256 (memoised)."""
    from harness.benchmarks.registry import file_sha256

    path = package_file(dataset)
    if not path.is_file():
        raise DataError(
            f"{path} is missing: reinstall {PACKAGE} ({PACKAGE_VERSIONS}), which ships it"
        )
    got = file_sha256(path)
    if got != SHA256[dataset]:
        raise DataError(
            f"{path}: sha256 {got} is not the pinned {SHA256[dataset]} (nas-bench-graph 1.4.0); "
            f"reinstall {PACKAGE}==1.4.0 or pin the new file's checksum after checking it"
        )
    return path


def read_official(dataset: str) -> dict[int, dict[str, float]]:
    """The package's record dict of one dataset via the restricted unpickler (pinned sha256)."""
    from harness.benchmarks.converters.safe_pickle import restricted_load

    data = restricted_load(package_file(dataset), SHA256[dataset], _ALLOWED)
    if not isinstance(data, dict):
        raise DataError(f"{dataset}.bench: expected a dict of records, got {type(data).__name__}")
    return data


def _convert(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys and the value matrix [len(FIELDS), n] of one dataset, checked."""
    data = read_official(dataset)
    want = {f for f, _ in FIELDS}
    bad = next((k for k in data if isinstance(k, bool) or not isinstance(k, int)), None)
    if bad is not None:
        raise DataError(f"{dataset}.bench: key {bad!r} is not an architecture hash (an int)")
    keys = np.array(sorted(data), dtype=np.int64)
    values = np.empty((len(FIELDS), keys.size), dtype=np.float64)
    for j, k in enumerate(keys.tolist()):
        rec = data[k]
        if not isinstance(rec, dict) or set(rec) != want:
            raise DataError(
                f"{dataset}.bench key {k}: fields {sorted(rec)} are not {sorted(want)}"
            )
        for i, (f, _) in enumerate(FIELDS):
            v = rec[f]
            if isinstance(v, bool) or not isinstance(v, int | float | np.floating):
                raise DataError(f"{dataset}.bench key {k}: {f} is {v!r}, not a number")
            values[i, j] = float(v) * SCALE[f]
    if not np.isfinite(values).all():
        raise DataError(f"{dataset}.bench holds non-finite values")
    space = NBGraphSpace("proteins" if dataset == "proteins" else "main")
    expected = space.all_keys()
    if keys.size != N_KEYS[dataset] or not np.array_equal(keys, expected):
        raise DataError(
            f"{dataset}.bench has {keys.size} keys; expected exactly the {expected.size} keys of "
            f"space {space.name}"
        )
    return keys, values


_KIND = "nbgraph-table"


def _sources(dataset: str) -> dict[str, str]:
    return {f"nas_bench_graph/light/{dataset}.bench": SHA256[dataset]}


def _cache_dir(dataset: str) -> Path:
    from harness.paths import cache_dir

    return cache_dir() / f"nbgraph-{dataset}-{SHA256[dataset][:16]}-v{_FORMAT}"


def build_cache(dataset: str, force: bool = False) -> Path:
    """Convert one dataset into its cache directory (atomic, with an integrity record)."""
    from harness.benchmarks import cache_integrity

    d = _cache_dir(dataset)
    if not force and cache_integrity.check(d, kind=_KIND, sources=_sources(dataset)) is None:
        return d
    return _build(dataset)


def _build(dataset: str) -> Path:
    from harness.benchmarks import cache_integrity

    keys, values = _convert(dataset)

    def write(tmp: Path) -> None:
        np.save(tmp / "keys.npy", keys)
        np.save(tmp / "values.npy", values)
        (tmp / "columns.json").write_text(json.dumps([c for _, c in FIELDS]))

    return cache_integrity.build(
        _cache_dir(dataset), write, kind=_KIND, sources=_sources(dataset), keep_valid=True
    )


@dataclass
class Table:
    """One dataset: sorted keys and the memory-mapped value matrix [field, key]."""

    keys: np.ndarray
    values: np.ndarray

    @functools.cached_property
    def row_of(self) -> dict[int, int]:
        """Key -> row, for one-at-a-time lookups."""
        return {k: i for i, k in enumerate(self.keys.tolist())}

    @functools.cached_property
    def key_tuple(self) -> tuple[int, ...]:
        return tuple(self.keys.tolist())

    def rows(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Row of every key (-1 where absent)."""
        if keys is self.key_tuple:  # every key, in order (e.g. ``Benchmark.column``)
            return np.arange(self.keys.size)
        try:
            k = np.asarray(keys, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError, OverflowError):
            k = np.array([_as_int(x) for x in keys], dtype=np.int64)
        pos = np.searchsorted(self.keys, k)
        pos = np.minimum(pos, self.keys.size - 1)
        return np.where(self.keys[pos] == k, pos, -1)


def _as_int(x: object) -> int:
    try:
        return int(x)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1


@functools.cache
def load(dataset: str) -> Table:
    """The process-wide table of one dataset (package file verified, cache checked and
    memory-mapped; a cache that fails its integrity check is rebuilt with a notice)."""
    from harness.benchmarks import cache_integrity

    verified_file(dataset)
    d = cache_integrity.open_verified(
        _cache_dir(dataset),
        kind=_KIND,
        sources=_sources(dataset),
        rebuild=lambda: _build(dataset),
    )
    keys = np.load(d / "keys.npy")
    values = np.load(d / "values.npy", mmap_mode="r")
    if values.shape != (len(FIELDS), keys.size):
        raise DataError(f"{d}: values {values.shape} do not match {keys.size} keys")
    keys.setflags(write=False)
    return Table(keys, values)


class NBGraphBenchmark(Benchmark):
    """NAS-Bench-Graph on its eight main datasets: 26,206 GNN cells each.

    ogbn-proteins was trained on its own 5-op space, so it is its own benchmark
    (:class:`NBGraphProteinsBenchmark`, ``nbgraph-proteins``): a benchmark is defined on one
    space, and a main-space cell with e.g. ``gat`` has no proteins record.
    """

    name = "nbgraph"
    aliases = ("nas-bench-graph",)
    description = (
        "NAS-Bench-Graph: 26,206 GNN cells x 8 graph datasets; validation / test accuracy "
        "(3-seed means), latency, parameters"
    )
    datasets = MAIN_DATASETS
    space = "nbgraph"
    compatible_spaces: tuple[str, ...] = ("nbgraph-proteins",)  # its cells are main ones too
    fidelities = ()
    fidelity_meaning = (
        "none: the package ships only final results (the paper trains each dataset for its own "
        "fixed number of epochs; per-epoch records are in the full download only)"
    )
    continues_training = False
    seed_policy = "none"  # three-seed means only
    has_test = True

    def dataset(self, name: str) -> str:
        if name.lower() == "proteins" and "proteins" not in self.datasets:
            raise UnknownName(
                f"{self.name} has no dataset 'proteins': ogbn-proteins has its own ops and is "
                "the benchmark 'nbgraph-proteins' (space 'nbgraph-proteins'); "
                f"{self.name} datasets: {', '.join(self.datasets)}"
            )
        return super().dataset(name)

    @functools.cache  # noqa: B019 - benchmarks are process-wide singletons
    def metrics(self, dataset: str) -> list[Metric]:
        ds = self.dataset(dataset)
        perf, unit, what = (
            ("rocauc", "% (ROC-AUC x 100)", "ROC-AUC")
            if ds == "proteins"
            else ("acc", "%", "accuracy")
        )
        seeds = "mean over the paper's three training seeds"
        return [
            Metric(f"val_{perf}", "signal", "max", unit, None, f"validation {what}, {seeds}"),
            Metric(f"test_{perf}", "report", "max", unit, None, f"TEST {what}, {seeds}"),
            Metric("latency_s", "info", "min", "s", None, "inference latency as recorded"),
            Metric("params_m", "info", "min", "M", None, "parameters, millions"),
        ]

    def _field(self, dataset: str, metric: str) -> int:
        m = self.metric(dataset, metric)
        return [m2.name for m2 in self.metrics(self.dataset(dataset))].index(m.name)

    def key_of(self, cell: Hashable) -> Hashable:
        return _main_space().key(cell)  # type: ignore[arg-type]

    def cell_of(self, key: Hashable) -> Hashable:
        return _main_space().arch_of_key(_as_int(key))

    def keys(self, dataset: str) -> Sequence[Hashable]:
        return load(self.dataset(dataset)).key_tuple

    def value(self, dataset: str, metric: str, key: Hashable) -> float:
        """One value (the scalar path: a dict lookup instead of array conversions)."""
        fi = self._fields.get((dataset, metric))
        if fi is None:
            ds = self.dataset(dataset)
            fi = self._fields[(dataset, metric)] = (ds, self._field(ds, metric))
        t = load(fi[0])
        row = t.row_of.get(key) if isinstance(key, int) else t.row_of.get(_as_int(key))
        if row is None:
            raise NotInBenchmark(self._missing(fi[0], key))
        return float(t.values[fi[1], row])

    @functools.cached_property
    def _fields(self) -> dict[tuple[str, str], tuple[str, int]]:
        return {}

    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        ds = self.dataset(dataset)
        i = self._field(ds, metric)
        t = load(ds)
        rows = t.rows(keys)
        if rows.size and rows.min() < 0:
            bad = list(keys)[int(np.flatnonzero(rows < 0)[0])]
            raise NotInBenchmark(self._missing(ds, bad))
        return np.asarray(t.values[i], dtype=np.float64)[rows]

    def column(self, dataset: str, metric: str) -> np.ndarray:
        ds = self.dataset(dataset)
        return np.asarray(load(ds).values[self._field(ds, metric)], dtype=np.float64)

    def _missing(self, dataset: str, key: object) -> str:
        msg = f"key {key!r} is not in nbgraph {dataset}"
        k = _as_int(key)
        if k >= 0:
            try:
                _, ops = decode_key(k)
            except Exception:
                return msg + " (not a NAS-Bench-Graph hash)"
            if dataset == "proteins" and any(OPS[o] not in OPS_PROTEINS for o in ops):
                return (
                    msg + f": proteins was trained only with ops {', '.join(OPS_PROTEINS)}; "
                    "search it with space 'nbgraph-proteins'"
                )
        return msg

    query_note = (
        "accuracy in %, mean of the paper's 3 seeds; test_* are TEST split "
        "(ogbn-proteins: benchmark nbgraph-proteins)"
    )

    def report_metric(self, dataset: str) -> str:
        return "test_rocauc" if self.dataset(dataset) == "proteins" else "test_acc"

    def report_label(self, dataset: str) -> str:
        what = "ROC-AUC" if self.dataset(dataset) == "proteins" else "accuracy"
        return f"test {what} (mean of 3 seeds, %)"

    def provenance(self) -> Provenance:
        return Provenance(
            source=f"PyPI {PACKAGE} 1.4.0 (THUMNLab/NAS-Bench-Graph), "
            "nas_bench_graph/light/*.bench",
            licence="Apache-2.0",
            citation=CITATION,
            files={f"nas_bench_graph/light/{d}.bench": SHA256[d] for d in self.datasets},
            notes="values are the package's 3-seed means; per-seed/per-epoch data not shipped",
        )


class NBGraphProteinsBenchmark(NBGraphBenchmark):
    """NAS-Bench-Graph on ogbn-proteins: 2,021 cells of the 5-op proteins space, ROC-AUC."""

    name = "nbgraph-proteins"
    aliases = ("nas-bench-graph-proteins",)
    description = (
        "NAS-Bench-Graph on ogbn-proteins: 2,021 GNN cells (ops gcn/sage/arma/fc/skip); "
        "validation / test ROC-AUC (3-seed means), latency, parameters"
    )
    datasets = ("proteins",)
    space = "nbgraph-proteins"
    compatible_spaces = ()
    query_note = "ROC-AUC x 100, mean of the paper's 3 seeds; test_rocauc is TEST split"


@functools.cache
def _main_space() -> NBGraphSpace:
    return NBGraphSpace("main")
