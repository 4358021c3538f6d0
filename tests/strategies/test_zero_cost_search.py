"""NASWOT search: N asks, then finished; recommends the best score; runs through run_search."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness import strategies
from harness.errors import ConfigError
from harness.evaluators.tabular import TabularEvaluator
from harness.evaluators.zero_cost import ScoreTable, ZeroCostEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.spaces import nb201
from harness.strategies.zero_cost import NaswotSearch


def test_registered_with_paper_default() -> None:
    s = strategies.create("naswot_search", nb201.NB201Space(), seed=0)
    assert isinstance(s, NaswotSearch) and s.n_samples == 100
    assert strategies.create("naswot_search", nb201.NB201Space(), n_samples=10).n_samples == 10


def test_finished_after_n_asks_and_recommends_best() -> None:
    s = NaswotSearch(nb201.NB201Space(), seed=0, n_samples=10)
    scores = []
    for i in range(10):
        assert not s.finished
        a = s.ask()
        scores.append((a, float((i * 7) % 10)))
        s.tell(Observation(a, scores[-1][1]))
    assert s.finished
    assert s.recommend() == max(scores, key=lambda t: t[1])[0]


def test_failed_scores_are_never_recommended() -> None:
    s = NaswotSearch(nb201.NB201Space(), seed=0, n_samples=3)
    a, b, c = s.ask(), s.ask(), s.ask()
    s.tell(Observation(a, -math.inf, ok=False))
    s.tell(Observation(b, 5.0))
    s.tell(Observation(c, math.nan, ok=False))
    assert s.recommend() == b


def test_dedup_proposes_distinct_classes() -> None:
    space = nb201.NB201Space()
    s = NaswotSearch(space, seed=1, n_samples=200, dedup=True)
    keys = [space.canonical(s.ask()) for _ in range(200)]
    assert len(set(keys)) == 200
    with pytest.raises(ConfigError):
        NaswotSearch(space, n_samples=20_000, dedup=True)
    with pytest.raises(ConfigError):
        NaswotSearch(space, n_samples=0)


def test_run_search_with_the_tabular_nwot_column() -> None:
    space = nb201.NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", signal="zc_nwot")
    res = run_search(NaswotSearch(space, seed=3, n_samples=100), ev, Budget(queries=10_000))
    assert res.stopped_by == "strategy finished" and len(res.trials) == 100
    ok = [t for t in res.trials if t.status == "ok"]
    best = max(ok, key=lambda t: t.signal)
    assert space.to_str(res.recommendation) == best.arch
    assert all(t.charged_full == 0 for t in res.trials)  # proxies charge no training


def test_run_search_with_the_zero_cost_evaluator(tmp_path) -> None:
    """Through the real evaluator, served from a score table (no network is built)."""
    space = nb201.NB201Space()
    rng = np.random.default_rng(0)
    table = ScoreTable(tmp_path / "t.csv", {"images": "cifar10", "batch_size": 128, "seed": 0})
    for i in range(nb201.N_CELLS):
        table.rows[i] = (0, float(rng.normal()), 0.5, "ok")
    ev = ZeroCostEvaluator(table=table)
    res = run_search(NaswotSearch(space, seed=0, n_samples=10), ev, Budget(queries=1000))
    assert len(res.trials) == 10 and ev.n_computed == 0
    # the recorded scoring seconds are charged; reading them cost this machine nothing
    assert res.trials[-1].cum_score_s == pytest.approx(0.5 * res.trials[-1].cum_distinct)
    assert res.trials[-1].cum_measured_s == 0.0
    scores = {t.arch: t.signal for t in res.trials}
    assert scores[space.to_str(res.recommendation)] == max(scores.values())
