"""Many runs per worker process: built parts reused, runs sent in chunks, rows unchanged.

A worker process keeps what it loaded (benchmark tables, provenance) for its next run, and the
local engine sends the runs of one configuration in chunks. Neither may change a row: a run gives
the same rows whether it ran first or after other runs in the same process, and whatever the
chunking. (Sharing one space between runs did change rows: the NB101 pool space's neighbour
cache; so every run builds its own space and evaluator.)
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import ConfigError
from harness.runner import components
from harness.runner.compute import RunOutput, compute_run
from harness.runner.config import RunSpec, parse_experiment
from harness.runner.engines import MAX_CHUNK, LocalEngine, chunked
from harness.runner.experiment import run_experiments

#: columns measured on this machine differ between any two executions
TIMING = {"wall_s", "measured_s", "cum_measured_s", "score_s", "cum_score_s"}


def _rows(out: RunOutput) -> pd.DataFrame:
    df = pd.read_parquet(io.BytesIO(out.trials_parquet))
    return df.drop(columns=[c for c in TIMING if c in df.columns])


def _exp(name: str, benchmark: dict, strategies: list[dict], seeds: int = 3, **top):
    return parse_experiment(
        {
            "name": name,
            "seeds": seeds,
            "budget": {"evaluations": 40},
            "benchmark": [benchmark],
            "strategy": strategies,
            **top,
        }
    )


SETTINGS = {
    "nb201": _exp(
        "r201",
        {"name": "nb201", "dataset": "cifar10"},
        [{"name": "aging_evolution"}, {"name": "random_search"}, {"name": "local_search"}],
    ),
    "nb201-noisy": _exp(
        "rnoise",
        {"name": "nb201", "dataset": "cifar100", "noise_sigma": 0.5, "noise_seed": 3},
        [{"name": "aging_evolution", "query_seeds": 3}],
    ),
    "nb201-proxy": _exp(
        "rproxy",
        {"name": "nb201", "signal": "zc_nwot"},
        [{"name": "local_search", "budget": {"queries": 30}}],
    ),
    "nb101-async": _exp(
        "r101",
        {"name": "nb101-30k"},
        [{"name": "aging_evolution_nb101", "workers": 4, "params": {"population_size": 20}}],
    ),
    # the pool space keeps a neighbour cache: shared between runs it changed local search's rows
    "nb101-pool-local-search": _exp(
        "rpool",
        {"name": "nb101-30k", "fidelity": 108},
        [{"name": "local_search", "budget": {"evaluations": 150}}],
        seeds=2,
    ),
    "nb101-surrogate": _exp(
        "rsur", {"name": "nb101-surrogate"}, [{"name": "random_search"}], seeds=2
    ),
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_a_run_gives_the_same_rows_first_or_after_others_in_one_process(name):
    runs = SETTINGS[name].runs()
    last = runs[-1]
    alone = _rows(compute_run(last))  # first (the tables only loaded)
    for spec in runs:  # every run of the setting, the last one after all the others
        out = compute_run(spec)
    pd.testing.assert_frame_equal(_rows(out), alone)
    # the earlier runs too: the same rows as each computed afresh
    first = _rows(compute_run(runs[0]))
    pd.testing.assert_frame_equal(first, _rows(compute_run(runs[0])))


def test_every_run_builds_its_own_space_and_evaluator():
    a, b = SETTINGS["nb201"].runs()[:2]
    (s1, e1, _, _), (s2, e2, _, _) = components.build_run(a), components.build_run(b)
    assert e1 is not e2 and s1.space is not s2.space


def _grid():
    return _exp(
        "g",
        {"name": "nb201"},
        [{"name": "random_search", "label": "a"}, {"name": "random_search", "label": "b"}],
        seeds=20,
    )


def test_chunks_hold_one_configuration_in_order_and_stay_balanced():
    specs = _grid().runs()
    todo = list(range(len(specs)))
    tasks = chunked(specs, todo, workers=2, most=MAX_CHUNK)
    assert [i for t in tasks for i in t] == todo  # every run once, in order
    for t in tasks:
        assert len({specs[i].strategy.label for i in t}) == 1
    # 20 runs of a configuration on 2 workers: tasks of ceil(20 / 8) = 3 runs
    assert max(len(t) for t in tasks) == 3
    assert max(len(t) for t in chunked(specs, todo, workers=1, most=2)) == 2
    assert all(len(t) == 1 for t in chunked(specs, todo[:3], workers=2, most=MAX_CHUNK))
    with pytest.raises(ConfigError, match="chunk must be an integer >= 1"):
        LocalEngine(2, chunk=0)


def _frames(root: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet"))]
    df = pd.concat(parts, ignore_index=True)
    return df.drop(columns=[c for c in TIMING if c in df.columns])


def test_chunked_pool_writes_the_rows_of_runs_one_at_a_time(tmp_path):
    exp = _grid()
    one = run_experiments([exp], tmp_path / "one", progress=False, engine=LocalEngine(1))
    many = run_experiments(
        [exp], tmp_path / "many", progress=False, engine=LocalEngine(2, chunk=4)
    )
    pd.testing.assert_frame_equal(_frames(one.roots[0]), _frames(many.roots[0]))
    assert len(list(many.roots[0].rglob("run.json"))) == 40


def _fail_seed_3(spec: RunSpec) -> RunOutput:
    if spec.seed == 3:
        raise RuntimeError("a run that fails")
    return compute_run(spec)


def test_a_failing_run_leaves_the_rest_of_its_chunk_written(tmp_path):
    exp = _grid()
    seen: dict[str, str | None] = {}
    eng = LocalEngine(2, chunk=8)
    eng.run(exp.runs(), _fail_seed_3, lambda o: seen.__setitem__(o.spec.run_id, o.error))
    failed = sorted(k for k, v in seen.items() if v is not None)
    assert len(seen) == 40
    assert failed == ["g/nb201-cifar10/a/seed=3", "g/nb201-cifar10/b/seed=3"]
    assert seen[failed[0]] == "RuntimeError: a run that fails"
