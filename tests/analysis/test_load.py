"""Loading real runs: counts, incumbents, regret, grids, missing runs and bad input."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import load as L
from harness.benchmarks import nb201
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment


def test_load_counts_and_final_values(small_root):
    rs = L.load_runs(small_root)
    assert len(rs.runs) == 2 * 3 * 6 and not rs.problems
    assert rs.settings == ["nb201-cifar10", "nb201-cifar100"]
    n_rows = sum(len(pd.read_parquet(p)) for p in small_root.rglob("trials.parquet"))
    assert len(rs.trials) == n_rows
    last = rs.trials.sort_values("step").groupby("run_id").last()
    np.testing.assert_allclose(
        last.loc[rs.runs["run_id"], "incumbent_reported"], rs.runs["final_reported"]
    )
    assert (rs.runs["n_evaluations"] == 30).all()
    # both accountings on every row
    assert (rs.trials["cum_queries"] >= rs.trials["cum_evals"]).all()


def test_regret_against_the_benchmark_optimum(small_root):
    rs = L.load_runs(small_root)
    t = nb201.load()
    for ds, setting in (("cifar10", "nb201-cifar10"), ("cifar100", "nb201-cifar100")):
        opt = t.optimum(ds, "test_acc@200")[0]
        r = rs.runs[rs.runs["setting"] == setting]
        assert (r["optimum"] == opt).all()
        np.testing.assert_allclose(r["final_regret"], opt - r["final_reported"])
    assert (rs.trials["regret"] >= -1e-9).all()


def test_on_grid_is_the_incumbent_after_the_last_query_within_the_cost(small_root):
    rs = L.load_runs(small_root)
    grid, keys, vals = L.on_grid(rs, x="cum_evals", grid=np.array([1.0, 5.0, 17.0, 30.0]))
    assert vals.shape == (len(rs.runs), 4)
    for i, rid in enumerate(keys["run_id"]):
        t = rs.trials[rs.trials["run_id"] == rid].sort_values("step")
        for j, g in enumerate(grid):
            expect = t[t["cum_evals"] <= g]["incumbent_reported"].iloc[-1]
            assert vals[i, j] == expect
    # against all queries as well
    _, _, vq = L.on_grid(rs, x="cum_queries", grid=np.array([1.0]))
    np.testing.assert_allclose(
        vq[:, 0],
        rs.trials[rs.trials["step"] == 0].set_index("run_id").loc[keys["run_id"]]["reported"],
    )


def test_missing_runs_and_leftovers_are_reported(small_root, tmp_path):
    root = tmp_path / "ana_small"
    shutil.copytree(small_root, root)
    shutil.rmtree(root / "nb201-cifar10" / "random_search" / "seed=2")
    shutil.rmtree(root / "nb201-cifar10" / "random_search" / "seed=3")
    (root / "nb201-cifar100" / "local_search" / ".seed=9.tmp-abc").mkdir()
    rs = L.load_runs(root)
    assert len(rs.runs) == 36 - 2
    text = "\n".join(rs.problems)
    assert "nb201-cifar10 / random_search: 2 of 6 runs missing (seeds 2-3)" in text
    assert "unfinished run" in text


def test_bad_input_gives_clear_errors(small_root, tmp_path):
    with pytest.raises(L.ResultsError, match="does not exist"):
        L.load_runs(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(L.ResultsError, match="no finished runs"):
        L.load_runs(tmp_path / "empty")
    with pytest.raises(L.ResultsError, match="unknown trial column"):
        L.load_runs(small_root, columns=["step", "accuracy"])
    rs = L.load_runs(small_root)
    with pytest.raises(L.ResultsError, match="unknown x axis 'evals'"):
        L.on_grid(rs, x="evals")
    with pytest.raises(L.ResultsError, match="unknown metric"):
        L.on_grid(rs, y="test_accuracy")


def test_mixed_budgets_are_refused_or_aligned_with_a_warning(tmp_path):
    exp = parse_experiment(
        {
            "name": "mixed",
            "seeds": 3,
            "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
            "strategy": [
                {"name": "aging_evolution", "budget": {"evaluations": 40}},
                {"name": "random_search", "budget": {"evaluations": 20}},
            ],
        }
    )
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    rs = L.load_runs(root)
    with pytest.raises(L.ResultsError, match="different budgets"):
        L.check_budgets(rs)
    with pytest.warns(UserWarning, match="aligned at 20 charged evaluations"):
        al = L.check_budgets(rs, align=True)
    assert (al.runs["n_evaluations"] == 20).all()
    assert al.trials["cum_evals"].max() == 20
    last = al.trials.sort_values("step").groupby("run_id").last()
    np.testing.assert_allclose(
        last.loc[al.runs["run_id"], "incumbent_reported"], al.runs["final_reported"]
    )
    assert any("aligned" in p for p in al.problems)
    # equal budgets pass untouched
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = L.check_budgets(
            L.RunSet(rs.runs[rs.runs.strategy_label == "random_search"], rs.trials)
        )
    assert len(same.runs) == 3


def test_several_experiments_are_separate_settings(small_root, tmp_path):
    other = dict(json.loads((small_root / "experiment.json").read_text()))
    exp = parse_experiment(
        {
            "name": "second",
            "seeds": 2,
            "budget": {"evaluations": 10},
            "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
            "strategy": [{"name": "random_search"}],
        }
    )
    root2 = run_experiment(exp, tmp_path, workers=1, progress=False)
    rs = L.load_runs([small_root, root2])
    assert other["name"] in rs.experiments and "second" in rs.experiments
    assert "second:nb201-cifar10" in rs.settings
    assert "ana_small:nb201-cifar10" in rs.settings
    assert len(rs.runs) == 36 + 2
