"""Rows written straight from the trial log's columns read back exactly as the frame path wrote
them: same columns, values and dtypes, on real runs of every row shape (plain, multi-fidelity,
asynchronous workers on NB101, objective and extras columns, failed queries, no queries)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.evaluators.objectives import parse_objective_set, wrap
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.loop import Budget, TrialLog, run_search
from harness.spaces import make_space
from harness.strategies import create
from harness.strategies.multi_objective import adapt

IDENT = {
    "experiment": "e",
    "benchmark": "nb201",
    "bench_label": "nb201",
    "dataset": "cifar10",
    "strategy": "s",
    "strategy_label": "s",
    "config_hash": "abc123",
    "seed": 3,
}


def _frame_path(trials: TrialLog, ident: dict[str, Any]) -> bytes:
    """How runs were written before: a pandas frame, identity columns concatenated first."""
    df = trials.to_frame()
    df = pd.concat([pd.DataFrame(ident, index=df.index), df], axis=1)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _run(kind: str) -> TrialLog:
    seed = np.random.SeedSequence([7])
    if kind == "objectives":
        spec = parse_objective_set(
            "[[benchmark]] #1",
            {
                "objectives": [
                    {"metric": "val_acc@200", "direction": "max"},
                    {"metric": "hw_edgegpu_latency", "direction": "min"},
                ]
            },
        )
        ev = wrap(TabularEvaluator("nb201", "cifar10"), spec, "nb201", "cifar10")
        s = adapt(create("nsga2", ev.space, seed=seed, population_size=8), ev.resolved)
        return run_search(s, ev, Budget(evaluations=30), seed=7).trials
    if kind == "nb101_async":
        space = make_space("nb101-30k-pool", None)
        ev = TabularEvaluator("nb101-30k", "cifar10", space=space, fidelity=108)
        s = create("aging_evolution_nb101", space, seed=seed)
        return run_search(s, ev, Budget(evaluations=60), seed=7, workers=4).trials
    space = make_space("nb201", None)
    name, fid = {"plain": ("random_search", 200), "fidelity": ("hyperband", 200)}[kind]
    ev = TabularEvaluator("nb201", "cifar10", space=space, fidelity=fid)
    s = create(name, space, seed=seed)
    return run_search(s, ev, Budget(evaluations=40), seed=7, count_repeats=True).trials


@pytest.mark.parametrize("kind", ["plain", "fidelity", "nb101_async", "objectives"])
def test_columns_read_back_as_the_frame_path_wrote_them(kind: str) -> None:
    trials = _run(kind)
    assert len(trials) > 0
    old = pd.read_parquet(io.BytesIO(_frame_path(trials, IDENT)))
    new = pd.read_parquet(io.BytesIO(trials.to_parquet(IDENT)))
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert list(new.columns[: len(IDENT)]) == list(IDENT)


def test_failed_queries_and_missing_extras_read_back_alike() -> None:
    log = TrialLog()
    good = _run("plain")
    row = tuple(good._rows[0])
    log.append(row, {"violation": 0.5})
    nan_row = tuple(np.nan if isinstance(v, float) else v for v in row)
    log.append(nan_row, {})
    log.append(row, {"obj_x": 1.0})
    old = pd.read_parquet(io.BytesIO(_frame_path(log, IDENT)))
    new = pd.read_parquet(io.BytesIO(log.to_parquet(IDENT)))
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert new["x_violation"].isna().tolist() == [False, True, True]


def test_an_empty_log_keeps_the_identity_columns() -> None:
    old = pd.read_parquet(io.BytesIO(_frame_path(TrialLog(), IDENT)))
    new = pd.read_parquet(io.BytesIO(TrialLog().to_parquet(IDENT)))
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert len(new) == 0 and list(new.columns) == list(IDENT)
