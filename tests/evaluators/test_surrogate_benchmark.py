"""The NB101 surrogate benchmark: real records stay real, the rest is predicted and labelled.

Uses the default model from the cache directory (built on first use, about a minute on 2 cores);
the determinism and cache tests build small models (20 trees) in a temporary cache.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from harness.benchmarks import nb101
from harness.errors import InvalidArchitecture, NashError, UnknownName
from harness.evaluators import surrogate_benchmark as SB
from harness.spaces.nb101 import NB101Space
from harness.spaces.nb101_enum import load_nb101_30k_specs

SMALL = {"acc_params": {"n_estimators": 20}, "time_params": {"n_estimators": 10}}


@pytest.fixture(scope="module")
def ev() -> SB.SurrogateBenchmarkEvaluator:
    return SB.make_nb101_surrogate_evaluator()


@pytest.fixture(scope="module")
def outside() -> list:
    """Random valid cells that are NOT among the 30k records."""
    table, space = nb101.load(), NB101Space()
    rng = np.random.default_rng(7)
    cells = []
    while len(cells) < 20:
        c = space.sample(rng)
        if space.canonical(c) not in table:
            cells.append(c)
    return cells


def test_cells_in_the_30k_set_return_their_real_record(ev):
    specs, table = load_nb101_30k_specs(), nb101.load()
    for i in range(0, 30001, 1500):
        cell = specs.cell_at(i)
        row = table.row(specs.hash[i].decode())
        r = ev.evaluate(cell)
        assert r.signal == row["val_acc@108"] and r.val == r.signal
        assert r.cost.n_full == 1 and r.cost.train_s == row["train_time_s@108"]
        assert r.extras == {"surrogate": 0.0}
        assert r.reported == r.val and r.fidelity == 108


def test_cells_outside_get_finite_labelled_predictions(ev, outside):
    res = [ev.evaluate(c) for c in outside]
    for r in res:
        assert r.ok and r.extras == {"surrogate": 1.0}
        assert 0 < r.signal < 100 and r.val == r.signal == r.reported
        assert r.cost.n_full == 1 and 100 < r.cost.train_s < 10_000
    assert len({r.signal for r in res}) > 10  # not a constant


def test_held_out_rank_correlation_is_reported_and_reproducible(ev):
    hold = ev.info["holdout"]
    # measured: tau 0.835, Spearman 0.962 on 3,000 held-out records (seed 0)
    assert hold["kendall_tau"] > 0.75 and hold["spearman"] > 0.9 and hold["n"] == 3000
    assert ev.encoding in SB.ENCODINGS
    assert ev.info["encoding"] == max(
        ev.info["encoding_selection_kendall_tau"],
        key=ev.info["encoding_selection_kendall_tau"].get,
    )
    # recompute on the held-out records from scratch
    specs, table = load_nb101_30k_specs(), nb101.load()
    perm = np.random.default_rng([0, 101]).permutation(len(specs))
    hold_idx = np.sort(perm[:3000])
    cells = [specs.cell_at(int(i)) for i in hold_idx]
    y = np.array([table.value("val_acc@108", specs.hash[i].decode()) for i in hold_idx])
    pred, _ = ev.predict_cells(cells)
    assert kendalltau(y, pred).statistic == pytest.approx(hold["kendall_tau"], abs=1e-9)
    meta = json.loads(ev.model_path.read_text())
    assert meta["holdout"]["kendall_tau"] == hold["kendall_tau"]


def test_describe_says_it_is_surrogate_based(ev):
    d = ev.describe()
    assert d["surrogate_based"] is True and d["benchmark"] == "nb101-surrogate"
    assert d["label"].startswith("SURROGATE-BASED")
    assert "VALIDATION" in d["report_label"] and "surrogate-predicted" in d["report_label"]
    assert d["report_metric"] == "val_acc@108"
    assert d["holdout_kendall_tau"] == ev.info["holdout"]["kendall_tau"]
    json.dumps(d)  # manifests are JSON


def test_batch_equals_single_and_the_lru_cache_is_bounded(outside):
    ev = SB.SurrogateBenchmarkEvaluator(cache_size=3)
    batch = ev.evaluate_many(outside[:6])
    assert len(ev._lru) == 3
    single = [ev.evaluate(c) for c in outside[:6]]
    assert [r.signal for r in batch] == [r.signal for r in single]
    assert [r.cost.train_s for r in batch] == [r.cost.train_s for r in single]


def test_other_cell_forms_are_accepted(ev, outside):
    space = NB101Space()
    c = outside[0]
    want = ev.evaluate(c).signal
    assert ev.evaluate((c.matrix, list(c.ops))).signal == want
    assert ev.evaluate(space.to_str(c)).signal == want


def test_bad_input_is_refused_clearly(ev):
    with pytest.raises(InvalidArchitecture, match="unknown op"):
        ev.evaluate(([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv9x9", "output"]))
    with pytest.raises(InvalidArchitecture, match="no input->output path"):
        ev.evaluate(([[0, 0, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]))
    with pytest.raises(InvalidArchitecture, match="needs an NB101 cell"):
        ev.evaluate(42)
    with pytest.raises(InvalidArchitecture):
        ev.evaluate("adj=01/00|ops=input")
    with pytest.raises(NashError, match="only fidelity 108"):
        ev.evaluate(load_nb101_30k_specs().cell_at(0), fidelity=12)
    with pytest.raises(UnknownName, match="encoding"):
        SB.SurrogateBenchmarkEvaluator(encoding="bits")


def test_builds_are_deterministic_cached_and_repaired(tmp_path, monkeypatch, outside):
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path))
    a = SB.SurrogateBenchmarkEvaluator(encoding="adjacency", **SMALL)
    assert a.model_path.parent == tmp_path
    pa = a.predict_cells(outside)
    b = SB.SurrogateBenchmarkEvaluator(encoding="adjacency", rebuild=True, **SMALL)
    pb = b.predict_cells(outside)
    assert np.array_equal(pa[0], pb[0]) and np.array_equal(pa[1], pb[1])
    files = sorted(p.name for p in tmp_path.glob("nb101-surrogate-*"))
    assert len(files) == 3 and not list(tmp_path.glob(".*tmp"))  # acc, time, meta; no temps
    # a damaged model file is rebuilt (with a warning), giving the same model
    acc = next(tmp_path.glob("nb101-surrogate-*.acc.json"))
    acc.write_text("{ truncated")
    with pytest.warns(UserWarning, match="rebuilding"):
        c = SB.SurrogateBenchmarkEvaluator(encoding="adjacency", **SMALL)
    assert np.array_equal(c.predict_cells(outside)[0], pa[0])
    # another seed is another split and another model
    d = SB.SurrogateBenchmarkEvaluator(encoding="adjacency", seed=1, **SMALL)
    assert d.model_path != a.model_path
    assert not np.array_equal(d.predict_cells(outside)[0], pa[0])


def test_factory_defaults(ev):
    assert isinstance(ev, SB.SurrogateBenchmarkEvaluator)
    assert isinstance(ev.space, NB101Space) and ev.seed == 0
    assert ev.records_train_time and not ev.is_proxy and ev.default_fidelity == 108


def test_random_search_runs_on_the_full_space():
    from harness import strategies
    from harness.runner.loop import Budget, run_search

    space = NB101Space()
    ev2 = SB.SurrogateBenchmarkEvaluator(space)
    res = run_search(
        strategies.create("random_search", space, seed=0), ev2, Budget(evaluations=30)
    )
    assert res.trials[-1].cum_evals == 30  # random search repeats a few cells (free)
    assert all(math.isfinite(t.signal) and math.isfinite(t.train_s) for t in res.trials)


def test_vectorised_adjacency_equals_the_space_encoding():
    specs, space = load_nb101_30k_specs(), NB101Space()
    idx = list(range(0, len(specs), 211))
    want = np.array([space.encode(specs.cell_at(i), "adjacency") for i in idx])
    assert np.array_equal(SB.adjacency_from_table(specs)[idx], want)
