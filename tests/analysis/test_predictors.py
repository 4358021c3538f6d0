"""Predictor evaluation: metrics on hand-checked cases, the protocol, the CLI, bad input.

Real data throughout (NB201 tables, NB101-30k records), with tiny training sets so the whole
file runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr

from analysis import predictors as P
from harness.cli import main
from harness.errors import ConfigError, UnknownName


@pytest.fixture(scope="module")
def task201() -> P.PredictorTask:
    return P.load_task("nb201", "cifar10")


# -- metrics -------------------------------------------------------------------------------------
def test_precision_at_k_by_hand():
    y_true = [5.0, 4.0, 3.0, 2.0, 1.0]
    y_pred = [1.0, 5.0, 4.0, 2.0, 3.0]
    # true top-2 {0, 1}, predicted top-2 {1, 2}: one of two found
    assert P.precision_at_k(y_true, y_pred, 2) == 0.5
    assert P.precision_at_k(y_true, y_pred, 1) == 0.0  # best is 0, predicted best is 1
    assert P.precision_at_k(y_true, y_pred, 3) == pytest.approx(2 / 3)  # {0,1,2} vs {1,2,4}
    assert P.precision_at_k(y_true, y_pred, 5) == 1.0
    assert P.precision_at_k(y_true, y_true, 2) == 1.0


def test_ties_go_to_the_earlier_index():
    assert list(P.top_k(np.array([1.0, 3.0, 3.0, 2.0]), 2)) == [1, 2]
    assert list(P.top_k(np.array([3.0, 3.0, 3.0]), 1)) == [0]


def test_k_is_a_fraction_of_the_held_out_set_at_least_one():
    assert P.k_of(0.01, 3000) == 30
    assert P.k_of(0.05, 3000) == 150
    assert P.k_of(0.01, 50) == 1


def test_rank_metrics_match_scipy_and_hand_mae():
    rng = np.random.default_rng(3)
    y = rng.normal(90, 2, 200)
    p = y + rng.normal(0, 1, 200)
    m = P.rank_metrics(y, p)
    assert m["kendall_tau"] == pytest.approx(kendalltau(y, p).statistic)
    assert m["spearman"] == pytest.approx(spearmanr(y, p).statistic)
    assert m["mae"] == pytest.approx(np.mean(np.abs(y - p)))
    assert m["precision@1%"] == P.precision_at_k(y, p, 2)
    assert m["precision@5%"] == P.precision_at_k(y, p, 10)
    assert np.isnan(P.rank_metrics(y, p, with_mae=False)["mae"])


def test_constant_prediction_has_no_rank_correlation():
    m = P.rank_metrics([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    assert np.isnan(m["kendall_tau"]) and np.isnan(m["spearman"])


def test_precision_at_k_rejects_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        P.precision_at_k([1.0, 2.0], [1.0, 2.0], 3)
    with pytest.raises(ValueError, match="equal length"):
        P.precision_at_k([1.0, 2.0], [1.0], 1)


# -- protocol ----------------------------------------------------------------------------------
def test_split_is_fixed_disjoint_and_training_sets_nest():
    test, pool = P.split(1000, 100, split_seed=0)
    test2, _ = P.split(1000, 100, split_seed=0)
    assert np.array_equal(test, test2) and len(test) == 100 and len(pool) == 900
    assert not set(test) & set(pool)
    a = P.training_ids(pool, 50, seed=1)
    b = P.training_ids(pool, 80, seed=1)
    assert np.array_equal(a, b[:50])
    assert not np.array_equal(a, P.training_ids(pool, 50, seed=2))


def test_tasks_hold_the_real_search_signals(task201):
    from harness.benchmarks import nb101
    from harness.benchmarks import nb201 as tables

    assert len(task201) == 15625 and task201.signal == "val_acc@200"
    assert np.array_equal(
        task201.y, np.asarray(tables.load().column("cifar10", "val_acc@200"), dtype=float)
    )
    t101 = P.load_task("nb101-30k")
    assert len(t101) == 30001 and t101.signal == "val_acc@108"
    assert sorted(t101.y) == pytest.approx(sorted(nb101.load().column("val_acc@108")))


def test_small_nb201_run_is_deterministic_and_ranks(task201):
    kw = dict(sizes=[40, 20], seeds=2, surrogate_names=["xgb", "random_forest"], test_size=300)
    r1 = P.evaluate_predictors(task=task201, **kw)
    r2 = P.evaluate_predictors(task=task201, **kw)
    rows = r1.rows
    assert len(rows) == 2 * 2 * 2
    assert list(rows["n_train"].unique()) == [20, 40]  # sorted
    assert (rows["n_test"] == 300).all()
    metrics = ["kendall_tau", "spearman", "mae", "precision@1%", "precision@5%"]
    pd.testing.assert_frame_equal(rows[metrics], r2.rows[metrics])
    assert rows["kendall_tau"].between(0.1, 1).all()  # even 20 cells rank NB201 a little
    assert set(r1.scatter) == {"xgb", "random_forest"} and r1.scatter["xgb"][0] == 40


def test_graph_surrogates_are_capped(task201):
    r = P.evaluate_predictors(
        task=task201,
        sizes=[20, 30],
        seeds=2,
        surrogate_names=["gcn"],
        test_size=100,
        graph_seeds=1,
        graph_max_size=20,
    )
    assert list(zip(r.rows["n_train"], r.rows["seed"], strict=True)) == [(20, 0)]
    assert r.rows["encoding"].iloc[0] == "graph"


def test_nb101_30k_run_uses_the_adjacency_encoding():
    r = P.evaluate_predictors(
        "nb101-30k", sizes=[100], seeds=1, surrogate_names=["xgb"], test_size=300
    )
    assert r.rows["encoding"].iloc[0] == "adjacency"
    assert r.rows["kendall_tau"].iloc[0] > 0.2


# -- bad input -----------------------------------------------------------------------------------
def test_bad_requests_fail_before_any_fit(task201):
    with pytest.raises(UnknownName, match="xgbb"):
        P.evaluate_predictors(task=task201, sizes=[10], surrogate_names=["xgbb"])
    with pytest.raises(ConfigError, match="exceeds the 12625 cells"):
        P.evaluate_predictors(task=task201, sizes=[20000], surrogate_names=["xgb"])
    with pytest.raises(ConfigError, match="too small"):
        P.evaluate_predictors(task=task201, sizes=[1], surrogate_names=["xgb"])
    with pytest.raises(ConfigError, match="leaves no training cells"):
        P.evaluate_predictors(task=task201, sizes=[10], test_size=15625, surrogate_names=["xgb"])
    with pytest.raises(ConfigError, match="takes vectors"):
        P.evaluate_predictors(task=task201, sizes=[10], encoding="graph", surrogate_names=["xgb"])
    with pytest.raises(UnknownName, match="encoding"):
        P.evaluate_predictors(task=task201, sizes=[10], encoding="bits", surrogate_names=["xgb"])
    with pytest.raises(ConfigError, match="seeds"):
        P.evaluate_predictors(task=task201, sizes=[10], seeds=0, surrogate_names=["xgb"])
    with pytest.raises(UnknownName, match="nb301"):
        P.load_task("nb301")
    with pytest.raises(UnknownName, match="dataset"):
        P.load_task("nb101-30k", "cifar100")


# -- the command line ----------------------------------------------------------------------------
def test_cli_writes_table_csv_and_figures(tmp_path, capsys):
    out = tmp_path / "pred"
    args = "predictors --sizes 20,30 --seeds 2 --surrogates xgb,gcn --test-size 200 --quiet"
    rc = main([*args.split(), "--out", str(out)])
    assert rc == 0
    md = (out / "predictors.md").read_text()
    assert "| xgb | onehot | 30 | 2 |" in md and "| gcn | graph | 30 | 1 |" in md
    assert "at most 1 seed(s)" in md and "200 held-out cells" in md
    rows = pd.read_csv(out / "predictors.csv")
    assert len(rows) == 2 * 2 + 2  # xgb: 2 sizes x 2 seeds; gcn: 2 sizes x 1 seed
    assert (out / "predictors_summary.csv").is_file()
    for name in ("xgb", "gcn"):
        assert (out / f"pred_vs_true_{name}.png").stat().st_size > 1000
    assert str(out / "predictors.md") in capsys.readouterr().out


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["predictors", "--surrogates", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown surrogate 'nope'" in capsys.readouterr().err
    assert main(["predictors", "--sizes", "a,b", "--out", str(tmp_path)]) == 2
    assert main(["predictors", "--sizes", "99999", "--surrogates", "xgb"]) == 2
    assert not (tmp_path / "predictors.md").exists()
