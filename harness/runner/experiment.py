"""Experiments: a TOML grid of benchmarks x strategies x seeds, run in parallel and resumable.

Layout of results (one directory per run, written atomically: a run is complete iff its
``run.json`` exists, and it appears at its final path in one rename)::

    <out>/<experiment>/experiment.json
    <out>/<experiment>/<benchmark label>/<strategy label>/seed=<n>/trials.parquet
    <out>/<experiment>/<benchmark label>/<strategy label>/seed=<n>/run.json

Re-running the same command skips finished runs, redoes killed ones (their temporary
directories are removed) and refuses to mix results of a changed configuration.
A run's random streams depend only on (root_seed, seed), never on the worker that runs it or on
the order of runs, so results are identical for any number of workers. Strategies compared in one
experiment share their seeds' initial random streams (common random numbers, for paired tests).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.benchmarks import get_benchmark
from harness.benchmarks.base import canonical_dataset
from harness.errors import ConfigError, NashError
from harness.evaluators.objectives import parse_benchmark_table, parse_strategy_table
from harness.runner import validate as V
from harness.runner.components import build_run, plugin_versions, simulated
from harness.runner.fsafe import clean_leftovers, inside, locked, write_dir_atomic
from harness.runner.loop import ROWS_FORMAT, Budget, run_search

if TYPE_CHECKING:
    from harness.runner.engines import Engine, Outcome

FORMAT_VERSION = 1
_BENCH_KEYS = {
    "proxy_dataset",
    "evaluator",
    "evaluator_params",
    "name",
    "label",
    "dataset",
    "signal",
    "fidelity",
    "space",
    "space_params",
    "noise_sigma",
    "noise_seed",
    "objectives",
    "constraints",
    "reference_point",
}
_STRAT_KEYS = {
    "constraints",
    "workers",
    "gpus_per_eval",
    "max_seeds",
    "signal",
    "evaluator",
    "evaluator_params",
    "name",
    "label",
    "params",
    "budget",
    "count_repeats",
    "space",
    "space_params",
    "query_seeds",
}
_TOP_KEYS = {
    "workers",
    "gpus_per_eval",
    "name",
    "description",
    "seeds",
    "root_seed",
    "count_repeats",
    "query_seeds",
    "budget",
    "benchmark",
    "strategy",
}
_BUDGET_KEYS = {"evaluations", "distinct", "train_s", "wall_s", "queries"}


def _check_keys(where: str, table: Mapping[str, Any], valid: set[str]) -> None:
    import difflib

    for k in table:
        if k not in valid:
            close = difflib.get_close_matches(k, sorted(valid), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown key {k!r} in {where}{hint}; valid keys: {', '.join(sorted(valid))}"
            )


def _budget(where: str, raw: Any) -> Budget:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table, e.g. budget = {{ evaluations = 150 }}")
    _check_keys(where, raw, _BUDGET_KEYS)
    V.check_budget(where, raw)
    return Budget(**raw)


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    label: str
    dataset: str
    signal: str = "val_acc"
    fidelity: int | None = None
    space: str | None = None
    space_params: dict[str, Any] = field(default_factory=dict)
    noise_sigma: float = 0.0
    noise_seed: int = 0
    evaluator: str = "tabular"
    evaluator_params: dict[str, Any] = field(default_factory=dict)
    proxy_dataset: str | None = None
    #: declared search objectives, constraints and reference point (plain data; see
    #: :mod:`harness.evaluators.objectives`); None: the one signal
    objectives: dict[str, Any] | None = None


@dataclass(frozen=True)
class StrategySpec:
    name: str
    label: str
    params: dict[str, Any]
    budget: Budget
    count_repeats: bool
    query_seeds: int
    space: str | None = None
    space_params: dict[str, Any] | None = None
    #: fitness override: a signal (e.g. "zc_nwot") or an evaluator ("naswot") for this strategy
    signal: str | None = None
    evaluator: str | None = None
    evaluator_params: dict[str, Any] | None = None
    #: run only the first ``max_seeds`` seeds (for settings too costly for every seed)
    max_seeds: int | None = None
    #: evaluations in flight at once (asynchronous search; simulated on recorded training
    #: times for tabular benchmarks, Ray tasks for real training and scoring)
    workers: int = 1
    #: GPUs each real evaluation asks Ray for (only with workers > 1 on --engine ray)
    gpus_per_eval: float = 0.0
    #: constraints replacing the benchmark's (None: the benchmark's)
    constraints: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class RunSpec:
    experiment: str
    benchmark: BenchmarkSpec
    strategy: StrategySpec
    seed: int
    root_seed: int

    @property
    def rel_dir(self) -> str:
        return f"{self.benchmark.label}/{self.strategy.label}/seed={self.seed}"

    @property
    def run_id(self) -> str:
        return f"{self.experiment}/{self.rel_dir}"

    def resolved(self) -> dict[str, Any]:
        d = asdict(self)
        st = d["strategy"]
        st.pop("max_seeds")  # which seeds run is not part of a run's identity
        st.pop("gpus_per_eval")  # nor where evaluations are placed
        if st["workers"] == 1:  # the sequential default keeps the identities of older runs
            st.pop("workers")
        if st["constraints"] is None:  # so do single-objective runs
            st.pop("constraints")
        if d["benchmark"]["objectives"] is None:
            d["benchmark"].pop("objectives")
        d["format_version"] = FORMAT_VERSION
        plugins = plugin_versions(self)
        if plugins:  # a changed third-party component is a different run (built-ins: none)
            d["plugins"] = plugins
        return d

    def config_hash(self) -> str:
        blob = json.dumps(self.resolved(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    seeds: tuple[int, ...]
    root_seed: int
    benchmarks: tuple[BenchmarkSpec, ...]
    strategies: tuple[StrategySpec, ...]
    source: str = ""

    def runs(self) -> list[RunSpec]:
        return [
            RunSpec(self.name, b, s, seed, self.root_seed)
            for b in self.benchmarks
            for s in self.strategies
            for seed in self.seeds[: s.max_seeds]
        ]


def _seeds(raw: Any) -> tuple[int, ...]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        check_seed_count(raw)
        return tuple(range(raw))
    if (
        isinstance(raw, list)
        and raw
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw)
    ):
        if len(set(raw)) != len(raw):
            raise ConfigError("seeds must not repeat")
        check_seed_count(len(raw))
        return tuple(raw)
    raise ConfigError(
        f"seeds must be a count (e.g. 30) or a list of non-negative ints, got {raw!r}"
    )


def check_seed_count(n: int) -> None:
    """Refuse absurd seed counts before anything is built (a grid is held in memory)."""
    if n < 1:
        raise ConfigError(f"seeds must be >= 1, got {n}")
    if n > V.MAX_SEEDS:
        raise ConfigError(
            f"seeds = {n:,} is more than the {V.MAX_SEEDS:,} seeds one experiment may run; "
            "split the seeds over several experiments (seeds = [..]) or lower the count"
        )


def _max_seeds(where: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"{where} max_seeds must be a positive integer, got {raw!r}")
    return raw


def _positive_int(where: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"{where} must be a positive integer, got {raw!r}")
    return raw


def _non_negative(where: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw >= 0:
        raise ConfigError(f"{where} must be a number >= 0, got {raw!r}")
    return float(raw)


def parse_experiment(raw: Mapping[str, Any], *, source: str = "") -> Experiment:
    """Validate an experiment table; every mistake is a ConfigError naming the key.

    Every value is checked against its declared type (a TOML bool for booleans, an integer for
    counts); labels are single safe path components, unique ignoring case. Nothing is written
    before this returns, so a bad file leaves no trace.
    """
    from harness.strategies import STRATEGIES

    top = "the experiment"
    _check_keys(top, raw, _TOP_KEYS)
    if "name" not in raw or not isinstance(raw["name"], str) or not raw["name"].strip():
        raise ConfigError('the experiment needs a name = "..."')
    name = V.check_label("experiment name", raw["name"])
    seeds = _seeds(raw.get("seeds", 10))
    default_budget = _budget("[budget]", raw["budget"]) if "budget" in raw else None
    count_repeats = V.get_bool(top, raw, "count_repeats", False)
    query_seeds = V.get_int(top, raw, "query_seeds", 1, minimum=1)
    root_seed = V.get_int(top, raw, "root_seed", 0, minimum=0)
    description = V.get_str(top, raw, "description", "")
    top_workers = _positive_int("workers", raw.get("workers", 1))
    top_gpus = _non_negative("gpus_per_eval", raw.get("gpus_per_eval", 0.0))
    benches = V.get_tables("benchmark", raw)
    strats = V.get_tables("strategy", raw)
    bspecs = []
    for i, b in enumerate(benches):
        where = f"[[benchmark]] #{i + 1}"
        _check_keys(where, b, _BENCH_KEYS)
        if "name" not in b:
            raise ConfigError(f'{where} needs name = "nb201" or "nb101-30k"')
        bname = V.get_str(where, b, "name")
        dataset = V.get_str(where, b, "dataset", "cifar10")
        # one name per benchmark and one spelling per dataset (older spellings are mapped)
        bench = get_benchmark(bname)
        if ":" not in bname:
            bname = bench.name
        dataset = canonical_dataset(dataset, bench.datasets)  # others: e.g. real-training data
        label = V.check_label(f"{where} label", b.get("label", f"{bench.name}-{dataset}"))
        bspecs.append(
            BenchmarkSpec(
                name=bname,
                label=label,
                dataset=dataset,
                signal=V.get_str(where, b, "signal", "val_acc"),
                fidelity=V.get_int(where, b, "fidelity", None, minimum=1),
                space=V.get_str(where, b, "space", None),
                space_params=V.get_table(where, b, "space_params", {}),
                noise_sigma=V.get_number(where, b, "noise_sigma", 0.0),
                noise_seed=V.get_int(where, b, "noise_seed", 0, minimum=0),
                evaluator=V.get_str(where, b, "evaluator", "tabular"),
                evaluator_params=V.get_table(where, b, "evaluator_params", {}),
                proxy_dataset=V.get_str(where, b, "proxy_dataset", None),
                objectives=parse_benchmark_table(where, b),
            )
        )
    sspecs = []
    for i, s in enumerate(strats):
        where = f"[[strategy]] #{i + 1}"
        _check_keys(where, s, _STRAT_KEYS)
        if "name" not in s:
            raise ConfigError(f'{where} needs name = "<registered strategy>"')
        sname = V.get_str(where, s, "name")
        budget = _budget(f"{where} budget", s["budget"]) if "budget" in s else default_budget
        if budget is None:
            raise ConfigError(f"{where} has no budget and the experiment sets no [budget]")
        params = V.get_table(where, s, "params", {})
        V.check_params(where, STRATEGIES.get(sname).factory, params)
        sspecs.append(
            StrategySpec(
                name=sname,
                label=V.check_label(f"{where} label", s.get("label", sname)),
                params=params,
                budget=budget,
                count_repeats=V.get_bool(where, s, "count_repeats", count_repeats),
                query_seeds=V.get_int(where, s, "query_seeds", query_seeds, minimum=1),
                space=V.get_str(where, s, "space", None),
                space_params=V.get_table(where, s, "space_params", None),
                signal=V.get_str(where, s, "signal", None),
                evaluator=V.get_str(where, s, "evaluator", None),
                evaluator_params=V.get_table(where, s, "evaluator_params", None),
                max_seeds=_max_seeds(where, s.get("max_seeds")),
                workers=_positive_int(f"{where} workers", s.get("workers", top_workers)),
                gpus_per_eval=_non_negative(
                    f"{where} gpus_per_eval", s.get("gpus_per_eval", top_gpus)
                ),
                constraints=parse_strategy_table(where, s),
            )
        )
    V.check_unique("benchmark", [b.label for b in bspecs])
    V.check_unique("strategy", [s.label for s in sspecs])
    n_runs = len(bspecs) * sum(len(seeds[: s.max_seeds]) for s in sspecs)
    if n_runs > V.MAX_RUNS:
        raise ConfigError(
            f"the experiment describes {n_runs:,} runs, more than the {V.MAX_RUNS:,} one "
            "experiment may hold; split it into several experiments"
        )
    exp = Experiment(
        name=name,
        description=description,
        seeds=seeds,
        root_seed=root_seed,
        benchmarks=tuple(bspecs),
        strategies=tuple(sspecs),
        source=source,
    )
    # build every component once now: a typo fails before any run starts
    for bspec in exp.benchmarks:
        for sspec in exp.strategies:
            strategy, evaluator, _bud, _final = build_run(
                RunSpec(exp.name, bspec, sspec, exp.seeds[0], exp.root_seed)
            )
            _check_budget_charges(bspec, sspec, strategy, evaluator)
    return exp


def _check_budget_charges(
    b: BenchmarkSpec, s: StrategySpec, strategy: Any, evaluator: Any
) -> None:
    """Refuse a budget no evaluation can spend: a proxy signal is never a charged evaluation.

    Without this, a proxy search under ``evaluations = 30`` only stops at the safety cap of
    queries (100,000 and more). Strategies with a natural end (generations, rounds, samples)
    stop by themselves and keep their budgets.
    """
    from harness.strategies._base import Strategy

    bud = s.budget
    spendable = bud.queries or bud.distinct or bud.wall_s
    natural_end = type(strategy).finished is not Strategy.finished
    if evaluator.is_proxy and not spendable and not natural_end:
        raise ConfigError(
            f"strategy {s.label!r} on {b.label}: the search signal "
            f"{s.signal or b.signal!r} is a zero-cost proxy, which charges no evaluations, "
            "so a budget of evaluations or training seconds is never spent; give a budget "
            "in queries, e.g. budget = { queries = 100 }"
        )


def load_experiment(path: str | Path) -> Experiment:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"experiment file {p} not found")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{p} is not UTF-8 text (byte {e.start}); save the TOML file as UTF-8"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read {p}: {e.strerror or e}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p} is not valid TOML: {e}") from None
    try:
        return parse_experiment(raw, source=str(p))
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None


# -- running ---------------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("nasbench-harness", "numpy", "pandas", "pyarrow", "scipy", "torch", "xgboost"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _git_commit() -> str | None:
    try:
        r = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


@dataclass(frozen=True)
class RunOutput:
    """One computed run, before it is written: its rows (parquet bytes) and manifest."""

    trials_parquet: bytes
    manifest: dict[str, Any]


def compute_run(spec: RunSpec) -> RunOutput:
    """Run one search (anywhere: this process, a pool worker, a Ray task); write nothing."""
    import io

    import pandas as pd

    start = datetime.now(UTC).isoformat()
    strategy, evaluator, budget, final_evaluator = build_run(spec)
    s = spec.strategy
    executor = None
    if s.workers > 1 and not simulated(s.evaluator or spec.benchmark.evaluator):
        from harness.runner.executors import RayExecutor

        executor = RayExecutor(evaluator, s.workers, gpus=s.gpus_per_eval)
    t0 = time.perf_counter()
    result = run_search(
        strategy,
        evaluator,
        budget,
        seed=spec.seed,
        count_repeats=s.count_repeats,
        query_seeds=s.query_seeds,
        final_evaluator=final_evaluator,
        workers=s.workers,
        executor=executor,
    )
    elapsed = time.perf_counter() - t0
    df = pd.DataFrame([t.to_row() for t in result.trials])
    ident: dict[str, Any] = {
        "experiment": spec.experiment,
        "benchmark": spec.benchmark.name,
        "bench_label": spec.benchmark.label,
        "dataset": spec.benchmark.dataset,
        "strategy": spec.strategy.name,
        "strategy_label": spec.strategy.label,
        "config_hash": spec.config_hash(),
        "seed": spec.seed,
    }
    for i, (k, v) in enumerate(ident.items()):
        df.insert(i, k, v)
    last = result.trials[-1] if result.trials else None
    space = evaluator.space
    rec = result.recommendation
    manifest = {
        "rows_format": ROWS_FORMAT,
        "config_hash": spec.config_hash(),
        "config": spec.resolved(),
        "evaluator": evaluator.describe(),
        # the strategy's own record (e.g. optuna's version and sampler seed)
        "strategy_info": getattr(strategy, "describe", lambda: {})(),
        "stopped_by": result.stopped_by,
        "fidelity_accounting": result.accounting or None,
        "n_queries": len(result.trials),
        "n_evaluations_charged": last.cum_evals if last else 0,
        # full-evaluation equivalents (= n_evaluations_charged unless fidelities were chosen)
        "cost_charged": last.cum_cost if last else 0.0,
        "n_distinct": last.cum_distinct if last else 0,
        "final_incumbent_signal": last.incumbent_signal if last else math.nan,
        # the value of the evaluator's report_metric (named in "evaluator" above)
        "report_metric": evaluator.describe().get("report_metric", "reported"),
        "final_incumbent_reported": last.incumbent_reported if last else math.nan,
        "best_reported_seen": float(np.nanmax(df["reported"]))
        if len(df) and df["reported"].notna().any()
        else math.nan,
        "recommendation": space.to_str(rec) if rec is not None else None,
        "workers": s.workers,
        "executor": "ray" if executor is not None else "simulated",
        "elapsed_s": elapsed,
        "start": start,
        "end": datetime.now(UTC).isoformat(),
        "versions": _versions(),
        "plugins": plugin_versions(spec),
        "benchmark_provenance": get_benchmark(spec.benchmark.name).describe(),
        "git_commit": _git_commit(),
        "machine": _machine(),
    }
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return RunOutput(buf.getvalue(), manifest)


def write_run(spec: RunSpec, out_dir: str | Path, output: RunOutput, **extra: Any) -> Path:
    """Write a computed run under ``out_dir`` atomically (by the driver, whatever the engine).

    The manifest records the size and sha256 of ``trials.parquet``, so a later resume can tell
    a finished run from a damaged one.
    """
    root = Path(out_dir)
    final = root / spec.rel_dir
    manifest = {
        **output.manifest,
        **extra,
        "trials_bytes": len(output.trials_parquet),
        "trials_sha256": hashlib.sha256(output.trials_parquet).hexdigest(),
    }
    text = json.dumps(manifest, indent=1, default=str).encode()
    write_dir_atomic(root, final, {"trials.parquet": output.trials_parquet, "run.json": text})
    return final


def write_failure(spec: RunSpec, out_dir: str | Path, error: str, attempts: int) -> Path:
    """Record a run that failed: ``failed.json`` and no ``run.json`` (a later call retries it)."""
    root = Path(out_dir)
    final = root / spec.rel_dir
    info = {
        "config_hash": spec.config_hash(),
        "config": spec.resolved(),
        "error": error,
        "attempts": attempts,
        "time": datetime.now(UTC).isoformat(),
        "git_commit": _git_commit(),
        "machine": _machine(),
    }
    blob = json.dumps(info, indent=1, default=str).encode()
    write_dir_atomic(root, final, {"failed.json": blob})
    return final


def execute_run(spec: RunSpec, out_dir: str) -> dict[str, Any]:
    """Run one search and write it atomically under ``out_dir``; returns its manifest."""
    out = compute_run(spec)
    write_run(spec, out_dir, out)
    return out.manifest


def verify_run_files(run_dir: Path, manifest: Mapping[str, Any]) -> str | None:
    """Why a run directory with a ``run.json`` is not a finished run, or None when it is.

    Checks the trials file against the size and sha256 its manifest recorded (runs written
    before those were recorded: a readable Parquet footer with one row per query).
    """
    fmt = manifest.get("rows_format", 1)
    if fmt != ROWS_FORMAT:
        return (
            f"written by an older nash (trial rows format {fmt}, now {ROWS_FORMAT}: the "
            "reported metric's column was called `test`)"
        )
    tp = run_dir / "trials.parquet"
    if not tp.is_file():
        return "trials.parquet is missing"
    size = tp.stat().st_size
    want_bytes, want_sha = manifest.get("trials_bytes"), manifest.get("trials_sha256")
    if want_bytes is not None and size != want_bytes:
        return f"trials.parquet has {size} bytes, its manifest recorded {want_bytes}"
    if want_sha is not None:
        if hashlib.sha256(tp.read_bytes()).hexdigest() != want_sha:
            return "trials.parquet does not match the sha256 its manifest recorded"
        return None
    try:
        import pyarrow.parquet as pq

        rows = pq.read_metadata(tp).num_rows
    except Exception as e:  # pyarrow raises several kinds on a damaged footer
        return f"trials.parquet is unreadable ({type(e).__name__})"
    if manifest.get("n_queries") is not None and rows != manifest["n_queries"]:
        return f"trials.parquet has {rows} rows, its manifest recorded {manifest['n_queries']}"
    return None


def _run_state(spec: RunSpec, out_dir: Path) -> str:
    """``todo``, ``done``, or ``damaged`` (a run.json whose files do not check: redone)."""
    d = out_dir / spec.rel_dir
    mf = d / "run.json"
    if not mf.is_file():
        return "todo"
    try:
        m = json.loads(mf.read_text())
        got = m.get("config_hash") if isinstance(m, dict) else None
    except (OSError, ValueError):
        return "damaged"
    if got is None:
        return "damaged"
    if got != spec.config_hash():
        was = (m.get("config") or {}).get("plugins", {}) if isinstance(m, dict) else {}
        now = spec.resolved().get("plugins", {})
        what = ""
        if was != now:  # say which plug-in changed: the run is not resumed, it must be redone
            what = f" (plug-in versions changed: {was or 'none'} -> {now or 'none'})"
        raise ConfigError(
            f"{d} holds a run of a different configuration{what} (config hash {got}, now "
            f"{spec.config_hash()}); it is not resumed: use another experiment name or --out, "
            "or remove it to recompute"
        )
    return "damaged" if verify_run_files(d, m) else "done"


def _clean_leftovers(root: Path) -> int:
    return clean_leftovers(root)


def check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe", delete=True)
        probe.close()
    except OSError as e:
        raise NashError(f"output directory {path} is not writable: {e.strerror or e}") from None


def _prepare(exp: Experiment, out_dir: str | Path) -> tuple[Path, list[RunSpec], int]:
    """Check the output, clean killed runs' leftovers, write experiment.json; list todo runs.

    Called with the experiment directory's lock held (see :func:`run_experiments`).
    """
    import sys

    root = Path(out_dir) / exp.name
    _clean_leftovers(root)
    runs = exp.runs()
    states = [_run_state(r, root) for r in runs]
    todo = [r for r, st in zip(runs, states, strict=True) if st != "done"]
    damaged = states.count("damaged")
    if damaged:
        print(
            f"{root}: {damaged} run(s) with a run.json but damaged files are computed again",
            file=sys.stderr,
        )
    text = json.dumps(
        {
            "name": exp.name,
            "description": exp.description,
            "source": exp.source,
            "seeds": list(exp.seeds),
            "root_seed": exp.root_seed,
            "benchmarks": [asdict(b) for b in exp.benchmarks],
            "strategies": [asdict(s) for s in exp.strategies],
            "n_runs": len(runs),
            "versions": _versions(),
            "git_commit": _git_commit(),
        },
        indent=1,
        default=str,
    )
    ej = root / "experiment.json"
    inside(root, ej)
    tmp = root / f".experiment.json.tmp-{os.getpid()}"
    tmp.write_text(text)
    os.replace(tmp, ej)
    return root, todo, len(runs)


@dataclass
class GridResult:
    """What :func:`run_experiments` did: result roots, and the runs that failed."""

    roots: list[Path]
    failed: list[tuple[RunSpec, str]] = field(default_factory=list)


def run_experiments(
    exps: Sequence[Experiment],
    out_dir: str | Path = "reports/runs",
    *,
    workers: int | None = None,
    progress: bool = True,
    on_done: Callable[[RunSpec, dict[str, Any]], None] | None = None,
    priority: Callable[[RunSpec], float] | None = None,
    engine: Engine | None = None,
) -> GridResult:
    """Run the unfinished runs of several experiments on one engine (default: a process pool).

    ``priority`` (larger first) orders submission, e.g. expected run time, so that long runs
    start early and the pool stays busy to the end. Order never changes results: each run's
    random streams depend only on its own (root_seed, seed). The driver writes every result;
    a run that fails is recorded in its ``failed.json`` and the others go on. Each experiment
    directory is locked for the whole call: a second ``nash run`` into it stops with a message
    naming this one.
    """
    roots = [Path(out_dir) / exp.name for exp in exps]
    for r in roots:
        check_writable(r)
    with locked(roots):
        return _run_locked(exps, out_dir, workers, progress, on_done, priority, engine)


def _run_locked(
    exps: Sequence[Experiment],
    out_dir: str | Path,
    workers: int | None,
    progress: bool,
    on_done: Callable[[RunSpec, dict[str, Any]], None] | None,
    priority: Callable[[RunSpec], float] | None,
    engine: Engine | None,
) -> GridResult:
    from harness.runner.engines import LocalEngine

    roots: list[Path] = []
    todo: list[RunSpec] = []
    root_of: dict[str, Path] = {}
    total = 0
    for exp in exps:
        root, t, n = _prepare(exp, out_dir)
        roots.append(root)
        todo += t
        root_of.update({spec.run_id: root for spec in t})
        total += n
    if priority is not None:
        todo.sort(key=lambda sr: -priority(sr))
    engine = engine or LocalEngine(workers)
    result = GridResult(roots)
    bar = _progress(total, total - len(todo), progress)

    def done(outcome: Outcome) -> None:
        spec, root = outcome.spec, root_of[outcome.spec.run_id]
        if outcome.output is None:
            err = outcome.error or "unknown error"
            write_failure(spec, root, err, outcome.attempts)
            result.failed.append((spec, err))
        else:
            write_run(spec, root, outcome.output, attempts=outcome.attempts)
            if on_done:
                on_done(spec, outcome.output.manifest)
        bar.update(1)

    try:
        engine.run(todo, done)
    finally:
        bar.close()
    return result


def run_experiment(
    exp: Experiment,
    out_dir: str | Path = "reports/runs",
    *,
    workers: int | None = None,
    progress: bool = True,
    on_done: Callable[[RunSpec, dict[str, Any]], None] | None = None,
    engine: Engine | None = None,
) -> Path:
    """Run every (benchmark, strategy, seed) of ``exp`` not already finished; return its dir."""
    return run_experiments(
        [exp], out_dir, workers=workers, progress=progress, on_done=on_done, engine=engine
    ).roots[0]


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", desc="runs", smoothing=0.1)


def iter_run_dirs(root: Path) -> Iterable[Path]:
    return sorted(p.parent for p in root.rglob("run.json"))
