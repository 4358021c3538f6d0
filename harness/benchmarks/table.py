"""Bring your own table: a benchmark from a pandas frame, a CSV or a Parquet file.

The table is in long format, one row per (cell key, dataset, fidelity, seed), with one column
per metric; ``dataset``, ``fidelity`` and ``seed`` columns are optional (a single dataset, no
fidelities, one value per cell). Every metric column must be declared with its role, so a
test-split column can never become a search signal by accident. Per-seed rows become the
benchmark's real seeds (``query_seeds`` then draws them); lookups use the seed mean.

A metric ``val_acc`` with fidelities 12 and 200 becomes the metrics ``val_acc@12`` and
``val_acc@200`` (the harness's naming: a value belongs to a training length).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.benchmarks.base import Benchmark, Metric, Provenance
from harness.errors import ConfigError, DataError, NotInBenchmark

if TYPE_CHECKING:
    import pandas as pd

    from harness.spaces._base import SearchSpace


def _read(table: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return table.copy()
    p = Path(table)
    if not p.is_file():
        raise DataError(f"benchmark table {p} not found")
    if p.suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if p.suffix in (".csv", ".gz") or p.name.endswith(".csv.gz"):
        return pd.read_csv(p)
    raise DataError(f"benchmark table {p}: use a .csv, .csv.gz or .parquet file")


def _metric(name: str, decl: Metric | Mapping[str, Any]) -> Metric:
    if isinstance(decl, Metric):
        return decl
    if not isinstance(decl, Mapping) or "role" not in decl:
        raise ConfigError(
            f"metric {name!r} needs a declaration with a role, e.g. "
            f"{{'role': 'signal', 'direction': 'max', 'unit': '%'}}"
        )
    unknown = set(decl) - {"role", "direction", "unit", "description"}
    if unknown:
        raise ConfigError(f"metric {name!r}: unknown keys {sorted(unknown)}")
    return Metric(name, **decl)


def _whole_numbers(col: pd.Series, name: str, what: str) -> pd.Series:
    """A fidelity or seed column as int64, refusing what a cast would hide (NaN, 12.7 -> 12)."""
    import pandas as pd

    v = pd.to_numeric(col, errors="coerce")
    bad = ~np.isfinite(v.to_numpy(dtype=float)) | (v.to_numpy(dtype=float) % 1 != 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"benchmark {name}: {what} column {col.name!r} must hold whole numbers; row {row} "
            f"has {col.iloc[row]} ({int(bad.sum())} such rows): fix or drop those rows"
        )
    return v.astype(np.int64)


class TableBenchmark(Benchmark):
    """A benchmark read from a table (see the module docstring).

    Args:
        table: a DataFrame or the path of a CSV / Parquet file.
        name: the benchmark's name.
        space: the registered space the cells belong to.
        metrics: metric column -> declaration (``role`` required; ``direction``, ``unit``,
            ``description`` optional) or a :class:`Metric`.
        key: the column holding each cell's key: the space's ``canonical`` string by default,
            or whatever ``key_of`` returns.
        key_of: cell -> key (default: ``space.canonical``).
        dataset / fidelity / seed: optional column names.
        default_dataset: the dataset name when the table has no dataset column.
        provenance: where the numbers come from (cited in reports and run manifests).
    """

    def __init__(
        self,
        table: Any,
        *,
        name: str,
        space: str,
        metrics: Mapping[str, Metric | Mapping[str, Any]],
        key: str = "key",
        key_of: Any = None,
        dataset: str | None = "dataset",
        fidelity: str | None = "fidelity",
        seed: str | None = "seed",
        default_dataset: str = "default",
        description: str = "",
        compatible_spaces: Sequence[str] = (),
        provenance: Provenance | None = None,
        fidelity_meaning: str = "training epochs",
        continues_training: bool = False,
    ) -> None:
        import pandas as pd

        self.name = name
        self.space = space
        self.description = description or f"table benchmark {name}"
        self.compatible_spaces = tuple(compatible_spaces)
        self.fidelity_meaning = fidelity_meaning
        self.continues_training = continues_training
        self._key_of = key_of
        self._provenance = provenance
        df = _read(table)
        if key not in df.columns:
            raise DataError(f"benchmark {name}: the table has no key column {key!r}")
        decls = {c: _metric(c, d) for c, d in metrics.items()}
        missing = [c for c in decls if c not in df.columns]
        if missing:
            raise DataError(f"benchmark {name}: declared metrics not in the table: {missing}")
        structural = {key, dataset, fidelity, seed}
        undeclared = [c for c in df.columns if c not in structural and c not in decls]
        if undeclared:
            raise ConfigError(
                f"benchmark {name}: columns {undeclared} have no declared role; declare each "
                "as signal / proxy / report / info (or drop it)"
            )
        if not any(m.role == "signal" for m in decls.values()):
            raise ConfigError(
                f"benchmark {name} declares no signal metric: at least one validation column "
                "(role 'signal') is needed to search"
            )
        for c in decls:
            if not pd.api.types.is_numeric_dtype(df[c]):
                raise DataError(f"benchmark {name}: metric column {c!r} is not numeric")
        has_ds = dataset is not None and dataset in df.columns
        has_f = fidelity is not None and fidelity in df.columns
        has_seed = seed is not None and seed in df.columns
        df = df.assign(
            _ds=df[dataset].astype(str) if has_ds else default_dataset,
            _f=_whole_numbers(df[fidelity], name, "fidelity") if has_f else -1,
            _seed=_whole_numbers(df[seed], name, "seed") if has_seed else 0,
            _key=df[key].astype(str),
        )
        dup = df.duplicated(["_key", "_ds", "_f", "_seed"])
        if dup.any():
            row = df.loc[dup].iloc[0]
            raise DataError(
                f"benchmark {name}: duplicate rows for key {row['_key']!r}, dataset "
                f"{row['_ds']!r}, fidelity {row['_f']}, seed {row['_seed']} "
                f"({int(dup.sum())} duplicates); one row per (key, dataset, fidelity, seed)"
            )
        self.datasets = tuple(sorted(df["_ds"].unique()))
        fids = sorted(int(f) for f in df["_f"].unique() if f >= 0)
        self.fidelities = tuple(fids)
        self.seed_policy = "real" if df["_seed"].nunique() > 1 else "none"
        self.has_test = any(m.role == "report" for m in decls.values())
        self._keys: dict[str, list[str]] = {}
        self._row: dict[str, dict[str, int]] = {}
        self._vals: dict[tuple[str, str], np.ndarray] = {}
        self._seed_vals: dict[tuple[str, str], np.ndarray] = {}
        self._metrics: dict[str, list[Metric]] = {}
        self._seeds = sorted(int(s) for s in df["_seed"].unique())
        for ds, part in df.groupby("_ds", sort=True):
            keys: list[str] = sorted(str(k) for k in part["_key"].unique())
            self._keys[str(ds)] = keys
            key_row: dict[str, int] = {k: i for i, k in enumerate(keys)}
            self._row[str(ds)] = key_row
            ms: list[Metric] = []
            for (fval,), fpart in part.groupby(["_f"], sort=True):
                f = int(fval)  # type: ignore[call-overload]
                rows = fpart["_key"].map(key_row).to_numpy()
                for c, m in decls.items():
                    mname = c if f < 0 else f"{c}@{f}"
                    col = fpart[c].to_numpy(np.float64)
                    if np.isnan(col).all():
                        continue
                    mean = np.full(len(keys), np.nan)
                    per_seed = np.full((len(self._seeds), len(keys)), np.nan)
                    sidx = np.searchsorted(self._seeds, fpart["_seed"].to_numpy())
                    per_seed[sidx, rows] = col
                    with np.errstate(all="ignore"):
                        cnt = np.sum(np.isfinite(per_seed), axis=0)
                        mean = np.where(cnt > 0, np.nansum(per_seed, axis=0) / cnt, np.nan)
                    self._vals[(str(ds), mname)] = mean
                    self._seed_vals[(str(ds), mname)] = per_seed
                    ms.append(
                        Metric(
                            mname,
                            m.role,
                            m.direction,
                            m.unit,
                            None if f < 0 else f,
                            m.description,
                            len(self._seeds) if self.seed_policy == "real" else 0,
                        )
                    )
            self._metrics[str(ds)] = ms
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
        ).hexdigest()
        self.table_sha256 = digest

    @property
    def _space(self) -> SearchSpace[Any]:
        from harness.spaces import make_space

        sp = self.__dict__.get("_space_obj")
        if sp is None:
            sp = self.__dict__["_space_obj"] = make_space(self.space)
        return sp

    def metrics(self, dataset: str) -> list[Metric]:
        return list(self._metrics[self.dataset(dataset)])

    def key_of(self, cell: Hashable) -> Hashable:
        k = self._key_of(cell) if self._key_of is not None else self._space.canonical(cell)
        return str(k)

    def cell_of(self, key: Hashable) -> Hashable:
        """The cell of a key: the space parses it (keys written by ``to_str`` parse back)."""
        from harness.errors import NashError

        try:
            return self._space.from_str(str(key))
        except NashError as e:
            raise NashError(
                f"benchmark {self.name}: key {key!r} is not a string the space {self.space} "
                f"parses ({e}); key the table by the space's to_str (with key_of=space.to_str) "
                "to map keys back to cells (nash predictors needs it)"
            ) from None

    def keys(self, dataset: str) -> Sequence[Hashable]:
        return self._keys[self.dataset(dataset)]

    def _rows(self, dataset: str, keys: Sequence[Hashable]) -> np.ndarray:
        row = self._row[dataset]
        rows = np.fromiter((row.get(str(k), -1) for k in keys), dtype=np.int64, count=len(keys))
        if rows.size and rows.min() < 0:
            bad = keys[int(np.flatnonzero(rows < 0)[0])]
            raise NotInBenchmark(f"cell {bad!r} is not in benchmark {self.name} ({dataset})")
        return rows

    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        ds = self.dataset(dataset)
        self.metric(ds, metric)
        return self._vals[(ds, metric)][self._rows(ds, keys)]

    def seed_values(
        self, dataset: str, metric: str, keys: Sequence[Hashable], seed: int
    ) -> np.ndarray:
        """The ``seed``-th recorded seed's values (``seed`` counts 0, 1, ... over the seeds)."""
        ds = self.dataset(dataset)
        self.metric(ds, metric)
        per = self._seed_vals[(ds, metric)]
        return per[int(seed) % per.shape[0], self._rows(ds, keys)]

    def provenance(self) -> Provenance:
        p = self._provenance or Provenance(source="user table", licence="", citation="")
        files = dict(p.files) or {"<table>": self.table_sha256}
        return Provenance(p.source, p.licence, p.citation, files, p.notes)
