"""Multi-objective strategies: the contract kit with objectives, determinism, Pareto selection."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from harness.evaluators.objectives import parse_objective_set, wrap
from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.spaces.nb201 import NB201Space
from harness.strategies import create
from harness.strategies.multi_objective import NSGA2, adapt, rank_and_crowding
from harness.testing.strategies import StrategyContract

MO = {
    "nsga2": {"population_size": 10},
    "mo_rea": {},
    "mo_random_search": {},
    "scalarized": {"inner": "aging_evolution", "method": "chebyshev"},
    "scalarized_ws": {
        "inner": "genetic",
        "method": "weighted_sum",
        "inner_params": {"population_size": 10},
    },
}
SPEC = {
    "objectives": [
        {"metric": "val_acc@200", "direction": "max"},
        {"metric": "hw_pixel3_latency", "direction": "min"},
    ],
}


def _make(name: str, space: Any, seed: Any) -> Any:
    return create(
        "scalarized" if name.startswith("scalarized") else name, space, seed=seed, **MO[name]
    )


@pytest.fixture(params=sorted(MO))
def mo_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestMultiObjectiveContract(StrategyContract):
    """The shipped kit on the signal alone: MO strategies run single-objective too."""

    @pytest.fixture(autouse=True)
    def _pick(self, mo_name: str) -> None:
        self.name = mo_name

    def make_strategy(self, space: Any, seed: Any) -> Any:
        return _make(self.name, space, seed)


def _mo_run(
    name: str, seed: int, budget: int = 80, constraints: list[Any] | None = None
) -> list[Any]:
    space = NB201Space()
    spec = parse_objective_set("b", SPEC | ({"constraints": constraints} if constraints else {}))
    ev = wrap(TabularEvaluator("nb201", "cifar10", space=space), spec, "nb201", "cifar10")
    s = adapt(_make(name, space, np.random.SeedSequence([seed])), ev.resolved)
    return run_search(s, ev, Budget(evaluations=budget)).trials


def test_same_seed_same_trajectory_with_objectives(mo_name: str) -> None:
    a = [(t.arch, t.extras["obj_hw_pixel3_latency"]) for t in _mo_run(mo_name, 1)]
    assert a == [(t.arch, t.extras["obj_hw_pixel3_latency"]) for t in _mo_run(mo_name, 1)]
    assert a != [(t.arch, t.extras["obj_hw_pixel3_latency"]) for t in _mo_run(mo_name, 2)]


def test_no_global_random_state_with_objectives(mo_name: str) -> None:
    np_state = np.random.get_state()[1].copy()  # type: ignore[index]  # noqa: NPY002
    py_state = random.getstate()
    _mo_run(mo_name, 0, constraints=[{"metric": "hw_pixel3_latency", "max": 4.0}])
    assert np.array_equal(np.random.get_state()[1], np_state)  # type: ignore[index]  # noqa: NPY002
    assert random.getstate() == py_state


def _dominated_brute(f: np.ndarray) -> np.ndarray:
    n = len(f)
    return np.array(
        [
            any(np.all(f[j] >= f[i]) and np.any(f[j] > f[i]) for j in range(n) if j != i)
            for i in range(n)
        ]
    )


def test_rank_zero_is_exactly_the_non_dominated_set() -> None:
    rng = np.random.default_rng(0)
    space = NB201Space()
    a = space.sample(rng)
    for _ in range(20):
        f = rng.integers(0, 6, size=(15, 2)).astype(float)  # ties and duplicates on purpose
        obs = [Observation(a, 0.0, objectives=tuple(x)) for x in f]
        rank, crowd = rank_and_crowding(obs)
        assert np.array_equal(rank == 0, ~_dominated_brute(f))
        assert np.all(crowd >= 0)


def test_infeasible_and_failed_rank_behind_every_feasible() -> None:
    a = NB201Space().sample(np.random.default_rng(0))
    obs = [
        Observation(a, 0.0, objectives=(1.0, -9.0)),  # feasible but dominated by the next
        Observation(a, 0.0, objectives=(2.0, -8.0)),
        Observation(a, 0.0, objectives=(99.0, -1.0), violation=0.2),
        Observation(a, 0.0, objectives=(99.0, -1.0), violation=0.1),
        Observation(a, float("nan"), ok=False),
    ]
    rank, _ = rank_and_crowding(obs)
    assert list(rank) == [1, 0, 3, 2, 4]


def test_mo_rea_tournament_prefers_the_front() -> None:
    space = NB201Space()
    s = create("mo_rea", space, seed=0, population_size=5, sample_size=5, sample_replace=False)
    archs = [s.ask() for _ in range(5)]
    for i, a in enumerate(archs):  # only archs[3] is non-dominated
        s.tell(Observation(a, 0.0, objectives=(float(i == 3) + i / 10, -float(i != 3))))
    for _ in range(5):
        assert s._select_parent().arch == archs[3]


def test_nsga2_runs_pymoo_generations_and_improves_the_front() -> None:
    from analysis.pareto import ObjectiveBox, hypervolume

    space = NB201Space()
    spec = parse_objective_set("b", SPEC)
    ev = wrap(TabularEvaluator("nb201", "cifar10", space=space), spec, "nb201", "cifar10")
    s = adapt(NSGA2(space, seed=0, population_size=20), ev.resolved)
    res = run_search(s, ev, Budget(evaluations=300))
    assert s.generations >= 10
    r = ev.resolved
    box = ObjectiveBox(r.spec.metrics, r.spec.directions, r.ideal, r.reference_point)

    def hv(trials: list[Any]) -> float:
        f = np.array(
            [[t.extras["obj_val_acc@200"], t.extras["obj_hw_pixel3_latency"]] for t in trials]
        )
        return hypervolume(f, box)

    first = [t for t in res.trials[:20]]
    assert hv(res.trials) > hv(first)
    assert isinstance(s.recommend(), type(space.sample(np.random.default_rng(0))))


def test_nsga2_refuses_bad_parameters() -> None:
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="population_size"):
        NSGA2(NB201Space(), population_size=1)
    with pytest.raises(ConfigError, match="crossover_prob"):
        NSGA2(NB201Space(), crossover_prob=2.0)
