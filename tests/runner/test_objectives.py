"""Objectives as data: the wrapper's lookups, the bad-input errors, experiments that declare them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from harness.benchmarks import nb201 as t201
from harness.errors import ConfigError, NashError
from harness.evaluators.objectives import (
    ObjectiveEvaluator,
    parse_objective_set,
    resolve,
    violation,
    wrap,
)
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.loop import Budget, run_search
from harness.spaces import nb201
from harness.strategies import create
from harness.strategies.multi_objective import Scalarized, adapt

ACC = {"metric": "val_acc@200", "direction": "max"}
LAT = {"metric": "hw_edgegpu_latency", "direction": "min"}


def _ev(table: dict[str, Any], dataset: str = "cifar10") -> ObjectiveEvaluator:
    spec = parse_objective_set("[[benchmark]] #1", table)
    return wrap(TabularEvaluator("nb201", dataset), spec, "nb201", dataset)


def test_objective_vector_comes_from_the_tables() -> None:
    ev = _ev(
        {"objectives": [ACC, LAT], "constraints": [{"metric": "hw_edgegpu_latency", "max": 5.0}]}
    )
    tables = t201.load()
    rng = np.random.default_rng(0)
    n_infeasible = 0
    for _ in range(30):
        arch = ev.space.sample(rng)
        i = nb201.index_of(ev.space.to_cell(arch))
        res = ev.evaluate(arch)
        acc = tables.value("cifar10", "val_acc@200", i)
        lat = tables.value("cifar10", "hw_edgegpu_latency", i)
        assert res.objectives == (acc, -lat)  # oriented: latency negated
        assert res.extras["obj_val_acc@200"] == acc
        assert res.extras["obj_hw_edgegpu_latency"] == lat
        assert res.signal == acc  # the wrapped evaluator's signal is untouched
        assert res.violation == pytest.approx(max(lat - 5.0, 0.0) / 5.0)
        n_infeasible += res.violation > 0
    assert 0 < n_infeasible < 30


def test_the_signal_objective_is_the_value_the_search_saw() -> None:
    """With the one-seed noise model, the accuracy objective is the noisy signal, not the
    table's seed mean: a multi-objective search must optimise what it is told."""
    spec = parse_objective_set("[[benchmark]] #1", {"objectives": [ACC, LAT]})
    ev = wrap(TabularEvaluator("nb201", "cifar10", noise_sigma=0.5), spec, "nb201", "cifar10")
    tables = t201.load()
    rng = np.random.default_rng(1)
    for _ in range(10):
        arch = ev.space.sample(rng)
        i = nb201.index_of(ev.space.to_cell(arch))
        res = ev.evaluate(arch)
        acc = tables.value("cifar10", "val_acc@200", i)
        assert res.signal != acc  # noise added
        assert res.objectives[0] == res.signal and res.extras["obj_val_acc@200"] == res.signal
        assert res.objectives[1] == -tables.value("cifar10", "hw_edgegpu_latency", i)


def test_rows_store_each_objective_as_a_column() -> None:
    ev = _ev({"objectives": [ACC, LAT]})
    s = create("nsga2", ev.space, seed=0, population_size=8)
    s = adapt(s, ev.resolved)
    res = run_search(s, ev, Budget(evaluations=20))
    row = res.trials[-1].to_row()
    assert {"obj_val_acc@200", "obj_hw_edgegpu_latency", "x_violation"} <= set(row)
    assert "reported" in row and "obj_test_acc@200" not in row


def test_default_reference_point_bounds_the_whole_space() -> None:
    r = _ev({"objectives": [ACC, LAT]}).resolved
    acc, lat = r.values
    assert r.reference_point[0] < np.nanmin(acc) and r.reference_point[1] > np.nanmax(lat)
    assert r.ideal == (np.nanmax(acc), np.nanmin(lat))


@pytest.mark.parametrize(
    ("table", "dataset", "match"),
    [
        (
            {"objectives": [{"metric": "test_acc@200", "direction": "max"}]},
            "cifar10",
            "TEST-split",
        ),
        (
            {"objectives": [ACC], "constraints": [{"metric": "test_acc@12", "min": 50.0}]},
            "cifar10",
            "TEST-split",
        ),
        ({"objectives": [ACC, LAT]}, "cifar100", "no metric 'val_acc@200' for dataset cifar100"),
        (
            {"objectives": [{"metric": "hw_tpu_latency", "direction": "min"}]},
            "cifar10",
            "hw_edgetpu_latency",  # the suggestion
        ),
        (
            {"objectives": [ACC], "constraints": [{"metric": "latency_ms", "max": 5.0}]},
            "cifar10",
            "no metric 'latency_ms'",
        ),
        ({"objectives": [ACC, LAT], "reference_point": [0.0, 5.0]}, "cifar10", "does not bound"),
        ({"objectives": [ACC, LAT], "reference_point": [95.0, 20.0]}, "cifar10", "does not bound"),
    ],
)
def test_bad_objectives_are_one_clear_error(
    table: dict[str, Any], dataset: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        _ev(table, dataset)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"objectives": {"metric": "val_acc@200"}}, "must be a list"),
        ({"objectives": [{"metric": "val_acc@200", "direction": "up"}]}, "direction"),
        ({"objectives": [{"metric": "val_acc@200"}]}, "direction"),
        ({"objectives": [ACC, ACC]}, "repeat"),
        (
            {"objectives": [ACC], "constraints": [{"metric": "hw_edgegpu_latency"}]},
            "needs a bound",
        ),
        ({"objectives": [ACC], "constraints": [{"metric": "x", "max": "5"}]}, "finite number"),
        ({"objectives": [ACC, LAT], "reference_point": [1.0]}, "one number per objective"),
        ({"objectives": [ACC, LAT], "reference_point": [1.0, True]}, "finite number"),
    ],
)
def test_malformed_tables_are_config_errors(table: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_objective_set("[[benchmark]] #1", table)


def test_single_objective_strategy_needs_a_scalarization() -> None:
    ev = _ev({"objectives": [ACC, LAT]})
    with pytest.raises(ConfigError, match="scalarized"):
        adapt(create("aging_evolution", ev.space, seed=0), ev.resolved)
    # one objective (or constraints only): a single-objective strategy searches it as it is
    ev1 = _ev({"objectives": [LAT]})
    s = adapt(create("aging_evolution", ev1.space, seed=0), ev1.resolved)
    res = run_search(s, ev1, Budget(evaluations=100))
    lat = [t.extras["obj_hw_edgegpu_latency"] for t in res.trials]
    assert min(lat) < np.quantile(t201.load().column("cifar10", "hw_edgegpu_latency"), 0.05)


def test_scalarizations_on_known_values() -> None:
    from harness.records import Observation

    space = nb201.NB201Space()
    s = Scalarized(
        space, seed=0, method="chebyshev", weights=[0.5, 0.5], bounds=((0, -10), (100, 0))
    )
    a = space.sample(np.random.default_rng(0))
    # z = (0.9, 0.8): Chebyshev -max(0.5 * 0.1, 0.5 * 0.2) = -0.1
    assert s.scalar(Observation(a, 90.0, objectives=(90.0, -2.0))) == pytest.approx(-0.1)
    w = Scalarized(
        space, seed=0, method="weighted_sum", weights=[1, 0], bounds=((0, -10), (100, 0))
    )
    assert w.scalar(Observation(a, 90.0, objectives=(90.0, -2.0))) == pytest.approx(0.9)
    bad = w.scalar(Observation(a, 99.0, objectives=(99.0, -9.0), violation=0.5))
    worse = w.scalar(Observation(a, 99.0, objectives=(99.0, -9.0), violation=1.5))
    assert worse < bad < 0 < w.scalar(Observation(a, 1.0, objectives=(1.0, -9.0)))
    with pytest.raises(ConfigError, match="weights"):
        Scalarized(space, seed=0, weights=[-1, 2])
    with pytest.raises(ConfigError, match="multi-objective already"):
        Scalarized(space, seed=0, inner="nsga2")


def test_constrained_search_finds_accurate_feasible_cells() -> None:
    cap = 3.0
    ev = _ev({"objectives": [ACC], "constraints": [{"metric": "hw_edgegpu_latency", "max": cap}]})
    tables = t201.load()
    acc = np.asarray(tables.column("cifar10", "val_acc@200"))
    lat = np.asarray(tables.column("cifar10", "hw_edgegpu_latency"))
    best_feasible = float(np.nanmax(acc[lat <= cap]))
    assert best_feasible < float(np.nanmax(acc))  # the cap binds
    got = []
    for seed in range(3):
        s = adapt(create("aging_evolution", ev.space, seed=seed), ev.resolved)
        res = run_search(s, ev, Budget(evaluations=200))
        rec = s.recommend()
        i = nb201.index_of(ev.space.to_cell(rec))
        assert lat[i] <= cap
        got.append(acc[i])
    assert np.median(got) > np.quantile(acc[lat <= cap], 0.9)  # top 10 % of feasible cells
    assert max(got) <= best_feasible
    assert res.trials[-1].extras["violation"] >= 0


def test_violation_counts_missing_values_as_infinite() -> None:
    from harness.evaluators.objectives import Constraint

    v = violation(
        [Constraint("a", max=2.0), Constraint("b", min=-1.0)],
        np.array([[1.0, 3.0, math.nan], [0.0, -3.0, 0.0]]),
    )
    assert v[0] == 0 and v[1] == pytest.approx(0.5 + 2.0) and math.isinf(v[2])


def test_resolve_refuses_a_benchmark_without_metric_roles() -> None:
    spec = parse_objective_set("b", {"objectives": [ACC]})
    with pytest.raises(NashError):
        resolve(spec, "no-such-benchmark", "cifar10")


def _experiment(**bench: Any) -> dict[str, Any]:
    return {
        "name": "mo_test",
        "seeds": 2,
        "budget": {"evaluations": 30},
        "benchmark": [{"name": "nb201", "dataset": "cifar10", **bench}],
        "strategy": [
            {"name": "nsga2", "params": {"population_size": 10}},
            {"name": "scalarized", "label": "rea_cheb", "params": {"inner": "aging_evolution"}},
            {
                "name": "aging_evolution",
                "label": "rea_capped",
                "constraints": [{"metric": "hw_edgegpu_latency", "max": 4.0}],
            },
        ],
    }


def test_experiments_declare_objectives_and_runs_store_them(tmp_path: Any) -> None:
    from harness.runner.config import parse_experiment
    from harness.runner.experiment import run_experiment

    with pytest.raises(ConfigError, match="scalarized"):  # rea_capped has two objectives
        parse_experiment(_experiment(objectives=[ACC, LAT]) | {"seeds": 1})
    exp = parse_experiment(
        _experiment(objectives=[ACC, LAT], reference_point=[0.0, 12.0])
        | {
            "strategy": [
                *_experiment()["strategy"][:2],
                {
                    "name": "scalarized",
                    "label": "rea_capped",
                    "params": {
                        "inner": "aging_evolution",
                        "method": "weighted_sum",
                        "weights": [1, 0],
                    },
                    "constraints": [{"metric": "hw_edgegpu_latency", "max": 4.0}],
                },
            ]
        }
    )
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    import json

    import pandas as pd

    mf = json.loads(next(root.rglob("rea_capped/seed=0/run.json")).read_text())
    assert mf["evaluator"]["objectives"]["reference_point"] == [0.0, 12.0]
    df = pd.read_parquet(next(root.rglob("rea_capped/seed=0/trials.parquet")))
    assert {"obj_val_acc@200", "obj_hw_edgegpu_latency", "x_violation"} <= set(df.columns)
    assert ((df["obj_hw_edgegpu_latency"] > 4.0) == (df["x_violation"] > 0)).all()


def test_single_objective_runs_keep_their_identity() -> None:
    from harness.runner.config import parse_experiment

    raw = _experiment()
    raw["strategy"] = raw["strategy"][:1]
    spec = parse_experiment(raw).runs()[0]
    d = spec.resolved()
    assert "objectives" not in d["benchmark"] and "constraints" not in d["strategy"]
    mo = parse_experiment(_experiment(objectives=[ACC, LAT]) | {"strategy": raw["strategy"]})
    assert mo.runs()[0].config_hash() != spec.config_hash()


def test_unknown_benchmark_key_suggests_objectives() -> None:
    from harness.runner.config import parse_experiment

    with pytest.raises(ConfigError, match="objectives"):
        parse_experiment(_experiment(objective=[ACC]))


def test_missing_cost_markers_are_failed_evaluations() -> None:
    lat = np.asarray(t201.load().column("cifar10", "hw_edgetpu_latency"))
    assert (lat == -1).sum() == 4699  # HW-NAS-Bench's "no measurement" marker
    ev = _ev({"objectives": [ACC, {"metric": "hw_edgetpu_latency", "direction": "min"}]})
    assert np.isnan(ev.resolved.values[1][lat == -1]).all()
    assert ev.resolved.ideal[1] > 0
    i = int(np.flatnonzero(lat == -1)[0])
    res = ev.evaluate(nb201.arch_of_index(i))
    assert not res.ok and "hw_edgetpu_latency" in res.reason
