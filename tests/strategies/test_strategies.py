from __future__ import annotations

import numpy as np
import pytest

from harness import strategies
from harness.errors import ConfigError, UnknownName
from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.spaces import nb201
from harness.spaces.nb201 import NB201Space
from harness.strategies import AgingEvolution, GeneticAlgorithm, LocalSearch, RandomSearch


def test_random_search_dedup_never_repeats_a_class():
    s = RandomSearch(NB201Space(), seed=0, dedup=True)
    keys = [s.space.canonical(s.ask()) for _ in range(3000)]
    assert len(set(keys)) == 3000


def test_aging_evolution_population_is_a_queue_of_the_newest():
    space = NB201Space()
    s = AgingEvolution(space, seed=0, population_size=4, sample_size=2)
    for i in range(10):
        a = s.ask()
        s.tell(Observation(a, float(i)))
    assert [o.signal for o in s._population] == [6.0, 7.0, 8.0, 9.0]


def test_aging_evolution_children_are_one_mutation_from_a_population_member():
    space = NB201Space()
    s = AgingEvolution(space, seed=1, population_size=5, sample_size=3)
    for _ in range(5):
        a = s.ask()
        s.tell(Observation(a, float(nb201.code_of(a) % 97)))
    for _ in range(30):
        parents = {o.arch for o in s._population}
        child = s.ask()
        assert any(child in space.neighbours(p) for p in parents)
        s.tell(Observation(child, float(nb201.code_of(child) % 97)))


def test_genetic_is_generational_with_tournament_parents():
    space = NB201Space(mutation="per_edge")
    s = GeneticAlgorithm(space, seed=0, population_size=10, tournament_frac=0.2, n_generations=3)
    asked = 0
    while not s.finished:
        a = s.ask()
        asked += 1
        s.tell(Observation(a, float(sum(a))))
    assert asked == 10 * 4  # initial population + 3 generations
    assert s.generation == 4


def test_genetic_tournament_prefers_fitter_parents():
    # k = P drawn without replacement: every tournament returns the best; one-edge mutation
    # then gives one of its neighbours
    space = NB201Space()
    s = GeneticAlgorithm(
        space, seed=0, population_size=10, tournament_frac=1.0, tournament_replace=False
    )
    pop = [space.sample(np.random.default_rng(i)) for i in range(10)]
    for a in pop:
        s.ask()
        s.tell(Observation(a, float(nb201.code_of(a))))
    best = max(pop, key=nb201.code_of)
    for _ in range(10):
        assert s.ask() in space.neighbours(best)


def test_elitism_keeps_the_best():
    space = NB201Space()
    s = GeneticAlgorithm(space, seed=0, population_size=6, elitism=1)
    for i in range(6):
        s.tell(Observation(s.ask(), 100.0 if i == 2 else 1.0))
    for _ in range(5):
        s.tell(Observation(s.ask(), 0.0))
    assert max(o.signal for o in s._population) == 100.0


def test_local_search_climbs_and_restarts():
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = LocalSearch(space, seed=0)
    res = run_search(s, ev, Budget(evaluations=400))
    assert s.restarts >= 1
    assert res.trials[-1].incumbent_signal > 91.0


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("aging_evolution", {"population_size": 0}, "population_size"),
        ("aging_evolution", {"population_size": 20000}, "larger than the search space"),
        (
            "aging_evolution",
            {"population_size": 5, "sample_size": 6, "sample_replace": False},
            "sample_size",
        ),
        ("genetic", {"tournament_frac": 1.5}, "tournament_frac"),
        ("genetic", {"elitism": 100}, "elitism"),
        ("genetic", {"populaton_size": 10}, "no parameter 'populaton_size'"),
    ],
)
def test_impossible_parameters(name, params, match):
    with pytest.raises(ConfigError, match=match):
        strategies.create(name, NB201Space(), seed=0, **params)


def test_unknown_strategy_suggests():
    with pytest.raises(UnknownName, match="did you mean 'aging_evolution'"):
        strategies.create("aging_evolutoin", NB201Space())


def test_import_path_strategy():
    s = strategies.create("harness.strategies.random_search:RandomSearch", NB201Space(), seed=0)
    assert isinstance(s, RandomSearch)


def test_reinforce_policy_moves_towards_better_cells(tables):
    from harness.strategies import Reinforce

    space = NB201Space()
    s = Reinforce(space, seed=0, learning_rate=0.05)
    col = tables.column("cifar10", "val_acc@200")
    first, last = [], []
    for i in range(1500):
        a = s.ask()
        r = float(col[nb201.index_of(a)])
        (first if i < 200 else last).append(r)
        s.tell(Observation(a, r))
    assert np.mean(last[-200:]) > np.mean(first) + 3.0


def test_reinforce_needs_a_categorical_genome():
    from harness.strategies import Reinforce

    class NoGenes(NB201Space):
        gene_shape = None

    with pytest.raises(ConfigError, match="categorical genome"):
        Reinforce(NoGenes(), seed=0)
