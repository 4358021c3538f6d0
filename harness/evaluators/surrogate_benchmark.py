"""NB101 beyond the 30k sample: a SURROGATE benchmark for the full 423,624-cell space.

Why: the shipped NB101 data holds 30,001 real records (7 % of the space). A strategy that mutates
freely leaves that pool at almost every step, and restricting it to the pool changes the problem.
NAS-Bench-301 answered the same gap for DARTS with a surrogate trained on real trainings; this
evaluator does that for NB101: every valid cell gets a signal, and every result says whether it
is real (``extras["surrogate"] == 0``: the cell is among the 30k records, whose real value is
returned) or predicted (``extras["surrogate"] == 1``).

The model (fitted once, cached, deterministic):

- XGBoost regressor on the 108-epoch validation accuracy of the 30k records, one thread, fixed
  seed; 1,000 trees of depth 10, learning rate 0.03 (a small exploration on NB101-30k: the
  harness's NAS-EA-FA default of 100 trees of depth 6 ranks at tau 0.78 on the held-out 10 %,
  these settings at 0.83);
- trained on 90 % of the records (a seeded split); the other 10 % are never seen by the fitted
  model or by the encoding choice, and its Kendall tau / Spearman / MAE on them are the numbers
  reported in :meth:`SurrogateBenchmarkEvaluator.describe` and in the JSON beside the model;
- encoding ``"auto"``: ``adjacency`` (NAS-EA-FA's 36 bits), ``path`` (364 BANANAS path bits) and
  their concatenation ``adjacency+path`` are compared on an inner validation split of the 90 %
  (10 % of it), and the one with the best Kendall tau there is refitted on the whole 90 %.
  Measured (seed 0): adjacency 0.82, path 0.73, adjacency+path 0.83 -- see bench/RESULTS.md;
- the cost of an evaluation is ``Cost(n_full=1, train_s=...)``: the recorded 108-epoch training
  time for cells in the 30k set, and otherwise the prediction of a second XGBoost model fitted
  the same way on the recorded training times (held-out Spearman ~0.998, median relative error
  ~1 %: training time is nearly a function of the architecture). So budgets in training
  seconds work, and the evaluator says the times of new cells are predicted.

There is no NB101 test accuracy: the report metric is the same value, labelled
"surrogate-predicted 108-epoch VALIDATION accuracy", carried by both ``val`` and
``EvalResult.reported``, as for the tabular NB101 evaluator.

Caching: ``cache_dir() / "nb101-surrogate-<key>.{acc,time}.json"`` in XGBoost's own JSON model
format (never pickle: a pickle runs code when loaded and breaks across library versions) and
``...meta.json`` with the held-out figures, written atomically, meta last; ``<key>`` hashes the
data's fingerprint, the seed, the encoding setting, the hyperparameters and the xgboost version,
so a change to any of them builds a new model. Building takes about a minute on 2 cores.

Per-call prediction: XGBoost's per-call overhead (~0.5 ms for one row) dominates single-cell
queries, so results are memoised by official hash in a small LRU cache, and
:meth:`SurrogateBenchmarkEvaluator.evaluate_many` predicts a batch in one call.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import ConfigError, InvalidArchitecture, NashError, unknown
from harness.evaluators._base import Evaluator
from harness.records import Cost, EvalResult
from harness.spaces._base import SearchSpace
from harness.spaces.nb101 import NB101Cell, NB101Space

FORMAT_VERSION = 1
BENCHMARK_NAME = "nb101-surrogate"
ENCODINGS: tuple[str, ...] = ("adjacency", "path", "adjacency+path")
#: fraction of the 30k records never seen by the model (its reported held-out quality)
HOLDOUT_FRACTION = 0.1
#: fraction of the training part used to choose the encoding when ``encoding="auto"``
SELECTION_FRACTION = 0.1
DEFAULT_ACC_PARAMS: dict[str, Any] = {"n_estimators": 1000, "max_depth": 10, "eta": 0.03}
DEFAULT_TIME_PARAMS: dict[str, Any] = {"n_estimators": 300, "max_depth": 8, "eta": 0.1}
REPORT_LABEL = (
    "surrogate-predicted 108-epoch VALIDATION accuracy (NB101 has no test accuracy here; "
    "real value for cells in the 30k sample)"
)


def encode_cells(cells: Sequence[NB101Cell], encoding: str, space: NB101Space) -> np.ndarray:
    """Stack the ``encoding`` of ``cells`` (``adjacency+path`` concatenates the two)."""
    if encoding not in ENCODINGS:
        raise unknown("NB101 surrogate encoding", encoding, ENCODINGS)
    parts = encoding.split("+")
    if not cells:
        width = {"adjacency": 36, "path": 364}
        return np.zeros((0, sum(width[p] for p in parts)), dtype=np.float32)
    blocks = [space.encode_many(list(cells), p) for p in parts]
    return np.hstack(blocks).astype(np.float32, copy=False)


@dataclass(frozen=True)
class _TrainingData:
    hashes: list[str]
    specs: Any  # harness.spaces.nb101_enum.NB101Table: canonical-form specs, hash order
    acc: np.ndarray
    train_s: np.ndarray
    fingerprint: str


@functools.lru_cache(maxsize=1)
def _training_data() -> _TrainingData:
    """The 30k records joined with their (canonical-form) specs, in hash order (memoised)."""
    from harness.benchmarks import nb101, registry
    from harness.spaces.nb101_enum import load_nb101_30k_specs

    specs = load_nb101_30k_specs()
    rec = nb101.load()
    hashes = [h.decode() for h in specs.hash]
    rows = np.array([rec.row_of(h) for h in hashes], dtype=np.int64)
    acc = np.asarray(rec.column("val_acc@108"), dtype=np.float64)[rows]
    tt = np.asarray(rec.column("train_time_s@108"), dtype=np.float64)[rows]
    return _TrainingData(hashes, specs, acc, tt, registry.source_fingerprint("nb101-30k"))


def adjacency_from_table(specs: Any) -> np.ndarray:
    """The ``adjacency`` encoding of every row of an enumeration table, vectorised.

    Why: the table already stores each class's canonical representative padded to 7 vertices
    (edge bits in ``bit_index`` order, op codes, 255 where padded) -- exactly what
    ``NB101Space.encode(cell, "adjacency")`` computes per cell in Python (~0.3 ms each, 10-20 s
    for the 30k cells). Equality with the per-cell encoding is tested.
    """
    from harness.spaces.nb101 import INTERIOR_OPS, MAX_VERTICES, N_EDGE_BITS, N_OP_SPOTS, bit_index

    rows, cols = np.triu_indices(MAX_VERTICES, k=1)
    shifts = np.array([bit_index(int(r), int(c)) for r, c in zip(rows, cols, strict=True)])
    bits = np.asarray(specs.adj_bits, dtype=np.int64)
    out = np.zeros((len(bits), N_EDGE_BITS + len(INTERIOR_OPS) * N_OP_SPOTS), dtype=np.float32)
    out[:, :N_EDGE_BITS] = (bits[:, None] >> shifts[None, :]) & 1
    ops = np.asarray(specs.ops, dtype=np.int64)
    for i in range(N_OP_SPOTS):
        real = ops[:, i] < len(INTERIOR_OPS)
        out[np.flatnonzero(real), N_EDGE_BITS + 3 * i + ops[real, i]] = 1.0
    return out


@functools.lru_cache(maxsize=2)
def _encoded_training(encoding: str) -> np.ndarray:
    """One space encoding of all 30k training cells (memoised, read-only)."""
    specs = _training_data().specs
    if encoding == "adjacency":
        arr = adjacency_from_table(specs)
    else:
        cells = [specs.cell_at(i) for i in range(len(specs))]
        arr = encode_cells(cells, encoding, NB101Space())
    arr.flags.writeable = False
    return arr


def _fit_booster(X: np.ndarray, y: np.ndarray, params: dict[str, Any], seed: int) -> Any:
    """Fit through the harness's XGBSurrogate (one thread: a pure function of data and seed)."""
    from harness.surrogates import XGBSurrogate

    ok = np.isfinite(y)
    model = XGBSurrogate(seed=seed, **params)
    model.fit(X[ok], y[ok])
    booster = model.model_.get_booster()
    booster.set_param({"nthread": 1})
    return booster


def _predict(booster: Any, X: np.ndarray) -> np.ndarray:
    if len(X) == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(booster.inplace_predict(X), dtype=np.float64).reshape(-1)


def _quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from scipy.stats import kendalltau, spearmanr

    ok = np.isfinite(y)
    return {
        "kendall_tau": float(kendalltau(y[ok], p[ok]).statistic),
        "spearman": float(spearmanr(y[ok], p[ok]).statistic),
        "mae": float(np.mean(np.abs(y[ok] - p[ok]))),
        "n": int(ok.sum()),
    }


def _cache_key(seed: int, encoding: str, acc: dict[str, Any], tim: dict[str, Any]) -> str:
    import xgboost

    from harness.benchmarks import registry

    blob = json.dumps(
        {
            "format": FORMAT_VERSION,
            "data": registry.source_fingerprint("nb101-30k"),
            "seed": seed,
            "encoding": encoding,
            "acc": acc,
            "time": tim,
            "holdout": HOLDOUT_FRACTION,
            "selection": SELECTION_FRACTION,
            "xgboost": ".".join(xgboost.__version__.split(".")[:2]),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _write_bytes(path: Path, data: bytes) -> None:
    from harness.paths import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _load_booster(path: Path) -> Any:
    """The cached model at ``path``, loaded once per process (about 1 s each otherwise).

    Keyed by path, size and modification time, so a rebuilt file is loaded again. The booster
    is only ever used to predict, so evaluators in one process share it.
    """
    st = path.stat()
    return _load_booster_once(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_booster_once(path: str, _size: int, _mtime_ns: int) -> Any:
    import xgboost

    # One thread while loading, too: XGBoost's default (all cores) starts an OpenMP team in
    # this process, and a process forked from it (the local process pool) then deadlocks in
    # its first multi-threaded OpenMP region (e.g. fitting NAS-EA-FA's XGBoost surrogate).
    with xgboost.config_context(nthread=1):
        b = xgboost.Booster(params={"nthread": 1})
        b.load_model(path)  # the .json suffix selects XGBoost's JSON model format
    b.set_param({"nthread": 1})
    return b


def build_models(
    *,
    seed: int = 0,
    encoding: str = "auto",
    acc_params: dict[str, Any] | None = None,
    time_params: dict[str, Any] | None = None,
    rebuild: bool = False,
) -> tuple[Any, Any, dict[str, Any], Path]:
    """(accuracy booster, training-time booster, metadata, metadata path), cached.

    The split, the encoding choice and both fits depend only on ``seed`` and the settings.
    """
    if encoding != "auto" and encoding not in ENCODINGS:
        raise unknown("NB101 surrogate encoding", encoding, ("auto", *ENCODINGS))
    from harness.paths import atomic_path, cache_dir

    acc_p = {**DEFAULT_ACC_PARAMS, **(acc_params or {})}
    tim_p = {**DEFAULT_TIME_PARAMS, **(time_params or {})}
    stem = cache_dir() / f"nb101-surrogate-{_cache_key(seed, encoding, acc_p, tim_p)}"
    acc_path = stem.with_name(stem.name + ".acc.json")
    time_path = stem.with_name(stem.name + ".time.json")
    meta_path = stem.with_name(stem.name + ".meta.json")
    if not rebuild and meta_path.is_file():
        import xgboost

        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") == FORMAT_VERSION:
                return _load_booster(acc_path), _load_booster(time_path), meta, meta_path
        except (OSError, ValueError, KeyError, xgboost.core.XGBoostError) as e:
            import warnings  # a damaged cache is rebuilt, not fatal

            warnings.warn(f"rebuilding the NB101 surrogate: cached model unreadable ({e})",
                          stacklevel=2)  # fmt: skip

    data = _training_data()
    n = len(data.hashes)
    perm = np.random.default_rng([seed, 101]).permutation(n)
    n_hold = round(HOLDOUT_FRACTION * n)
    hold, train = np.sort(perm[:n_hold]), perm[n_hold:]

    def X(enc: str) -> np.ndarray:
        return np.hstack([_encoded_training(part) for part in enc.split("+")])

    selection: dict[str, float] = {}
    if encoding == "auto":
        n_sel = round(SELECTION_FRACTION * len(train))
        sel, inner = train[:n_sel], train[n_sel:]
        for enc in ENCODINGS:
            b = _fit_booster(X(enc)[inner], data.acc[inner], acc_p, seed)
            selection[enc] = _quality(data.acc[sel], _predict(b, X(enc)[sel]))["kendall_tau"]
        chosen = max(ENCODINGS, key=lambda e: selection[e])  # ties: the first (simplest)
    else:
        chosen = encoding
    Xc = X(chosen)
    acc_b = _fit_booster(Xc[train], data.acc[train], acc_p, seed)
    time_b = _fit_booster(Xc[train], data.train_s[train], tim_p, seed)
    acc_q = _quality(data.acc[hold], _predict(acc_b, Xc[hold]))
    tq = _quality(data.train_s[hold], _predict(time_b, Xc[hold]))
    rel = np.abs(_predict(time_b, Xc[hold]) - data.train_s[hold]) / data.train_s[hold]
    tq["median_relative_error"] = float(np.nanmedian(rel))
    import xgboost

    meta = {
        "format": FORMAT_VERSION,
        "benchmark": BENCHMARK_NAME,
        "target": "val_acc@108 (percent, one training repeat of the NB101-30k records)",
        "model": "xgboost.XGBRegressor via harness XGBSurrogate, 1 thread",
        "xgboost_version": xgboost.__version__,
        "data_fingerprint": data.fingerprint,
        "seed": seed,
        "encoding_setting": encoding,
        "encoding": chosen,
        "encoding_selection_kendall_tau": selection,
        "acc_params": acc_p,
        "time_params": tim_p,
        "n_records": n,
        "n_train": len(train),
        "n_holdout": len(hold),
        "holdout": acc_q,
        "train_time_holdout": tq,
    }
    acc_path.parent.mkdir(parents=True, exist_ok=True)
    _write_bytes(acc_path, bytes(acc_b.save_raw(raw_format="json")))
    _write_bytes(time_path, bytes(time_b.save_raw(raw_format="json")))
    with atomic_path(meta_path) as tmp:  # last: its presence means the model files are whole
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
    return acc_b, time_b, meta, meta_path


class SurrogateBenchmarkEvaluator(Evaluator):
    """Any valid NB101 cell -> surrogate-predicted 108-epoch validation accuracy (see module).

    Args:
        space: the space whose architectures are passed in (``to_cell`` must give NB101 cells);
            default :class:`NB101Space`.
        seed: seed of the held-out split, the encoding choice and the XGBoost fits. The
            evaluation's own ``seed`` argument does not change the result (the model is
            deterministic and the records are single repeats).
        encoding: ``"auto"`` (default) or one of :data:`ENCODINGS`.
        cache_size: entries of the per-hash LRU cache.
        acc_params / time_params: XGBSurrogate hyperparameters overriding the defaults.
        rebuild: refit even when a cached model exists.
    """

    records_train_time = True
    default_fidelity = 108
    fidelities = (108,)
    is_proxy = False
    report_metric = "val_acc@108"
    report_label = REPORT_LABEL

    def __init__(
        self,
        space: SearchSpace[Any] | None = None,
        *,
        seed: int = 0,
        encoding: str = "auto",
        cache_size: int = 65536,
        acc_params: dict[str, Any] | None = None,
        time_params: dict[str, Any] | None = None,
        rebuild: bool = False,
    ) -> None:
        from harness.benchmarks import nb101

        if cache_size < 0:
            raise ConfigError(f"cache_size must be >= 0, got {cache_size}")
        self._cell_space = NB101Space()
        self.space = space if space is not None else self._cell_space
        self.seed = int(seed)
        self._table = nb101.load()
        self._acc, self._time, self.info, self.model_path = build_models(
            seed=self.seed,
            encoding=encoding,
            acc_params=acc_params,
            time_params=time_params,
            rebuild=rebuild,
        )
        self.encoding: str = self.info["encoding"]
        self.cache_size = int(cache_size)
        self._lru: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    # -- inputs ----------------------------------------------------------------------------
    def _cell(self, arch: Hashable) -> NB101Cell:
        """The NB101 cell of ``arch``; InvalidArchitecture naming the problem otherwise."""
        cell: Any = self.space.to_cell(arch)
        if isinstance(cell, NB101Cell):
            return cell
        if isinstance(cell, str):
            return self._cell_space.from_str(cell)
        if isinstance(cell, tuple) and len(cell) == 2:
            return NB101Cell.from_spec(cell[0], cell[1])
        raise InvalidArchitecture(
            f"the NB101 surrogate benchmark needs an NB101 cell (NB101Cell, (matrix, ops) or "
            f"'adj=...|ops=...'), got {type(cell).__name__}: {cell!r}"
        )

    # -- prediction ------------------------------------------------------------------------
    def predict_cells(self, cells: Sequence[NB101Cell]) -> tuple[np.ndarray, np.ndarray]:
        """The model's (accuracy, training seconds) for ``cells``, even those in the 30k set
        (for diagnostics: :meth:`evaluate` returns real values for those)."""
        X = encode_cells(list(cells), self.encoding, self._cell_space)
        return _predict(self._acc, X), _predict(self._time, X)

    def _values(
        self, hashes: list[str], cells: list[NB101Cell]
    ) -> list[tuple[float, float, float]]:
        """(accuracy, training seconds, surrogate flag) per cell: LRU, then table, then model."""
        out: list[tuple[float, float, float] | None] = [None] * len(hashes)
        todo: list[int] = []
        for i, h in enumerate(hashes):
            hit = self._lru.get(h)
            if hit is not None:
                self._lru.move_to_end(h)
                out[i] = hit
            elif h in self._table:
                row = self._table.row(h)
                out[i] = (row["val_acc@108"], row["train_time_s@108"], 0.0)
            else:
                todo.append(i)
        if todo:
            acc, tsec = self.predict_cells([cells[i] for i in todo])
            for j, i in enumerate(todo):
                out[i] = (float(acc[j]), float(tsec[j]), 1.0)
        res: list[tuple[float, float, float]] = []
        for h, v in zip(hashes, out, strict=True):
            assert v is not None
            if self.cache_size:
                self._lru[h] = v
                self._lru.move_to_end(h)
                if len(self._lru) > self.cache_size:
                    self._lru.popitem(last=False)
            res.append(v)
        return res

    def _check_fidelity(self, fidelity: int | None) -> int:
        f = 108 if fidelity is None else fidelity
        if f != 108:
            raise NashError(
                f"{BENCHMARK_NAME} has only fidelity 108 (its surrogate is trained on the "
                f"108-epoch validation accuracy), got {f}; use the nb101-30k tabular "
                "benchmark for 4/12/36 epochs"
            )
        return f

    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        return self.evaluate_many([arch], fidelity=fidelity, seed=seed)[0]

    def evaluate_many(
        self, archs: Sequence[Hashable], *, fidelity: int | None = None, seed: int = 0
    ) -> list[EvalResult]:
        """Evaluate a batch with one model call (much cheaper than one call per cell)."""
        f = self._check_fidelity(fidelity)
        cells = [self._cell(a) for a in archs]
        hashes = [self._cell_space.canonical(c) for c in cells]
        out = []
        for acc, tsec, sur in self._values(hashes, cells):
            out.append(
                EvalResult(
                    signal=acc,
                    cost=Cost(n_full=1, train_s=tsec),
                    fidelity=f,
                    val=acc,
                    reported=acc,
                    extras={"surrogate": sur},
                )
            )
        return out

    def describe(self) -> dict[str, Any]:
        hold = self.info["holdout"]
        return {
            "class": type(self).__name__,
            "benchmark": BENCHMARK_NAME,
            "dataset": "cifar10",
            "surrogate_based": True,
            "label": (
                "SURROGATE-BASED NB101: signals of cells outside the 30,001 real records are "
                f"XGBoost predictions (held-out Kendall tau {hold['kendall_tau']:.3f}, "
                f"Spearman {hold['spearman']:.3f} on {hold['n']} records); cells in the "
                "sample return their real record (extras['surrogate'] = 0)"
            ),
            "signal": "val_acc",
            "default_fidelity": 108,
            "report_metric": self.report_metric,
            "report_label": self.report_label,
            "noise_model": "none (deterministic surrogate; records are one training repeat)",
            "train_s": "recorded for the 30k cells, predicted by a second XGBoost model otherwise",
            "encoding": self.encoding,
            "holdout_kendall_tau": hold["kendall_tau"],
            "holdout_spearman": hold["spearman"],
            "holdout_mae": hold["mae"],
            "train_time_holdout_spearman": self.info["train_time_holdout"]["spearman"],
            "model_seed": self.seed,
            "model": str(self.model_path),
            "space": self.space.name,
        }


def make_nb101_surrogate_evaluator(
    space: SearchSpace[Any] | None = None, seed: int = 0
) -> SurrogateBenchmarkEvaluator:
    """The ``"nb101-surrogate"`` benchmark's evaluator (for the experiment builder)."""
    return SurrogateBenchmarkEvaluator(space, seed=seed)
