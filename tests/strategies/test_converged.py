"""Converged searches: ``reject_known`` for the evolutions, ``stopped_by`` in reports."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from harness import strategies
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment
from harness.runner.loop import Budget, run_search
from harness.spaces.nb201 import NB201Space

SPACE = NB201Space()


def _run(name: str, seed: Any, budget: Budget, **kw: Any) -> Any:
    ev = TabularEvaluator("nb201", "cifar10", space=SPACE)
    return run_search(strategies.create(name, SPACE, seed=seed, **kw), ev, budget)


@pytest.mark.parametrize(
    ("name", "kw", "digest", "n"),
    [
        ("aging_evolution", {}, "5f12ccf443f778d9", 125),
        ("genetic", {"population_size": 10, "crossover_rate": 0.5}, "36f731be7dce4c93", 111),
    ],
)
def test_reject_known_off_keeps_the_original_trajectory(
    name: str, kw: dict[str, Any], digest: str, n: int
) -> None:
    """Golden trajectories recorded before the option existed (same rows, draw for draw)."""
    for extra in ({}, {"reject_known": False}):
        r = _run(name, np.random.SeedSequence([0]), Budget(evaluations=100), **kw, **extra)
        text = "\n".join(t.arch for t in r.trials)
        assert (hashlib.sha256(text.encode()).hexdigest()[:16], len(r.trials)) == (digest, n)


@pytest.mark.parametrize(
    ("name", "kw"),
    [("aging_evolution", {}), ("genetic", {"population_size": 10})],
)
def test_reject_known_spends_the_budget_on_new_cells(name: str, kw: dict[str, Any]) -> None:
    budget = Budget(evaluations=150, queries=180)
    plain = _run(name, 0, budget, **kw)
    assert plain.stopped_by == "queries"  # converged: only known cells, the query cap ends it
    assert plain.trials[-1].cum_evals < 150
    new = _run(name, 0, budget, reject_known=True, **kw)
    assert new.stopped_by == "evaluations"
    assert not any(t.repeat for t in new.trials)
    assert new.trials[-1].cum_distinct == 150


def test_stopped_by_in_reports_with_a_warning_when_reasons_differ(tmp_path: Any) -> None:
    from analysis import load as L
    from analysis.report import stopped_by_table

    exp = parse_experiment(
        {
            "name": "conv",
            "seeds": 2,
            "budget": {"evaluations": 150, "queries": 180},
            "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
            "strategy": [
                {"name": "aging_evolution"},
                {
                    "name": "aging_evolution",
                    "label": "ae_reject_known",
                    "params": {"reject_known": True},
                },
            ],
        }
    )
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    table, warn = stopped_by_table(L.load_runs(root).runs)
    got = dict(zip(table["strategy"], table["stopped_by"], strict=True))
    assert got == {"aging_evolution": "queries (2)", "ae_reject_known": "evaluations (2)"}
    assert len(warn) == 1 and "stopped for different reasons (evaluations, queries)" in warn[0]
    same, none = stopped_by_table(
        L.load_runs(root).runs.query("strategy_label == 'ae_reject_known'")
    )
    assert none == [] and len(same) == 1
