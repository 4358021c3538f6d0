"""Predictor evaluation (``nash predictors``): how well does each surrogate rank cells?

Why this exists: NAS-EA-FA and the Neural Predictor only use a surrogate to *rank* candidates,
so the figures of merit are rank statistics on cells the surrogate never saw -- Kendall's tau,
Spearman's rho and precision@top-k -- as a function of the number of training cells n, together
with what the model costs to fit and to query. MAE is reported too (a regressor that ranks well
but is off by points misleads anyone who reads its predictions as accuracies).

Protocol (fixed so that every number in the table is comparable):

- the candidates are every cell of the benchmark with a finite search signal: NB201's 15,625
  cells (isomorphic cells included, as NASLib and the Neural Predictor paper do) with
  ``val_acc@200`` (cifar10, seed mean; other datasets use ``val_acc@12``), or NB101's 30,001
  real records with ``val_acc@108`` (one training repeat);
- the held-out set is ONE fixed random sample of ``test_size`` cells (default 3,000; drawn with
  ``split_seed``), the same for every surrogate, n and seed, so the rows of the table differ only
  in the model and its training data; ``test_size=0`` holds out the whole rest instead;
- training cells for seed s are the first n of a permutation of the remaining pool drawn with
  ``numpy.random.default_rng([split_seed, s])``: nested sets, so the curve over n is not
  disturbed by a new draw at each n; the surrogate is created with ``seed=s``;
- precision@top-k with k = 1 % and 5 % of the held-out set: the fraction of the truly best k
  cells that are among the k cells predicted best (ties broken by held-out order, which is
  random);
- fit / predict seconds are wall time of ``fit`` on the n cells and ``predict`` on the held-out
  set, encodings precomputed (and heavy imports warmed up first, so the first model does not pay
  for importing torch-geometric). One thread per model (the surrogates' default).

The GCN costs ~100x the trees to fit, so by default graph surrogates run at most
``graph_seeds`` (1) seed per size; the table says how many seeds each row has.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import ConfigError, NashError, unknown

DEFAULT_SIZES: tuple[int, ...] = (50, 100, 200, 500, 1000)
DEFAULT_SURROGATES: tuple[str, ...] = ("xgb", "gcn", "mlp", "random_forest")
DEFAULT_TEST_SIZE = 3000
#: default seeds per size for graph surrogates (the GCN fits ~100x slower than the trees)
DEFAULT_GRAPH_SEEDS = 1
TOP_FRACTIONS: tuple[float, ...] = (0.01, 0.05)
#: surrogates whose output is not on the target's scale (MAE is meaningless for them)
_NOT_REGRESSORS = ("gcn_classifier",)


# -- metrics -------------------------------------------------------------------------------------
def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values; ties go to the earlier index (stable sort)."""
    order = np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")
    return order[:k]


def precision_at_k(
    y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray, k: int
) -> float:
    """Fraction of the true top-``k`` cells that are among the predicted top-``k``.

    Why this and not tau alone: a search only ever trains the cells ranked first, so errors
    among the worst 90 % of the space do not matter to it, while tau weighs every pair equally.
    """
    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    if yt.shape != yp.shape or yt.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length: {yt.shape} {yp.shape}")
    if not 1 <= k <= len(yt):
        raise ValueError(f"k must be in 1..{len(yt)}, got {k}")
    hits = np.intersect1d(top_k(yt, k), top_k(yp, k), assume_unique=True)
    return len(hits) / k


def k_of(fraction: float, n: int) -> int:
    """k for a top fraction of ``n`` held-out cells (at least 1)."""
    return max(1, round(fraction * n))


def rank_metrics(
    y_true: Sequence[float] | np.ndarray,
    y_pred: Sequence[float] | np.ndarray,
    fractions: Sequence[float] | np.ndarray = TOP_FRACTIONS,
    *,
    with_mae: bool = True,
) -> dict[str, float]:
    """Kendall tau-b and Spearman (scipy), MAE and precision@top-k for each fraction.

    A constant prediction has no ranking: tau and rho are NaN then (scipy's convention), and
    precision@k is whatever the tie-breaking gives (the held-out order).
    """
    import warnings

    from scipy.stats import kendalltau, spearmanr

    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    with warnings.catch_warnings():  # constant input: NaN is the answer, not a warning
        warnings.simplefilter("ignore")
        tau = float(kendalltau(yt, yp).statistic)
        rho = float(spearmanr(yt, yp).statistic)
    out = {
        "kendall_tau": tau,
        "spearman": rho,
        "mae": float(np.mean(np.abs(yt - yp))) if with_mae else math.nan,
    }
    for f in fractions:
        out[f"precision@{_pct(f)}"] = precision_at_k(yt, yp, k_of(f, len(yt)))
    return out


def _pct(f: float) -> str:
    return f"{f * 100:g}%"


# -- the benchmark as a regression task -----------------------------------------------------------
@dataclass
class PredictorTask:
    """Candidate cells of one benchmark, their search signal and their encodings.

    ``y[i]`` is the signal of candidate ``i``; :meth:`encode` returns surrogate inputs for a set
    of candidates (memoised per candidate and kind: seeds reuse the same cells).
    """

    benchmark: str
    dataset: str
    signal: str
    y: np.ndarray
    encodings: tuple[str, ...]
    default_vector_encoding: str
    _encode_one: Callable[[int, str], Any]
    unit: str = "validation accuracy [%]"
    _memo: dict[tuple[int, str], Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.y)

    def encode(self, ids: Sequence[int] | np.ndarray, kind: str) -> Any:
        if kind not in self.encodings:
            raise unknown(f"{self.benchmark} encoding", kind, self.encodings)
        rows = []
        for i in np.asarray(ids, dtype=np.int64):
            key = (int(i), kind)
            v = self._memo.get(key)
            if v is None:
                v = self._memo[key] = self._encode_one(int(i), kind)
            rows.append(v)
        if kind == "graph":
            return rows
        return np.asarray(rows, dtype=np.float32)


def load_task(benchmark: str = "nb201", dataset: str = "cifar10") -> PredictorTask:
    """The benchmark's search signal over all its candidate cells (see the module docstring).

    Any registered benchmark works: its highest-fidelity validation signal over every key with a
    value, encoded by the benchmark's own space (whose first encoding is the vector default).
    """
    from harness.benchmarks import get_benchmark
    from harness.spaces import make_space

    bench = get_benchmark(benchmark)
    ds = bench.dataset(dataset)
    signal = bench.signal_metric(ds)
    keys = list(bench.keys(ds))
    col = np.asarray(bench.values(ds, signal, keys), dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(col))
    space = make_space(bench.space)
    vector = [e for e in space.encodings if e != "graph"]
    if not vector:
        raise NashError(f"space {space.name} has no vector encoding for predictors")

    def enc(i: int, kind: str) -> Any:
        return space.encode(bench.cell_of(keys[int(ok[i])]), kind)

    # the label says which split the signal is: some benchmarks have no validation split
    m = bench.metric(ds, signal)
    unit = f"{m.description or signal} [{m.unit or '%'}]"
    if getattr(bench, "no_validation_split", False):
        unit = f"{signal}: TEST-split accuracy, the benchmark's only split [%]"
    elif not bench.has_test:
        unit = f"validation accuracy [%] ({bench.name}: validation only)"
    return PredictorTask(bench.name, ds, signal, col[ok], space.encodings, vector[0], enc, unit)


# -- the experiment -------------------------------------------------------------------------------
@dataclass
class PredictorResults:
    """Per (surrogate, n, seed) rows and, per surrogate, the held-out predictions of seed 0 at
    its largest n (for the predicted-vs-true figures)."""

    task: PredictorTask
    rows: pd.DataFrame
    settings: dict[str, Any]
    scatter: dict[str, tuple[int, np.ndarray, np.ndarray]] = field(default_factory=dict)


def split(n_candidates: int, test_size: int, split_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(held-out ids, training pool ids): a fixed random held-out sample and the rest."""
    if test_size < 0:
        raise ConfigError(
            f"test_size must be >= 0 (0 = all cells not trained on), got {test_size}"
        )
    if test_size >= n_candidates:
        raise ConfigError(
            f"test_size {test_size} leaves no training cells: the benchmark has {n_candidates}"
        )
    perm = np.random.default_rng([split_seed, 2**31 - 1]).permutation(n_candidates)
    if test_size == 0:
        return np.zeros(0, dtype=np.int64), perm
    return np.sort(perm[:test_size]), perm[test_size:]


def training_ids(pool: np.ndarray, n: int, seed: int, split_seed: int = 0) -> np.ndarray:
    """The first ``n`` cells of seed ``seed``'s permutation of the training pool (nested in n)."""
    perm = np.random.default_rng([split_seed, seed]).permutation(len(pool))
    return pool[perm[:n]]


def _warm_imports(names: Sequence[str]) -> None:
    """Import what the surrogates will import, so the first fit's time is the model's alone."""
    import importlib

    from harness import surrogates

    mods = {"xgboost", "sklearn.ensemble"}
    if any(surrogates.input_kind_of(surrogates.create(n)) == "graph" for n in names):
        mods |= {"torch", "torch_geometric.nn"}
    elif any(n in ("mlp",) for n in names):
        mods.add("torch")
    for m in sorted(mods):
        try:
            importlib.import_module(m)
        except ImportError:  # pragma: no cover - the model's own fit will say what is missing
            pass


def check_settings(
    task: PredictorTask,
    sizes: Sequence[int],
    surrogate_names: Sequence[str],
    seeds: int,
    test_size: int,
    encoding: str | None,
) -> dict[str, str]:
    """Validate the request before any model is fitted; returns each surrogate's encoding."""
    from harness import surrogates

    if not sizes:
        raise ConfigError("no training-set sizes given")
    if not surrogate_names:
        raise ConfigError("no surrogates given")
    if seeds < 1:
        raise ConfigError(f"seeds must be >= 1, got {seeds}")
    split(len(task), test_size)  # test_size errors first: they explain any size error
    pool = len(task) - test_size if test_size > 0 else len(task) - 1
    for n in sizes:
        if n < 2:
            raise ConfigError(f"training-set size {n} is too small (need >= 2 cells)")
        if n > pool:
            raise ConfigError(
                f"training-set size {n} exceeds the {pool} cells available for training on "
                f"{task.benchmark} ({len(task)} cells, {test_size} held out); use sizes <= {pool} "
                "or a smaller --test-size"
            )
    if encoding is not None and encoding not in task.encodings:
        raise unknown(f"{task.benchmark} encoding", encoding, task.encodings)
    kinds: dict[str, str] = {}
    for name in surrogate_names:
        surrogates.SURROGATES.get(name)  # unknown names: UnknownName listing the valid ones
        takes = surrogates.input_kind_of(surrogates.create(name))
        if takes == "graph":
            kinds[name] = "graph"
        else:
            enc = encoding or task.default_vector_encoding
            if enc == "graph":
                raise ConfigError(
                    f"surrogate {name!r} takes vectors; encoding 'graph' is for graph surrogates "
                    f"(vector encodings: {', '.join(e for e in task.encodings if e != 'graph')})"
                )
            kinds[name] = enc
    return kinds


def evaluate_predictors(
    benchmark: str = "nb201",
    dataset: str = "cifar10",
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: int = 3,
    surrogate_names: Sequence[str] = DEFAULT_SURROGATES,
    encoding: str | None = None,
    test_size: int = DEFAULT_TEST_SIZE,
    graph_seeds: int | None = DEFAULT_GRAPH_SEEDS,
    graph_max_size: int | None = None,
    split_seed: int = 0,
    task: PredictorTask | None = None,
    progress: Callable[[str], None] | None = None,
) -> PredictorResults:
    """Fit every surrogate on n training cells per seed and score it on the held-out set.

    ``graph_seeds`` caps the seeds of graph surrogates (None: all ``seeds``) and
    ``graph_max_size`` their largest n (None: no cap), because the GCN dominates the run time.
    """
    from harness import surrogates

    task = task if task is not None else load_task(benchmark, dataset)
    sizes = sorted({int(n) for n in sizes})
    kinds = check_settings(task, sizes, surrogate_names, seeds, test_size, encoding)
    test, pool = split(len(task), test_size, split_seed)
    _warm_imports(surrogate_names)
    records = []
    scatter: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}
    for name in surrogate_names:
        kind = kinds[name]
        is_graph = kind == "graph"
        n_seeds = min(seeds, graph_seeds) if (is_graph and graph_seeds) else seeds
        name_sizes = [n for n in sizes if not (is_graph and graph_max_size and n > graph_max_size)]
        for n in name_sizes:
            for seed in range(n_seeds):
                tr = training_ids(pool, n, seed, split_seed)
                te = test if test_size > 0 else np.setdiff1d(pool, tr)
                Xtr, Xte = task.encode(tr, kind), task.encode(te, kind)
                model = surrogates.create(name, seed=seed)
                t0 = time.perf_counter()
                model.fit(Xtr, task.y[tr])
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                pred = np.asarray(model.predict(Xte), dtype=np.float64)
                pred_s = time.perf_counter() - t0
                m = rank_metrics(task.y[te], pred, with_mae=name not in _NOT_REGRESSORS)
                records.append(
                    {
                        "surrogate": name,
                        "encoding": kind,
                        "n_train": n,
                        "seed": seed,
                        "n_test": len(te),
                        **m,
                        "fit_s": fit_s,
                        "predict_s": pred_s,
                    }
                )
                if seed == 0 and n == name_sizes[-1]:
                    scatter[name] = (n, task.y[te].copy(), pred)
                if progress is not None:
                    progress(
                        f"{name} n={n} seed={seed}: tau {m['kendall_tau']:.3f} fit {fit_s:.2f}s"
                    )
    settings = {
        "benchmark": task.benchmark,
        "dataset": task.dataset,
        "signal": task.signal,
        "sizes": list(sizes),
        "seeds": seeds,
        "graph_seeds": graph_seeds,
        "graph_max_size": graph_max_size,
        "test_size": test_size,
        "split_seed": split_seed,
        "candidates": len(task),
        "encodings": kinds,
    }
    return PredictorResults(task, pd.DataFrame.from_records(records), settings, scatter)


# -- the report ----------------------------------------------------------------------------------
_METRIC_COLS = ("kendall_tau", "spearman", "mae", *(f"precision@{_pct(f)}" for f in TOP_FRACTIONS))


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds per (surrogate, encoding, n)."""
    keys = ["surrogate", "encoding", "n_train"]
    g = rows.groupby(keys, sort=False)
    out = g.size().rename("seeds").to_frame()
    for c in (*_METRIC_COLS, "fit_s", "predict_s"):
        out[f"{c}_mean"] = g[c].mean()
        out[f"{c}_sd"] = g[c].std(ddof=1)
    out["n_test"] = g["n_test"].first()
    return out.reset_index()


def _pm(mean: float, sd: float, digits: int = 3) -> str:
    if not math.isfinite(mean):
        return "–"
    if not math.isfinite(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as formatted strings (mean ± sd over seeds) for Markdown."""
    shown = pd.DataFrame(
        {
            "surrogate": summary["surrogate"],
            "encoding": summary["encoding"],
            "n": summary["n_train"].map(str),
            "seeds": summary["seeds"].map(str),
            "Kendall tau": [
                _pm(m, s)
                for m, s in zip(
                    summary["kendall_tau_mean"], summary["kendall_tau_sd"], strict=True
                )
            ],
            "Spearman": [
                _pm(m, s)
                for m, s in zip(summary["spearman_mean"], summary["spearman_sd"], strict=True)
            ],
            "MAE": [
                _pm(m, s, 2) for m, s in zip(summary["mae_mean"], summary["mae_sd"], strict=True)
            ],
        }
    )
    for f in TOP_FRACTIONS:
        c = f"precision@{_pct(f)}"
        shown[f"prec@{_pct(f)}"] = [
            _pm(m, s, 2) for m, s in zip(summary[f"{c}_mean"], summary[f"{c}_sd"], strict=True)
        ]
    shown["fit s"] = [f"{v:.3f}" for v in summary["fit_s_mean"]]
    shown["predict s"] = [f"{v:.4f}" for v in summary["predict_s_mean"]]
    return shown


def write_report(results: PredictorResults, out: str | Path) -> Path:
    """Write ``predictors.md``, ``predictors.csv`` (per seed), ``predictors_summary.csv`` and
    ``pred_vs_true_<surrogate>.{png,pdf}`` into ``out``; returns the Markdown path.

    Tables are written atomically (a killed run never leaves a half table).
    """
    from analysis.plots import plot_predicted_vs_true, save
    from analysis.report import to_markdown
    from harness.paths import atomic_path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results.rows)
    with atomic_path(out / "predictors.csv") as tmp:
        results.rows.to_csv(tmp, index=False)
    with atomic_path(out / "predictors_summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    figures = []
    for name, (n, yt, yp) in results.scatter.items():
        fig = plot_predicted_vs_true(
            yt,
            yp,
            label=f"{name}, n={n}, seed 0",
            unit=results.task.unit.split(" (")[0],
            width=4.8,  # the one-column width clips the title with its statistics
        )
        save(fig, out / f"pred_vs_true_{name}")
        figures.append((name, n, f"pred_vs_true_{name}.png"))
    s = results.settings
    test_desc = (
        f"a fixed random sample of {s['test_size']:,} held-out cells (the same for every row)"
        if s["test_size"]
        else "every cell not trained on"
    )
    caps = []
    if s["graph_seeds"]:
        caps.append(f"graph surrogates (GCN) run at most {s['graph_seeds']} seed(s) per size")
    if s["graph_max_size"]:
        caps.append(f"graph surrogates stop at n = {s['graph_max_size']}")
    lines = [
        f"# Predictor evaluation: {s['benchmark']} {s['dataset']} `{s['signal']}`",
        "",
        f"Each surrogate is trained on n random cells of the {s['candidates']:,} candidates "
        f"(seeded, nested over n) and scored on {test_desc}. Kendall tau-b and Spearman from "
        "scipy; precision@k = fraction of the true top-k among the predicted top-k, "
        "k = 1 % and 5 % of the held-out set; mean ± sd over seeds; fit / predict in seconds "
        "(one thread, predict = the whole held-out set).",
    ]
    if "validation only" in results.task.unit:
        lines.append(
            f"{s['benchmark']}: the signal is VALIDATION accuracy (the benchmark's data has no "
            "test accuracy)."
        )
    if caps:
        lines.append("To keep the default run to minutes: " + "; ".join(caps) + ".")
    lines += ["", to_markdown(summary_table(summary)), ""]
    for name, n, png in figures:
        lines += [f"![{name}: predicted vs true, n={n}, seed 0]({png})", ""]
    settings_line = ", ".join(f"{k}={v}" for k, v in s.items())
    lines += [f"Settings: {settings_line}.", ""]
    with atomic_path(out / "predictors.md") as tmp:
        tmp.write_text("\n".join(lines))
    return out / "predictors.md"
