"""NAS-Bench-101 sample table: 30,001 real records keyed by the official module hash.

The shipped data has, per cell, the validation accuracy of ONE training repeat at 4, 12, 36 and
108 epochs (separate trainings with their own schedules, not one curve), the 108-epoch training
time and the parameter count. It has **no test accuracy**: every NB101 result of this harness is
a validation result and says so. Accuracies are converted to percent (the file has fractions) so
that NB101 and NB201 signals share a unit.

The converted cache (``values.npy`` + ``hashes.json``) carries the size and sha256 of both files
and of its source (:mod:`harness.benchmarks.cache_integrity`), checked once per process: an
edited or corrupted cache is rebuilt from the re-verified source, never read.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.benchmarks import cache_integrity, registry
from harness.errors import DataError, NotInBenchmark, unknown
from harness.paths import cache_dir

if TYPE_CHECKING:
    import pandas as pd

    from harness.spaces.nb101 import NB101Cell

FIDELITIES: tuple[int, ...] = (4, 12, 36, 108)
METRICS: tuple[str, ...] = (
    "val_acc@4",
    "val_acc@12",
    "val_acc@36",
    "val_acc@108",
    "train_time_s@108",
    "params",
)
_FILE = "nb101/nb101_subset30k_val_acc.csv"
_FORMAT = 2
_KIND = "nb101-30k-table"


def _cache_path() -> Path:
    return cache_dir() / f"nb101-30k-{registry.source_fingerprint('nb101-30k')}-v{_FORMAT}"


def build_cache(force: bool = False) -> Path:
    """Convert the shipped CSV into the cache (atomic; a no-op when it passes its check)."""
    d = _cache_path()
    if not force and cache_integrity.check(d, kind=_KIND) is None:
        return d
    return _build(d)


def _build(d: Path) -> Path:
    import pandas as pd

    data, sha = registry.read_verified("nb101-30k", _FILE)  # hashed in full, then parsed
    df = pd.read_csv(io.BytesIO(data), dtype={"nb101_hash": str})
    need = ["nb101_hash", "val_acc_4ep", "val_acc_12ep", "val_acc_36ep", "val_acc_108ep",
            "train_time_108ep_s", "params"]  # fmt: skip
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{_FILE}: missing columns {missing}")
    if df["nb101_hash"].duplicated().any():
        raise DataError(f"{_FILE}: duplicate hashes")
    vals = np.stack(
        [df[f"val_acc_{f}ep"].to_numpy(np.float64) * 100.0 for f in FIDELITIES]
        + [df["train_time_108ep_s"].to_numpy(np.float64), df["params"].to_numpy(np.float64)]
    )
    hashes = list(df["nb101_hash"])

    def write(tmp: Path) -> None:
        with open(tmp / "values.npy", "wb") as f:
            np.save(f, vals)
        (tmp / "hashes.json").write_text(json.dumps(hashes))

    return cache_integrity.build(
        d, write, kind=_KIND, sources={_FILE: sha}, dataset="nb101-30k", keep_valid=True
    )


class NB101Table:
    """The NB101-30k records: metrics by hash. Validation only (no test accuracy exists here)."""

    name = "nb101-30k"
    datasets = ("cifar10",)

    def __init__(self) -> None:
        sources = registry.verified_sources("nb101-30k")
        final = _cache_path()
        d = cache_integrity.open_verified(
            final, kind=_KIND, sources=sources, rebuild=lambda: _build(final)
        )
        self.hashes: tuple[str, ...] = tuple(json.loads((d / "hashes.json").read_text()))
        self._row = {h: i for i, h in enumerate(self.hashes)}
        self._values = np.load(d / "values.npy", mmap_mode="r", allow_pickle=False)
        if self._values.shape != (len(METRICS), len(self.hashes)):
            raise DataError(f"NB101 cache {d}: values.npy has shape {self._values.shape}")

    def __len__(self) -> int:
        return len(self.hashes)

    def __contains__(self, h: object) -> bool:
        return h in self._row

    def row_of(self, h: str) -> int:
        try:
            return self._row[h]
        except KeyError:
            raise NotInBenchmark(
                f"NB101 cell {h} is not among the 30,001 cells of the shipped NB101 sample; "
                "restrict the search space to the sample (the 'nb101-30k' pool) or use the "
                "official full file (`nash data convert`)"
            ) from None

    def column(self, metric: str) -> np.ndarray:
        try:
            return self._values[METRICS.index(metric)]
        except ValueError:
            raise unknown("NB101 metric", metric, METRICS) from None

    def value(self, metric: str, h: str) -> float:
        return float(self.column(metric)[self.row_of(h)])

    def row(self, h: str) -> dict[str, float]:
        i = self.row_of(h)
        return {m: float(self._values[k, i]) for k, m in enumerate(METRICS)}

    def optimum(self, metric: str) -> tuple[float, list[str]]:
        col = np.asarray(self.column(metric))
        best = float(np.nanmax(col))
        return best, [self.hashes[i] for i in np.flatnonzero(col == best)]


@functools.cache
def load() -> NB101Table:
    return NB101Table()


# ----------------------------------------------------------------------------------------------
# the NAS-Bench-Suite-Zero sample (500 rows, 292 distinct cells, published zero-cost proxies)

ZC500_DATASET = "nb101-zc500"
ZC500_FILE = "nb101/nb101_zc_proxies_500.csv"
#: the published proxy columns of the zc500 file. NASLib's NB101 file (at the pinned commit)
#: has no ``nwot`` (Hamming-kernel NASWOT) and no ``zen`` column; ``jacov`` is the Jacobian
#: covariance score of NASWOT's first version, a different score.
ZC500_PROXIES: tuple[str, ...] = (
    "flops",
    "params",
    "snip",
    "jacov",
    "grad_norm",
    "plain",
    "epe_nas",
    "fisher",
    "grasp",
    "l2_norm",
    "synflow",
)


def zc500_frame() -> pd.DataFrame:
    """The 500 rows of the shipped NAS-Bench-Suite-Zero NB101 sample, as read (checksum verified).

    Columns: ``nb101_hash`` (str), ``adjacency_7x7_rowmajor``, ``ops``, the proxies of
    :data:`ZC500_PROXIES` and ``val_acc_one_repeat`` (percent, one random 108-epoch repeat per
    row). Rows repeat cells (unpruned specs of the same cell, other repeats' values).
    """
    import pandas as pd

    path = registry.locate(ZC500_DATASET, ZC500_FILE)
    df = pd.read_csv(path, dtype={"nb101_hash": str, "adjacency_7x7_rowmajor": str, "ops": str})
    need = ["nb101_hash", "adjacency_7x7_rowmajor", "ops", *ZC500_PROXIES, "val_acc_one_repeat"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}")
    return df


def zc500_cells() -> dict[str, NB101Cell]:
    """The distinct cells of the zc500 sample: official hash -> cell, in file order (292).

    The first row of each hash gives the spec; every row's spec is checked against its hash
    (a mismatch is a corrupt file, :class:`DataError`).
    """
    from harness.spaces.nb101 import NB101Cell

    out: dict[str, NB101Cell] = {}
    for h, adj, ops in zc500_frame()[["nb101_hash", "adjacency_7x7_rowmajor", "ops"]].itertuples(
        index=False
    ):
        m = np.array(adj.split(), dtype=np.int64).reshape(7, 7)
        cell = NB101Cell.from_spec(m, ops.split(","))
        if cell.hash != h:
            raise DataError(f"{ZC500_FILE}: row spec hashes to {cell.hash}, the file says {h}")
        out.setdefault(h, cell)
    return out
