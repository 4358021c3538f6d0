"""NAS-Bench-201 tables: every shipped metric of the 15,625 cells, per dataset, by benchmark index.

The shipped CSVs are converted once into a float64 matrix ``[n_metrics, 15625]`` saved as ``.npy``
in the cache (memory-mapped on load, so a cold start reads a few MB) plus a JSON column list.
The cache directory is named after the sources' sha256, so a changed source rebuilds it. The
cache carries the size and sha256 of both files and of every source it was built from
(:mod:`harness.benchmarks.cache_integrity`), checked once per process: an edited or corrupted
cache is rebuilt from the re-verified sources, never read.

Every metric has a *role*, which is what keeps test accuracy out of searches:

- ``signal``: validation accuracy (x-valid split), a legitimate search signal;
- ``proxy``: a zero-cost score computed without labels, also a legitimate search signal;
- ``report``: test-split accuracy, for reporting only; asking to search on it is an error;
- ``info``: costs and sizes (params, latency, scoring time).

The NASLib column that other tools call "validation accuracy" is test-split accuracy (see the data
README); it keeps its true name ``naslib_acc_test_split_one_seed@200`` and the role ``report``.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.benchmarks import cache_integrity, registry
from harness.errors import DataError, NashError, unknown
from harness.paths import cache_dir
from harness.spaces import nb201 as space

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16_120")
ROLES = ("signal", "proxy", "report", "info")
_FORMAT = 3
_KIND = "nb201-tables"

# what each report metric is, for `nash query` and error messages
DESCRIPTIONS = {
    "val_acc@200": "x-valid accuracy after 200 epochs, mean over seeds (cifar10-valid training)",
    "test_acc@200": "test accuracy after 200 epochs, mean over seeds (cifar10: trained on all 50k,"
    " ori-test; cifar100 / ImageNet16-120: x-test)",
    "val_acc@12": "x-valid accuracy after 12 epochs (NB201 paper's search protocol)",
    "test_acc@12": "test accuracy after 12 epochs",
    "valid_split_test_acc@200": "ori-test accuracy of the cifar10-valid training (25k train)",
    "test_acc_v1_1@200": "cifar10 test accuracy from the NB201 v1_1 file",
    "naslib_acc_test_split_one_seed@200": "ONE seed's 200-epoch TEST-split accuracy, published by"
    " NASLib as 'validation accuracy'",
}


@dataclass(frozen=True, slots=True)
class Column:
    dataset: str
    metric: str
    role: str


def _convert(read: Callable[[str], bytes]) -> tuple[list[Column], np.ndarray]:
    """Read (``read(relpath)``: verified bytes) and cross-check the shipped CSVs.

    Returns the columns and the value matrix.
    """
    import pandas as pd

    n = space.N_CELLS
    cols: list[Column] = []
    vals: list[np.ndarray] = []

    def add(dataset: str, metric: str, role: str, index: object, values: object) -> None:
        arr = np.full(n, np.nan)
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise DataError(f"nb201 column {dataset}/{metric} has an index outside 0..{n - 1}")
        arr[idx] = np.asarray(values, dtype=np.float64)
        cols.append(Column(dataset, metric, role))
        vals.append(arr)

    def frame(relpath: str) -> pd.DataFrame:
        df = pd.read_csv(io.BytesIO(read(relpath)))
        if "nb201_index" not in df.columns:
            raise DataError(f"{relpath}: no nb201_index column")
        return df

    test = frame("nb201/nb201_test_acc_200ep.csv").sort_values("nb201_index")
    if list(test["nb201_index"]) != list(range(n)):
        raise DataError("nb201_test_acc_200ep.csv must list indices 0..15624 once each")
    codes = np.array([space.code_of(space.str_to_arch(s)) for s in test["arch_str"]])
    if not np.array_equal(codes, space.all_indices_codes()):
        raise DataError(
            "the arch strings in nb201_test_acc_200ep.csv disagree with the committed NB201 index "
            "order (harness/spaces/_data/nb201_order.npy)"
        )
    for ds in DATASETS:
        add(ds, "test_acc@200", "report", test["nb201_index"], test[f"{ds}_test"])

    c10 = frame("nb201/nb201_cifar10_valid_mean_params_naswot_v1.csv")
    add("cifar10", "val_acc@200", "signal", c10["nb201_index"], c10["cifar10_valid_val_mean"])
    add("cifar10", "valid_split_test_acc@200", "report", c10["nb201_index"],
        c10["cifar10_valid_test_mean"])  # fmt: skip
    add(
        "cifar10", "test_acc_v1_1@200", "report", c10["nb201_index"], c10["cifar10_test_mean_v1_1"]
    )
    add("cifar10", "params_mb", "info", c10["nb201_index"], c10["params_mb"])
    add("cifar10", "naswot_v1", "proxy", c10["nb201_index"], c10["naswot_v1_score"])

    ep12 = frame("nb201/nb201_acc_12ep.csv")
    for ds in DATASETS:
        add(ds, "val_acc@12", "signal", ep12["nb201_index"], ep12[f"{ds}_val"])
        add(ds, "test_acc@12", "report", ep12["nb201_index"], ep12[f"{ds}_test"])

    naslib = frame("nb201/nb201_naslib_acc_200ep_one_seed.csv")
    for ds in DATASETS:
        part = naslib[naslib["dataset"] == ds]
        add(ds, "naslib_acc_test_split_one_seed@200", "report", part["nb201_index"],
            part["naslib_acc_test_split_one_seed"])  # fmt: skip
        add(ds, "zc_zen", "proxy", part["nb201_index"], part["zen_score"])
        add(ds, "zc_zen_time_s", "info", part["nb201_index"], part["zen_time_s"])

    for ds in DATASETS:
        hw = frame(f"nb201/hw_nas_bench_{ds}.csv")
        for c in hw.columns:
            if c != "nb201_index":
                add(ds, f"hw_{c}", "info", hw["nb201_index"], hw[c])

    for ds in ("cifar10", "imagenet16_120"):
        zc = frame(f"nb201/zc_proxies_{ds}.csv")
        for c in zc.columns:
            if c not in ("nb201_index", "zen"):  # zen: same values as NASLib's zc_zen above
                add(ds, f"zc_{c}", "proxy" if c not in ("flops", "params") else "info",
                    zc["nb201_index"], zc[c])  # fmt: skip

    timed = frame("nb201/zc_proxies_with_time_725.csv")
    for ds in DATASETS:
        part = timed[timed["dataset"] == ds]
        for c in part.columns:
            if c.endswith("_time_s"):
                add(ds, f"zc_{c}", "info", part["nb201_index"], part[c])
            elif (
                ds == "cifar100"
                and c not in ("dataset", "nb201_index", "arch_str", "zen")
                and not (c.startswith("naslib"))
            ):
                add(ds, f"zc_{c}", "proxy" if c not in ("flops", "params") else "info",
                    part["nb201_index"], part[c])  # fmt: skip
    return cols, np.stack(vals)


def _cache_path() -> Path:
    return cache_dir() / f"nb201-{registry.source_fingerprint('nb201')}-v{_FORMAT}"


def build_cache(force: bool = False) -> Path:
    """Convert the shipped CSVs into the columnar cache (atomic; a no-op when it passes its check).

    Every source is read once and hashed in full (no memo) before it is converted.
    """
    d = _cache_path()
    if not force and cache_integrity.check(d, kind=_KIND) is None:
        return d
    return _build(d)


def _build(d: Path) -> Path:
    sources: dict[str, str] = {}

    def read(relpath: str) -> bytes:
        data, sha = registry.read_verified("nb201", relpath)
        sources[relpath] = sha
        return data

    cols, values = _convert(read)

    def write(tmp: Path) -> None:
        with open(tmp / "values.npy", "wb") as f:
            np.save(f, values)
        (tmp / "columns.json").write_text(
            json.dumps([[c.dataset, c.metric, c.role] for c in cols])
        )

    return cache_integrity.build(
        d, write, kind=_KIND, sources=sources, dataset="nb201", keep_valid=True
    )


class NB201Tables:
    """All NB201 metrics by (dataset, metric): read-only arrays indexed by benchmark index."""

    name = "nb201"
    datasets = DATASETS

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            # the sources (memoised checksums) and the cache built from them (its own record)
            sources = registry.verified_sources("nb201")
            d = _cache_path()
            path = cache_integrity.open_verified(
                d, kind=_KIND, sources=sources, rebuild=lambda: _build(d)
            )
        else:
            why = cache_integrity.check(path, kind=_KIND)
            if why is not None:
                raise DataError(f"NB201 cache {path} cannot be used: {why}; delete it to rebuild")
        cols = [Column(*c) for c in json.loads((path / "columns.json").read_text())]
        self._values = np.load(path / "values.npy", mmap_mode="r", allow_pickle=False)
        if self._values.shape != (len(cols), space.N_CELLS):
            raise DataError(f"NB201 cache {path}: values.npy has shape {self._values.shape}")
        self._index = {(c.dataset, c.metric): i for i, c in enumerate(cols)}
        self.columns = tuple(cols)

    def metrics(self, dataset: str, role: str | None = None) -> list[str]:
        self._check_dataset(dataset)
        return [
            c.metric
            for c in self.columns
            if c.dataset == dataset and (role is None or c.role == role)
        ]

    def role(self, dataset: str, metric: str) -> str:
        self._column(dataset, metric)
        return next(c.role for c in self.columns if (c.dataset, c.metric) == (dataset, metric))

    def _check_dataset(self, dataset: str) -> None:
        if dataset not in DATASETS:
            raise unknown("NB201 dataset", dataset, DATASETS)

    def _column(self, dataset: str, metric: str) -> int:
        self._check_dataset(dataset)
        try:
            return self._index[(dataset, metric)]
        except KeyError:
            raise unknown(f"NB201 metric for {dataset}", metric, self.metrics(dataset)) from None

    def column(self, dataset: str, metric: str) -> np.ndarray:
        """Values of one metric for all 15,625 indices (NaN where the source has none)."""
        return self._values[self._column(dataset, metric)]

    def value(self, dataset: str, metric: str, index: int) -> float:
        return float(self._values[self._column(dataset, metric), index])

    def row(self, index: int) -> dict[str, dict[str, float]]:
        """Every metric of one cell, by dataset (NaN metrics omitted)."""
        out: dict[str, dict[str, float]] = {ds: {} for ds in DATASETS}
        col = self._values[:, index]
        for c, v in zip(self.columns, col, strict=True):
            if np.isfinite(v):
                out[c.dataset][c.metric] = float(v)
        return out

    def optimum(self, dataset: str, metric: str) -> tuple[float, list[int]]:
        """Best value of a metric and every index that attains it."""
        col = np.asarray(self.column(dataset, metric))
        best = float(np.nanmax(col))
        return best, [int(i) for i in np.flatnonzero(col == best)]

    def check_search_signal(self, dataset: str, metric: str) -> str:
        """Refuse test-split and cost columns as search signals, with the reason and options."""
        role = self.role(dataset, metric)
        if role in ("signal", "proxy"):
            return role
        allowed = self.metrics(dataset, "signal") + self.metrics(dataset, "proxy")
        why = (
            "it is TEST-split accuracy (report only; searching on it leaks test data)"
            if role == "report"
            else "it is a cost/size column, not a fitness"
        )
        raise NashError(
            f"cannot search on nb201 {dataset} metric {metric!r}: {why}. "
            f"Search signals for {dataset}: {', '.join(allowed)}"
        )


@functools.cache
def load() -> NB201Tables:
    """The process-wide NB201 tables (memory-mapped, read-only)."""
    return NB201Tables()
