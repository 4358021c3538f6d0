"""Computing one run: build its components, search, and its rows and manifest (provenance).

Nothing here writes a file: a run may be computed anywhere (this process, a pool worker, a Ray
task) and the driver writes it (:mod:`harness.runner.storage`), so every engine resumes alike.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.benchmarks import get_benchmark
from harness.runner.components import build_run, plugin_versions, simulated
from harness.runner.loop import ROWS_FORMAT, run_search

if TYPE_CHECKING:
    from harness.runner.config import RunSpec


def versions() -> dict[str, str]:
    """Versions of Python and the main packages (a copy: callers may extend it)."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    # once per process: reading package metadata is most of a cheap run's set-up cost, and the
    # packages a process has imported do not change under it
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("nasbench-harness", "numpy", "pandas", "pyarrow", "scipy", "torch", "xgboost"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


@functools.cache
def git_commit() -> str | None:
    """The commit of the code this process runs (read once: a process runs the code it loaded)."""
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


def machine() -> dict[str, Any]:
    return dict(_machine())


@functools.cache
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
        "best_reported_seen": _nanmax(result.trials.column("reported")),
        "recommendation": space.to_str(rec) if rec is not None else None,
        "workers": s.workers,
        "executor": "ray" if executor is not None else "simulated",
        "elapsed_s": elapsed,
        "start": start,
        "end": datetime.now(UTC).isoformat(),
        "versions": versions(),
        "plugins": plugin_versions(spec),
        "benchmark_provenance": get_benchmark(spec.benchmark.name).describe(),
        "git_commit": git_commit(),
        "machine": machine(),
    }
    # the identity columns first, then the rows
    return RunOutput(result.trials.to_parquet(ident), manifest)


def _nanmax(values: list[Any]) -> float:
    """The largest non-NaN value (NaN when there is none), as ``np.nanmax`` without the warning."""
    a = np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)
    return float(np.nanmax(a)) if a.size and not np.isnan(a).all() else math.nan
