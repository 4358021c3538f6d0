from __future__ import annotations

import numpy as np
import pytest

from harness.benchmarks import nb101 as t101
from harness.errors import NotInBenchmark
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.loop import Budget, run_search
from harness.spaces.nb101 import NB101Space
from harness.spaces.nb101_pool import NB101PoolSpace
from harness.strategies import create


@pytest.fixture(scope="module")
def pool() -> NB101PoolSpace:
    return NB101PoolSpace()


def test_pool_is_the_shipped_sample(pool):
    table = t101.load()
    assert pool.size() == len(table) == 30001
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = pool.sample(rng)
        assert pool.contains(c)
        assert pool.canonical(c) in table  # the official hash joins the data


def test_operators_stay_in_the_pool(pool):
    rng = np.random.default_rng(1)
    for _ in range(30):
        a, b = pool.sample(rng), pool.sample(rng)
        m = pool.mutate(a, rng)
        assert pool.contains(m)
        assert pool.contains(pool.crossover(a, b, rng))
        for nb in pool.neighbours(a):
            assert pool.contains(nb) and pool.canonical(nb) != pool.canonical(a)


def test_membership_key_agrees_with_the_official_hash(pool):
    table = t101.load()
    rng = np.random.default_rng(2)
    full = NB101Space()
    for _ in range(300):
        c = full.sample(rng)
        assert pool.contains(c) == (full.canonical(c) in table)


def test_searches_run_on_the_pool_and_cells_outside_are_refused(pool):
    ev = TabularEvaluator("nb101-30k", "cifar10", space=pool)
    res = run_search(create("aging_evolution_nb101", pool, seed=0), ev, Budget(evaluations=120))
    assert res.trials[-1].cum_evals == 120
    # NB101 ships no test accuracy: the reported metric is the 108-epoch validation accuracy
    assert ev.describe()["report_metric"] == "val_acc@108"
    last = res.trials[-1]
    assert last.reported == last.val and np.isfinite(last.reported)
    assert last.incumbent_reported == res.trials[last.incumbent_step].val
    assert res.trials[-1].train_s > 0  # recorded 108-epoch training time
    outside = None
    rng = np.random.default_rng(3)
    full = NB101Space()
    while outside is None:
        c = full.sample(rng)
        if not pool.contains(c):
            outside = c
    with pytest.raises(NotInBenchmark, match="30,001"):
        TabularEvaluator("nb101-30k", "cifar10").evaluate(outside)


def test_seconds_budget_on_nb101(pool):
    ev = TabularEvaluator("nb101-30k", "cifar10", space=pool)
    res = run_search(create("random_search", pool, seed=0), ev, Budget(train_s=50_000))
    assert res.stopped_by == "train_s"
    assert res.trials[-1].cum_train_s >= 50_000 > res.trials[-2].cum_train_s
