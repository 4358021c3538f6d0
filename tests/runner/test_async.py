"""Asynchronous search with W workers, simulated on NB101's recorded training times."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import strategies
from harness.errors import ConfigError
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment
from harness.runner.loop import Budget, run_search
from harness.spaces.nb101_pool import NB101PoolSpace


@pytest.fixture(scope="module")
def nb101() -> tuple[NB101PoolSpace, TabularEvaluator]:
    space = NB101PoolSpace()
    return space, TabularEvaluator("nb101-30k", "cifar10", space=space)


def _run(nb101, name: str, workers: int, seed: int = 0, n: int = 200, **params):
    space, ev = nb101
    strat = strategies.create(name, space, seed=np.random.SeedSequence([7, seed]), **params)
    res = run_search(strat, ev, Budget(evaluations=n), seed=seed, workers=workers)
    return pd.DataFrame([t.to_row() for t in res.trials])


@pytest.mark.parametrize("workers", [1, 4, 16])
def test_simulated_schedule_is_list_scheduling_on_recorded_times(nb101, workers):
    df = _run(nb101, "aging_evolution_nb101", workers, population_size=20, sample_size=5)
    ev = df[df.worker >= 0]
    # every worker starts its next evaluation the moment it finishes one: per worker, the clock
    # advances by exactly the recorded training time of each evaluation it ran
    assert set(ev.worker) == set(range(workers))
    for _, g in ev.groupby("worker"):
        starts = np.concatenate([[0.0], g.clock_s.to_numpy()[:-1]])
        np.testing.assert_allclose(g.clock_s.to_numpy() - starts, g.train_s.to_numpy())
    # results arrive in clock order; the budget is exact
    assert df.clock_s.is_monotonic_increasing
    assert df.cum_evals.iloc[-1] == 200
    total = ev.train_s.sum()
    makespan = df.clock_s.iloc[-1]
    if workers == 1:
        assert makespan == pytest.approx(total)
    else:  # the list-scheduling bound, and a real speed-up
        assert makespan <= total / workers + ev.train_s.max() + 1e-6
        assert makespan < total / 2


def test_async_runs_are_deterministic_and_differ_from_sequential(nb101):
    a = _run(nb101, "aging_evolution_nb101", 8, seed=3, population_size=20, sample_size=5)
    b = _run(nb101, "aging_evolution_nb101", 8, seed=3, population_size=20, sample_size=5)
    cols = [c for c in a.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    seq = _run(nb101, "aging_evolution_nb101", 1, seed=3, population_size=20, sample_size=5)
    # the initial random population is the same cells (all evaluated, in another order); what
    # the strategy learns, and when, differs
    assert set(seq.arch_key[:20]) <= set(a.arch_key)
    assert list(a.arch_key) != list(seq.arch_key)


def test_a_tournament_larger_than_the_told_population_draws_from_those_present(nb101):
    """Sampling without replacement, S = P = 10, 4 workers: the first child is asked when only
    7 of the 10 initial cells are told (it raised ValueError before)."""
    a = _run(nb101, "aging_evolution_nb101", 4, seed=0, population_size=10, sample_size=10)
    b = _run(nb101, "aging_evolution_nb101", 4, seed=0, population_size=10, sample_size=10)
    assert len(a) >= 60 and a["arch_key"].tolist() == b["arch_key"].tolist()


def test_random_search_with_workers_evaluates_the_same_cells(nb101):
    a = _run(nb101, "random_search", 1, n=60)
    b = _run(nb101, "random_search", 6, n=60)
    # random search ignores results: only the completion order changes
    assert sorted(a.arch_key) == sorted(b.arch_key)
    assert b.clock_s.iloc[-1] < a.clock_s.iloc[-1]


def test_synchronous_strategies_refuse_workers(nb101):
    space, ev = nb101
    ga = strategies.create("genetic", space, seed=0, population_size=10)
    with pytest.raises(ConfigError, match=r"cannot use 4 asynchronous workers.*aging_evolution"):
        run_search(ga, ev, Budget(evaluations=20), workers=4)


def test_benchmark_without_training_times_refuses_simulated_workers():
    from harness.spaces.nb201 import NB201Space

    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    rs = strategies.create("random_search", space, seed=0)
    with pytest.raises(ConfigError, match=r"recorded training times.*nb201"):
        run_search(rs, ev, Budget(evaluations=20), workers=2)


BASE = {
    "name": "async",
    "seeds": 2,
    "budget": {"evaluations": 120},
    "benchmark": [{"name": "nb101-30k"}],
    "strategy": [
        {"name": "aging_evolution_nb101", "label": "ae_w1", "params": {"population_size": 20}},
        {
            "name": "aging_evolution_nb101",
            "label": "ae_w8",
            "workers": 8,
            "params": {"population_size": 20},
        },
    ],
}


def test_experiment_files_take_workers_and_keep_older_identities(tmp_path):
    exp = parse_experiment(BASE)
    w1, w8 = exp.strategies
    assert (w1.workers, w8.workers) == (1, 8)
    # workers = 1 is not part of a run's identity: runs made before the option keep resuming
    assert "workers" not in exp.runs()[0].resolved()["strategy"]
    assert exp.runs()[-1].resolved()["strategy"]["workers"] == 8
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    df = pd.concat(pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet")))
    end = df.groupby(["strategy_label", "seed"]).clock_s.max().unstack()
    assert (end.loc["ae_w8"] < end.loc["ae_w1"] / 3).all()
    assert math.isclose(df[df.strategy_label == "ae_w8"].worker.max(), 7)
    # the report plots the incumbent against the evaluation clock for asynchronous runs
    from analysis.load import load_runs
    from analysis.report import build_report

    rs = load_runs([root])
    assert rs.trials.groupby("run_id").clock_s.max().notna().all()
    report = build_report([root], tmp_path / "report")
    assert (tmp_path / "report" / "anytime_clock_s.png").exists() or any(
        (tmp_path / "report").rglob("anytime_clock_s*")
    )
    assert "evaluation clock" in Path(report).read_text()


@pytest.mark.parametrize(
    ("patch", "match"),
    [
        ({"name": "genetic", "workers": 4}, "needs each result before its next proposal"),
        ({"name": "random_search", "workers": 0}, "workers must be a positive integer"),
        ({"name": "random_search", "gpus_per_eval": -1}, "gpus_per_eval must be a number >= 0"),
    ],
)
def test_bad_worker_settings_are_config_errors(patch, match):
    raw = {**BASE, "strategy": [patch]}
    with pytest.raises(ConfigError, match=match):
        parse_experiment(raw)


def test_nb201_with_workers_is_refused_at_parse_time():
    raw = {
        **BASE,
        "benchmark": [{"name": "nb201"}],
        "strategy": [{"name": "random_search", "workers": 2}],
    }
    with pytest.raises(ConfigError, match="recorded training times"):
        parse_experiment(raw)


def _children(pid: int) -> list[int]:
    from pathlib import Path

    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


SLOW_LOCAL = {
    "name": "slow",
    "seeds": 3,
    "budget": {"queries": 30},
    "benchmark": [
        {
            "name": "nb201",
            "evaluator": "naswot",
            "evaluator_params": {"cache": "off", "batch_size": 16, "num_threads": 1},
        }
    ],
    "strategy": [{"name": "random_search"}],
}


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="needs /proc")
def test_local_pool_retries_runs_of_a_killed_worker(tmp_path):
    import json
    import os
    import signal
    import threading
    import time

    from harness.runner.engines import LocalEngine
    from harness.runner.experiment import run_experiments

    exp = parse_experiment(SLOW_LOCAL)
    before = set(_children(os.getpid()))
    box: dict[str, object] = {}
    th = threading.Thread(
        target=lambda: box.update(
            grid=run_experiments([exp], tmp_path, progress=False, engine=LocalEngine(2))
        )
    )
    th.start()
    t0 = time.time()
    while not set(_children(os.getpid())) - before and time.time() - t0 < 60:
        time.sleep(0.05)
    time.sleep(0.5)
    victim = min(set(_children(os.getpid())) - before)  # a pool worker, busy with a run
    os.kill(victim, signal.SIGKILL)
    th.join(timeout=600)
    grid = box["grid"]
    assert not grid.failed  # every run was retried in a fresh pool and finished
    attempts = [json.loads(p.read_text())["attempts"] for p in tmp_path.rglob("run.json")]
    assert len(attempts) == 3 and max(attempts) == 2
