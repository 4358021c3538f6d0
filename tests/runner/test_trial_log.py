"""The columnar trial log stores exactly what a frame of ``Trial.to_row`` dicts stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness import strategies
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.loop import ROW_FIELDS, Budget, Trial, run_search
from harness.spaces import make_space


def _run(name: str, space_name: str, bench: str, fidelity: int | None, **kw: object):
    space = make_space(space_name, None)
    ev = TabularEvaluator(bench, "cifar10", space=space, fidelity=fidelity)
    s = strategies.create(name, space, seed=np.random.SeedSequence([3]))
    return run_search(s, ev, Budget(evaluations=60), seed=3, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "space", "bench", "fidelity", "kw"),
    [
        ("genetic_study", "nb201-study-genome", "nb201", 200, {"count_repeats": True}),
        ("aging_evolution", "nb201", "nb201", None, {"query_seeds": 3}),
        ("hyperband", "nb201", "nb201", 200, {}),  # fidelities and x_ extras columns
        ("aging_evolution_nb101", "nb101-30k-pool", "nb101-30k", 108, {"workers": 4}),
    ],
)
def test_frame_equals_rows_of_trials(name, space, bench, fidelity, kw) -> None:
    res = _run(name, space, bench, fidelity, **kw)
    by_rows = pd.DataFrame([t.to_row() for t in res.trials])
    pd.testing.assert_frame_equal(res.trials.to_frame(), by_rows, check_exact=True)
    assert list(by_rows.columns[: len(ROW_FIELDS)]) == list(ROW_FIELDS)
    # the row tuple is in field order: the step/query counters and costs line up
    assert [t.step for t in res.trials] == list(range(len(res.trials)))
    assert all(t.cum_queries == t.step + 1 for t in res.trials)
    assert res.trials.column("cum_cost") == [t.cum_cost for t in res.trials]


def test_log_reads_like_a_list_of_trials() -> None:
    seen: list[Trial] = []
    space = make_space("nb201", None)
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = strategies.create("random_search", space, seed=1)
    res = run_search(s, ev, Budget(evaluations=20), on_trial=seen.append)
    assert seen == list(res.trials) == res.trials[:]
    assert res.trials[-1] == seen[-1] and res.final == seen[-1]
    assert res.trials[-1].cum_evals == 20
    with pytest.raises(IndexError):
        res.trials[len(res.trials)]


@pytest.mark.parametrize(
    ("name", "space", "params", "budget", "kw"),
    [
        # a budget that ends mid-generation, with repeats charged and free
        (
            "genetic_study",
            "nb201-study-genome",
            {},
            Budget(evaluations=250),
            {"count_repeats": True},
        ),
        ("genetic", "nb201", {"population_size": 20}, Budget(evaluations=130), {}),
        (
            "genetic",
            "nb201",
            {"reject_known": True, "population_size": 20},
            Budget(distinct=77),
            {},
        ),
        ("random_search", "nb201", {}, Budget(evaluations=300), {"query_seeds": 3}),
        ("random_search", "nb201", {"dedup": True}, Budget(queries=600), {}),
    ],
)
def test_batched_asks_give_the_sequential_rows(name, space, params, budget, kw) -> None:
    frames = []
    for batched in (True, False):
        sp = make_space(space, None)
        ev = TabularEvaluator("nb201", "cifar10", space=sp, fidelity=200)
        s = strategies.create(name, sp, seed=np.random.SeedSequence([5]), **params)
        assert s.batched
        s.batched = batched  # type: ignore[misc]
        res = run_search(s, ev, budget, seed=5, **kw)
        frames.append((res.trials.to_frame().drop(columns=["wall_s"]), res.stopped_by))
    pd.testing.assert_frame_equal(frames[0][0], frames[1][0], check_exact=True)
    assert frames[0][1] == frames[1][1]
