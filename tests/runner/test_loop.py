from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.spaces.nb201 import NB201Space
from harness.strategies import GeneticAlgorithm, RandomSearch
from harness.strategies._base import Strategy


class Spy(Strategy):
    """Proposes from a fixed list and records what it is told (a mechanism test)."""

    def __init__(self, space, archs):
        super().__init__(space, seed=0)
        self.archs, self.i, self.told = list(archs), 0, []

    def ask(self):
        a = self.archs[self.i % len(self.archs)]
        self.i += 1
        return a

    def _tell(self, obs):
        self.told.append(obs)


def test_strategies_are_told_observations_without_test():
    space = NB201Space()
    spy = Spy(space, [(3, 3, 3, 1, 3, 2)])
    run_search(spy, TabularEvaluator("nb201", "cifar10"), Budget(queries=3))
    assert all(type(o) is Observation for o in spy.told)
    assert not hasattr(spy.told[0], "test")


def test_repeats_are_free_by_default_and_charged_on_request(tables):
    space = NB201Space()
    archs = [(3, 3, 3, 1, 3, 2), (0, 0, 0, 0, 0, 0), (3, 3, 3, 1, 3, 2)]
    free = run_search(Spy(space, archs), TabularEvaluator("nb201", "cifar10"), Budget(queries=6))
    assert [t.repeat for t in free.trials] == [False, False, True, True, True, True]
    assert [t.cum_evals for t in free.trials] == [1, 2, 2, 2, 2, 2]
    assert free.trials[-1].cum_distinct == 2
    charged = run_search(
        Spy(space, archs),
        TabularEvaluator("nb201", "cifar10"),
        Budget(queries=6),
        count_repeats=True,
    )
    assert [t.cum_evals for t in charged.trials] == [1, 2, 3, 4, 5, 6]
    assert charged.trials[-1].cum_distinct == 2


def test_isomorphic_cells_are_repeats():
    space = NB201Space()
    a = (1, 0, 0, 0, 3, 0)  # skip then conv3x3 into the output
    b = (1, 0, 0, 3, 0, 0)  # conv3x3 directly: the same network
    assert space.canonical(a) == space.canonical(b)
    res = run_search(Spy(space, [a, b]), TabularEvaluator("nb201", "cifar10"), Budget(queries=2))
    assert [t.repeat for t in res.trials] == [False, True]


def test_incumbent_is_best_signal_and_reports_its_test(tables):
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10")
    res = run_search(RandomSearch(space, seed=0), ev, Budget(evaluations=50))
    best = max(res.trials, key=lambda t: t.signal)
    assert res.trials[-1].incumbent_signal == best.signal
    assert res.trials[-1].incumbent_reported == best.reported
    assert res.trials[-1].cum_evals == 50
    assert res.stopped_by == "evaluations"


def test_distinct_budget_and_query_cap():
    space = NB201Space(mutation="per_edge")
    ga = GeneticAlgorithm(space, seed=0, population_size=10)
    res = run_search(ga, TabularEvaluator("nb201", "cifar10"), Budget(distinct=30))
    assert res.trials[-1].cum_distinct == 30 and res.stopped_by == "distinct"
    capped = run_search(
        GeneticAlgorithm(space, seed=0, population_size=10),
        TabularEvaluator("nb201", "cifar10"),
        Budget(evaluations=10_000, queries=200),
    )
    assert len(capped.trials) == 200 and capped.stopped_by == "queries"


def test_strategy_finishing_stops_the_run():
    space = NB201Space(mutation="per_edge")
    ga = GeneticAlgorithm(space, seed=0, population_size=10, n_generations=2)
    res = run_search(ga, TabularEvaluator("nb201", "cifar10"), Budget(evaluations=10_000))
    assert len(res.trials) == 30 and res.stopped_by == "strategy finished"


def test_seconds_budget_refused_without_recorded_times():
    with pytest.raises(ConfigError, match="recorded training times"):
        run_search(
            RandomSearch(NB201Space(), seed=0),
            TabularEvaluator("nb201", "cifar10"),
            Budget(train_s=1e5),
        )


@pytest.mark.parametrize("kw", [{}, {"evaluations": -1}, {"evaluations": 0}, {"wall_s": "x"}])
def test_bad_budgets(kw):
    with pytest.raises(ConfigError):
        Budget(**kw)


def test_failed_evaluations_are_recorded_and_the_search_goes_on():
    class Flaky(TabularEvaluator):
        def evaluate(self, arch, *, fidelity=None, seed=0):
            if arch[0] == 0:
                raise RuntimeError("CUDA out of memory (simulated by this test's evaluator)")
            return super().evaluate(arch, fidelity=fidelity, seed=seed)

    res = run_search(
        RandomSearch(NB201Space(), seed=0), Flaky("nb201", "cifar10"), Budget(queries=100)
    )
    failed = [t for t in res.trials if t.status == "failed"]
    assert failed and "out of memory" in failed[0].reason
    assert math.isnan(failed[0].signal)
    assert len(res.trials) == 100
    assert np.isfinite(res.trials[-1].incumbent_signal)


def test_query_seeds_with_noise_model_make_repeats_differ():
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", noise_sigma=0.34)
    a = (3, 3, 3, 1, 3, 2)
    res = run_search(Spy(space, [a]), ev, Budget(queries=30), query_seeds=3)
    assert {t.eval_seed for t in res.trials} == {0, 1, 2}
    assert len({t.signal for t in res.trials}) == 3
    assert res.trials[-1].cum_evals == 3  # three trainings (one per seed), the rest cached


def test_proxy_search_pays_one_training_for_its_answer(tables):
    from harness.spaces import nb201

    space = NB201Space()
    proxy = TabularEvaluator("nb201", "cifar10", signal="zc_nwot")
    full = TabularEvaluator("nb201", "cifar10")
    res = run_search(RandomSearch(space, seed=0), proxy, Budget(queries=50), final_evaluator=full)
    search, final = res.trials[:-1], res.trials[-1]
    assert all(t.phase == "search" and t.charged_full == 0 for t in search)
    assert final.phase == "final" and final.charged_full == 1 and final.cum_evals == 1
    best = max((t for t in search if t.status == "ok"), key=lambda t: t.signal)
    assert final.arch_key == best.arch_key
    idx = nb201.index_of(nb201.str_to_arch(final.cell))
    assert final.reported == tables.value("cifar10", "test_acc@200", idx)
    assert final.signal == tables.value("cifar10", "val_acc@200", idx)
