"""Load experiment results into tidy frames: one row per run, and one row per query.

Why a module of its own: every number in a report must trace back to the files the runner wrote,
so loading is the one place that knows the result layout
(``<root>/<experiment>/<bench label>/<strategy label>/seed=<n>/{trials.parquet,run.json}``), reads
it in one pass (a pyarrow dataset over all Parquet files, column-pruned, plus the JSON manifests)
and says what is missing instead of silently using less.

The incumbent of a run is chosen by the search signal (best signal so far) and reported by its
test metric (validation on NB101, which ships no test accuracy: ``report_label`` says which).
Both cost accountings are kept on every row: ``cum_evals`` charges repeated queries nothing
(the harness default), ``cum_queries`` charges every query (the reference study's accounting).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as pads

from harness.errors import NashError

#: Keys that identify one run across experiments.
RUN_KEYS = ["experiment", "bench_label", "strategy_label", "seed"]

#: Trial columns needed for trajectories (the rest of a row stays on disk unless asked for).
TRAJ_COLUMNS = [
    "step",
    "signal",
    "val",
    "reported",
    "status",
    "repeat",
    "cum_evals",
    "cum_cost",
    "cum_queries",
    "cum_distinct",
    "cum_train_s",
    "cum_score_s",
    "cum_measured_s",
    "wall_s",
    "incumbent_signal",
    "incumbent_reported",
    "incumbent_step",
    "clock_s",
    "worker",
]

#: Trial columns that older runs lack (read as NaN for them)
OPTIONAL_COLUMNS = {
    "clock_s": float("nan"),
    "worker": -1,
    "cum_cost": float("nan"),
    "score_s": float("nan"),
    "cum_score_s": float("nan"),
}

#: trial columns of rows format 1 under today's names (format 2 renamed them: the reported
#: metric's value was called ``test`` even where it is validation)
FORMAT1_NAMES = {"reported": "test", "incumbent_reported": "incumbent_test"}

#: The x axes a trajectory can be read against, with a human label for figures and tables.
X_AXES: dict[str, str] = {
    "cum_evals": "charged evaluations (repeats free)",
    "cum_cost": "charged cost [full-evaluation equivalents] (an evaluation at f epochs: f/F)",
    "cum_queries": "queries (every query charged)",
    "cum_distinct": "distinct cells evaluated",
    "cum_train_s": "recorded training time [s]",
    "cum_score_s": "recorded zero-cost scoring time [s]",
    "cum_measured_s": "seconds measured on this machine [s] (0 for answers read from a cache)",
    "wall_s": "wall time [s]",
    "clock_s": "evaluation clock [s] (W workers in parallel: simulated on recorded times, or "
    "measured on Ray)",
}

#: The y metrics of a trajectory.
Y_METRICS: dict[str, str] = {
    "incumbent_reported": "incumbent's reported metric",
    "incumbent_signal": "incumbent's search signal",
    "regret": "regret (optimum − reported)",
}


class ResultsError(NashError):
    """A results directory that cannot be analysed as asked (empty, unknown metric, ...)."""


@dataclass
class RunSet:
    """Everything loaded from one or more experiment directories.

    Attributes:
        runs: one row per finished run (identity, settings from ``run.json``, finals, optimum,
            final regret, path).
        trials: one row per query, the columns asked for plus the run keys and ``regret``.
        experiments: the ``experiment.json`` of each experiment found, by name.
        problems: human-readable notes on what was missing or skipped (the report prints them).
    """

    runs: pd.DataFrame
    trials: pd.DataFrame
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def settings(self) -> list[str]:
        """Units of comparison: ``bench_label``, prefixed by the experiment when several."""
        return list(dict.fromkeys(self.runs["setting"]))

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.runs["strategy_label"]))


# -- optimum of the reported metric ------------------------------------------------------------
def benchmark_optimum(benchmark: str, dataset: str, report_metric: str) -> float:
    """Best value of the reported metric over the whole benchmark (regret's reference point).

    Looked up in the shipped tables, not in the runs, so regret is comparable across runs and
    experiments. NaN when the benchmark is unknown here (regret is then NaN, not a guess).
    """
    try:
        from harness.benchmarks import get_benchmark

        bench = get_benchmark(benchmark)
        if not bench.optimum_known:
            return math.nan  # e.g. a surrogate over 423,624 cells: not computed, not guessed
        return float(bench.optimum(dataset, report_metric)[0])
    except (NashError, KeyError, OSError) as e:
        warnings.warn(f"no optimum for {benchmark}/{dataset} {report_metric}: {e}", stacklevel=2)
    return math.nan


# -- discovery ---------------------------------------------------------------------------------
def _experiment_dirs(path: Path) -> list[Path]:
    """An experiment dir holds ``experiment.json``; a results root holds several of them."""
    if (path / "experiment.json").is_file():
        return [path]
    found = sorted(p.parent for p in path.glob("*/experiment.json"))
    if found:
        return found
    if any(path.rglob("run.json")):  # runs without an experiment.json: still usable
        return [path]
    return []


def _manifest_row(mf: Path) -> dict[str, Any]:
    m = json.loads(mf.read_text())
    cfg = m["config"]
    b, s = cfg["benchmark"], cfg["strategy"]
    ev = m.get("evaluator", {})
    budget = s.get("budget") or {}
    row: dict[str, Any] = {
        "experiment": cfg["experiment"],
        "bench_label": b["label"],
        "strategy_label": s["label"],
        "seed": int(cfg["seed"]),
        "benchmark": b["name"],
        "dataset": b["dataset"],
        "strategy": s["name"],
        "signal_name": ev.get("signal", b.get("signal")),
        "fidelity": b.get("fidelity"),
        "noise_sigma": float(b.get("noise_sigma", 0.0)),
        "noise_model": ev.get("noise_model", ""),
        "report_metric": ev.get("report_metric", "test"),
        "report_label": ev.get("report_label", "test accuracy"),
        "count_repeats": bool(s.get("count_repeats", False)),
        "query_seeds": int(s.get("query_seeds", 1)),
        "params": json.dumps(s.get("params", {}), sort_keys=True),
        "config_hash": m.get("config_hash"),
        "root_seed": cfg.get("root_seed"),
        "stopped_by": m.get("stopped_by"),
        "n_queries": m.get("n_queries"),
        "n_evaluations": m.get("n_evaluations_charged"),
        "n_distinct": m.get("n_distinct"),
        "final_signal": m.get("final_incumbent_signal"),
        "final_reported": m.get("final_incumbent_reported", m.get("final_incumbent_test")),
        "best_reported_seen": m.get("best_reported_seen", m.get("best_test_seen")),
        "rows_format": int(m.get("rows_format", 1)),
        "recommendation": m.get("recommendation"),
        "elapsed_s": m.get("elapsed_s"),
        "git_commit": m.get("git_commit"),
        "versions": json.dumps(m.get("versions", {}), sort_keys=True),
        "path": str(mf.parent),
    }
    for k in ("evaluations", "distinct", "train_s", "wall_s", "queries"):
        row[f"budget_{k}"] = budget.get(k)
    return row


def _expected_grid(exp: dict[str, Any]) -> set[tuple[str, str, str, int]]:
    """The runs an experiment describes now (a strategy's ``max_seeds`` runs its first seeds)."""
    return {
        (exp["name"], b["label"], s["label"], int(seed))
        for b in exp.get("benchmarks", [])
        for s in exp.get("strategies", [])
        for seed in list(exp.get("seeds", []))[: s.get("max_seeds")]
    }


expected_grid = _expected_grid


def read_experiment_json(path: Path) -> dict[str, Any]:
    """An ``experiment.json`` as ``nash run`` wrote it, or one clear error naming the file."""
    try:
        exp = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ResultsError(
            f"{path} is damaged ({type(e).__name__}: {e}); rerun `nash run` on its experiment "
            "to rewrite it"
        ) from None
    if not isinstance(exp, dict) or not isinstance(exp.get("name"), str):
        raise ResultsError(
            f"{path} is not an experiment.json written by `nash run` (it has no name); move it "
            "away or point at the experiment directory that holds the runs"
        )
    for key in ("benchmarks", "strategies", "seeds"):
        if not isinstance(exp.get(key, []), list):
            raise ResultsError(f"{path}: {key} is not a list; rerun `nash run` to rewrite it")
    return exp


def current_runs(
    exp_dir: Path, problems: list[str]
) -> list[tuple[Path, dict[str, Any], tuple[str, str, str, int]]]:
    """The finished, intact runs under ``exp_dir`` that its ``experiment.json`` describes now.

    Why: after a label is renamed or an experiment rerun with fewer seeds, older runs stay on
    disk; a report must read exactly the runs the experiment describes. Stale runs (on disk,
    not described), damaged ones (files that fail their recorded size/sha256) and unreadable
    manifests are listed in ``problems`` and left out. Returns (run dir, manifest, run key).
    """
    from harness.runner.storage import verify_run_files

    ej = exp_dir / "experiment.json"
    expected = _expected_grid(read_experiment_json(ej)) if ej.is_file() else None
    out: list[tuple[Path, dict[str, Any], tuple[str, str, str, int]]] = []
    stale: list[str] = []
    for mf in sorted(exp_dir.rglob("run.json")):
        if ".tmp-" in str(mf) or ".old-" in str(mf):
            continue
        try:
            m = json.loads(mf.read_text())
            cfg = m["config"]
            key = (
                str(cfg["experiment"]),
                str(cfg["benchmark"]["label"]),
                str(cfg["strategy"]["label"]),
                int(cfg["seed"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            problems.append(f"{mf}: unreadable manifest ({type(e).__name__}); run skipped")
            continue
        if expected is not None and key not in expected:
            stale.append("/".join(map(str, key[1:3])) + f"/seed={key[3]}")
            continue
        bad = verify_run_files(mf.parent, m)
        if bad:
            problems.append(f"{mf.parent}: {bad}; run skipped (`nash run` computes it again)")
            continue
        out.append((mf.parent, m, key))
    if stale:
        shown = ", ".join(stale[:5]) + (f", ... ({len(stale) - 5} more)" if len(stale) > 5 else "")
        problems.append(
            f"{exp_dir}: {len(stale)} stale run(s) on disk that the current experiment.json does "
            f"not describe (a renamed label, fewer seeds, a removed strategy), not used: {shown}"
        )
    return out


def load_runs(
    dirs: str | Path | Sequence[str | Path],
    *,
    columns: Iterable[str] | None = None,
) -> RunSet:
    """Read finished runs under one or more result directories.

    Args:
        dirs: experiment directories (holding ``experiment.json``) or a results root above them.
        columns: trial columns to read (default: :data:`TRAJ_COLUMNS`); run keys are always added.

    Raises:
        ResultsError: no finished run anywhere, or a requested column that no run has.

    A run is finished iff its ``run.json`` exists (the runner writes runs atomically); expected
    runs that are absent, leftovers of killed runs and unreadable files are listed in
    ``problems``, and everything complete is used.
    """
    paths = [Path(dirs)] if isinstance(dirs, str | Path) else [Path(d) for d in dirs]
    problems: list[str] = []
    experiments: dict[str, dict[str, Any]] = {}
    exp_dirs: list[Path] = []
    for p in paths:
        if not p.is_dir():
            raise ResultsError(f"results directory {p} does not exist")
        found = _experiment_dirs(p)
        if not found:
            raise ResultsError(
                f"no finished runs under {p} (expected <experiment>/<benchmark>/<strategy>/"
                "seed=<n>/run.json, as written by `nash run`)"
            )
        exp_dirs.extend(found)
    rows: list[dict[str, Any]] = []
    files: list[str] = []
    for ed in dict.fromkeys(exp_dirs):
        ej = ed / "experiment.json"
        if ej.is_file():
            exp = read_experiment_json(ej)
            experiments[exp["name"]] = exp
        leftovers = list(ed.rglob(".seed=*.tmp-*"))
        if leftovers:
            problems.append(f"{ed}: {len(leftovers)} unfinished run(s) (killed; ignored)")
        for run_dir, _m, _key in current_runs(ed, problems):
            mf = run_dir / "run.json"
            try:
                row = _manifest_row(mf)
            except (OSError, ValueError, KeyError, TypeError) as e:
                problems.append(f"{mf}: unreadable manifest ({e!r}); run skipped")
                continue
            rows.append(row)
            files.append(str(run_dir / "trials.parquet"))
    if not rows:
        raise ResultsError(f"no finished runs under {', '.join(map(str, paths))}")
    runs = pd.DataFrame(rows)
    dup = runs.duplicated(RUN_KEYS, keep="first")
    if dup.any():
        problems.append(
            f"{int(dup.sum())} duplicate run(s) (same experiment, labels, seed) ignored"
        )
        keep = ~dup.to_numpy()
        runs = runs[keep].reset_index(drop=True)
        files = [f for f, k in zip(files, keep, strict=True) if k]
    have = set(runs[RUN_KEYS].itertuples(index=False, name=None))
    for name, exp in experiments.items():
        missing = sorted(_expected_grid(exp) - have)
        if missing:
            by: dict[tuple[str, str], list[int]] = {}
            for _, b, s, seed in missing:
                by.setdefault((b, s), []).append(seed)
            for (b, s), seeds in by.items():
                problems.append(
                    f"{name}: {b} / {s}: {len(seeds)} of {len(exp['seeds'])} runs missing "
                    f"(seeds {_ranges(seeds)})"
                )
    opt = {
        k: benchmark_optimum(*k)
        for k in runs[["benchmark", "dataset", "report_metric"]]
        .drop_duplicates()
        .itertuples(index=False, name=None)
    }
    runs["optimum"] = [
        opt[k]
        for k in runs[["benchmark", "dataset", "report_metric"]].itertuples(index=False, name=None)
    ]
    runs["run_id"] = np.arange(len(runs))
    # the unit of comparison: one benchmark of one experiment (the same benchmark label in two
    # experiments is two settings, e.g. two budgets or signals)
    multi = runs["experiment"].nunique() > 1
    runs["setting"] = (
        runs["experiment"] + ":" + runs["bench_label"] if multi else runs["bench_label"]
    )
    trials = _read_trials(files, runs, list(columns) if columns is not None else TRAJ_COLUMNS)
    runs["final_regret"] = runs["optimum"] - runs["final_reported"]
    return RunSet(runs=runs, trials=trials, experiments=experiments, problems=problems)


def _ranges(xs: Sequence[int]) -> str:
    xs = sorted(xs)
    out: list[str] = []
    start = prev = xs[0]
    for x in [*xs[1:], None]:
        if x is not None and x == prev + 1:
            prev = x
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if x is not None:
            start = prev = x
    return ", ".join(out)


def _format1_validation(runs: pd.DataFrame, trials: pd.DataFrame) -> None:
    """Runs of rows format 1 that report validation (NB101): fill the reported columns from
    ``val``, as format 2 stores them (format 1 left them NaN: no test accuracy exists)."""
    old = runs["rows_format"].eq(1) & runs["report_metric"].astype(str).str.startswith("val")
    val_runs = runs.loc[old, "run_id"]
    if val_runs.empty or not {"val", "incumbent_step", "incumbent_reported"} <= set(trials):
        return
    sel = trials["run_id"].isin(val_runs).to_numpy()
    t = trials.loc[sel, ["run_id", "step", "val", "incumbent_step"]]
    lut = t.set_index(["run_id", "step"])["val"]
    key = pd.MultiIndex.from_arrays([t["run_id"], t["incumbent_step"]])
    trials.loc[sel, "incumbent_reported"] = lut.reindex(key).to_numpy(dtype=float)
    if "reported" in trials.columns:
        trials.loc[sel, "reported"] = trials.loc[sel, "val"]
    last = trials.loc[sel].sort_values(["run_id", "step"]).groupby("run_id")
    fin = last["incumbent_reported"].last()
    best = last["val"].max()
    runs.loc[old, "final_reported"] = fin.reindex(runs.loc[old, "run_id"]).to_numpy()
    runs.loc[old, "best_reported_seen"] = best.reindex(runs.loc[old, "run_id"]).to_numpy()


def _scan(files: list[str], columns: list[str], old: Mapping[str, str]) -> pd.DataFrame:
    """One pyarrow scan over Parquet files of one row layout, keeping only ``columns``
    (today's names; ``old`` maps them to this layout's names)."""
    schema = pads.dataset(files[0], format="parquet").schema
    avail = set(schema.names)
    src = {c: old.get(c, c) for c in columns}
    missing_optional = [c for c in columns if src[c] not in avail and c in OPTIONAL_COLUMNS]
    columns = [c for c in columns if c not in missing_optional]
    unknown_cols = [c for c in columns if src[c] not in avail]
    if unknown_cols:
        raise ResultsError(
            f"unknown trial column(s) {unknown_cols}; the runs have: {', '.join(schema.names)}"
        )
    dataset = pads.dataset(files, format="parquet", schema=schema)
    # every row carries its run's keys; joining on them gives the run id without a per-file loop
    cols = list(dict.fromkeys([*RUN_KEYS, *columns]))
    df = dataset.to_table(columns=[src.get(c, c) for c in cols]).to_pandas()
    df.columns = cols
    for c in missing_optional:  # runs written before the column existed
        df[c] = OPTIONAL_COLUMNS[c]
    return df


def _read_trials(files: list[str], runs: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The trials of every run, one scan per row layout (old layouts renamed on reading)."""
    fmt = runs["rows_format"].to_numpy()
    parts = [
        _scan(
            [files[i] for i in np.flatnonzero(fmt == f)], columns, FORMAT1_NAMES if f == 1 else {}
        )
        for f in sorted(set(fmt.tolist()))
    ]
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    keys = runs[["run_id", *RUN_KEYS, "setting", "optimum"]]
    df = df.merge(keys, on=RUN_KEYS, how="left", validate="many_to_one")
    _format1_validation(runs, df)
    if "cum_cost" in df.columns and "cum_evals" in df.columns:  # before fidelity proposals
        df["cum_cost"] = df["cum_cost"].fillna(df["cum_evals"])
    if "incumbent_reported" in df.columns:
        df["regret"] = df["optimum"] - df["incumbent_reported"]
    return df


def check_axis(x: str, y: str) -> None:
    """Refuse unknown axes with the list of valid ones (a typo should not plot nothing)."""
    if x not in X_AXES:
        raise ResultsError(f"unknown x axis {x!r}; choose one of: {', '.join(X_AXES)}")
    if y not in Y_METRICS:
        raise ResultsError(f"unknown metric {y!r}; choose one of: {', '.join(Y_METRICS)}")


def cost_known(rs: RunSet, x: str) -> bool:
    """Whether a seconds axis carries information (NB201 records no training times: all 0)."""
    if x not in rs.trials.columns:
        return False
    v = rs.trials[x].to_numpy(dtype=float)
    return bool(np.isfinite(v).any() and np.nanmax(v) > 0)


def on_grid(
    rs: RunSet,
    *,
    x: str = "cum_evals",
    y: str = "incumbent_reported",
    grid: np.ndarray | None = None,
    n_points: int = 200,
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Incumbent trajectories of every run resampled on a common x grid (step functions).

    The value at ``g`` is the incumbent after every query whose cumulative ``x`` is <= ``g``
    (NaN before a run's first evaluation): with free repeats several queries share one charged
    count, and the last of them holds the incumbent at that count.

    Returns:
        (grid, runs in row order with their keys, values of shape (n_runs, len(grid))).
    """
    check_axis(x, y)
    t = rs.trials
    if x not in t.columns or y not in t.columns:
        raise ResultsError(f"trials were loaded without column {x!r} or {y!r}")
    t = t.sort_values(["run_id", "step"], kind="stable")
    if grid is None:
        hi = float(np.nanmax(t[x].to_numpy(dtype=float)))
        if x in ("cum_evals", "cum_queries", "cum_distinct"):
            step = max(1, math.ceil(hi / n_points))
            grid = np.arange(step, int(hi) + step, step, dtype=float)
            grid = grid[grid <= hi] if grid[-1] > hi and len(grid) > 1 else grid
        else:
            grid = np.linspace(hi / n_points, hi, n_points)
    grid = np.asarray(grid, dtype=float)
    run_ids = t["run_id"].to_numpy()
    bounds = np.flatnonzero(np.diff(run_ids)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(t)]
    xv = t[x].to_numpy(dtype=float)
    yv = t[y].to_numpy(dtype=float)
    out = np.full((len(starts), len(grid)), np.nan)
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        idx = np.searchsorted(xv[a:b], grid, side="right") - 1
        ok = idx >= 0
        out[i, ok] = yv[a:b][idx[ok]]
    ids = run_ids[starts]
    keys = rs.runs.set_index("run_id").loc[ids].reset_index()
    return grid, keys, out


def finals(rs: RunSet) -> pd.DataFrame:
    """One row per run with the final metrics (the input of every final-result statistic)."""
    cols = [
        "run_id",
        *RUN_KEYS,
        "setting",
        "benchmark",
        "dataset",
        "strategy",
        "report_label",
        "final_reported",
        "final_signal",
        "final_regret",
        "best_reported_seen",
        "n_evaluations",
        "n_queries",
        "n_distinct",
    ]
    return rs.runs[cols].copy()


def check_budgets(rs: RunSet, *, align: bool = False) -> RunSet:
    """Refuse comparisons of runs with different budgets on one benchmark, or align them.

    Why: a strategy given twice the evaluations wins for that reason alone. With ``align``, the
    trials of every benchmark are cut at the smallest charged-evaluation count any of its runs
    reached and the finals recomputed from the cut trajectories, with a warning that says so.
    """
    problems = list(rs.problems)
    parts = []
    runs = rs.runs.copy()
    trials = rs.trials
    for bench, g in runs.groupby("setting", sort=False):
        budgets = g[[c for c in g.columns if c.startswith("budget_")]].astype(str)
        distinct = budgets.drop_duplicates()
        if len(distinct) <= 1:
            continue
        desc = "; ".join(
            f"{s}: {_budget_str(r)}"
            for s, r in g.groupby("strategy_label", sort=False).first().iterrows()
        )
        if not align:
            raise ResultsError(
                f"{bench}: runs with different budgets in one comparison ({desc}); compare "
                "like with like, or align them explicitly (nash report --align / align=True)"
            )
        cut = int(g["n_evaluations"].min())
        msg = f"{bench}: different budgets ({desc}); aligned at {cut} charged evaluations"
        warnings.warn(msg, stacklevel=2)
        problems.append(msg)
        parts.append((g["run_id"].to_numpy(), cut))
    if parts:
        trials = trials.copy()
        drop = np.zeros(len(trials), dtype=bool)
        for ids, cut in parts:
            drop |= trials["run_id"].isin(ids).to_numpy() & (trials["cum_evals"] > cut).to_numpy()
        trials = trials[~drop].reset_index(drop=True)
        last = trials.sort_values(["run_id", "step"]).groupby("run_id").last()
        for ids, _ in parts:
            sel = runs["run_id"].isin(ids)
            rid = runs.loc[sel, "run_id"]
            runs.loc[sel, "final_reported"] = last.loc[rid, "incumbent_reported"].to_numpy()
            runs.loc[sel, "final_signal"] = last.loc[rid, "incumbent_signal"].to_numpy()
            runs.loc[sel, "n_evaluations"] = last.loc[rid, "cum_evals"].to_numpy()
            runs.loc[sel, "n_queries"] = last.loc[rid, "cum_queries"].to_numpy()
            runs.loc[sel, "n_distinct"] = last.loc[rid, "cum_distinct"].to_numpy()
            runs.loc[sel, "best_reported_seen"] = np.nan  # not recomputable from the incumbent
        runs["final_regret"] = runs["optimum"] - runs["final_reported"]
    return RunSet(runs=runs, trials=trials, experiments=rs.experiments, problems=problems)


def _budget_str(row: pd.Series) -> str:
    parts = [
        f"{k.removeprefix('budget_')}={row[k]:g}"
        for k in row.index
        if k.startswith("budget_") and row[k] is not None and pd.notna(row[k])
    ]
    return ", ".join(parts) or "none"


def budget_summary(rs: RunSet) -> pd.DataFrame:
    """Budget, accounting and run counts per benchmark and strategy (for the settings table)."""
    rows = []
    for (b, s), g in rs.runs.groupby(["setting", "strategy_label"], sort=False):
        first = g.iloc[0]
        rows.append(
            {
                "setting": b,
                "strategy": s,
                "runs": len(g),
                "seeds": _ranges(sorted(g["seed"].tolist())),
                "budget": _budget_str(first),
                "repeats": "charged" if first["count_repeats"] else "free",
                "signal": f"{first['signal_name']} @ {first['fidelity']}"
                if first["fidelity"] is not None and pd.notna(first["fidelity"])
                else str(first["signal_name"]),
                "noise": first["noise_model"],
                "reported": first["report_label"],
                "params": first["params"],
                "mean evals": float(g["n_evaluations"].mean()),
                "mean queries": float(g["n_queries"].mean()),
                "mean distinct": float(g["n_distinct"].mean()),
            }
        )
    return pd.DataFrame(rows)
