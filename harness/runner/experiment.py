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

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.runner.compute import compute_run, git_commit, versions
from harness.runner.config import Experiment, RunSpec
from harness.runner.engines import Engine, LocalEngine, Outcome, interrupt_on_sigterm
from harness.runner.fsafe import clean_leftovers, inside, locked
from harness.runner.storage import check_writable, run_state, write_failure, write_run


def execute_run(spec: RunSpec, out_dir: str) -> dict[str, Any]:
    """Run one search and write it atomically under ``out_dir``; returns its manifest."""
    out = compute_run(spec)
    write_run(spec, out_dir, out)
    return out.manifest


def _prepare(exp: Experiment, out_dir: str | Path) -> tuple[Path, list[RunSpec], int]:
    """Check the output, clean killed runs' leftovers, write experiment.json; list todo runs.

    Called with the experiment directory's lock held (see :func:`run_experiments`).
    """
    import sys

    root = Path(out_dir) / exp.name
    clean_leftovers(root)
    runs = exp.runs()
    states = [run_state(r, root) for r in runs]
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
            "versions": versions(),
            "git_commit": git_commit(),
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
        with interrupt_on_sigterm():  # SIGTERM stops every engine as Ctrl-C does
            engine.run(todo, compute_run, done)
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
