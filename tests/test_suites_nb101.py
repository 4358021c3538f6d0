"""NB101 in the acceleration suite: the surrogate-completed space, the NASWOT-fitness
gate (GPU / flag / score cache), the report's surrogate labels and agreement table.

Every run here is real (real tables, real surrogate, real NASWOT scoring), only small."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis import conclusions as C
from analysis.load import load_runs
from analysis.suite_report import COLUMNS, write_suite_report
from harness.benchmarks import nb101
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiments
from harness.suites import NB101_NASWOT, _from_cache, load_suite, resolve_suite

SMALL_GA = {"population_size": 6, "n_generations": 2}
SMALL_FA = {"population_size": 10, "k": 3, "h": 2, "n_generations": 2, "n_rounds": 3}


def _roots(res: Any) -> list[Path]:
    return list(getattr(res, "roots", res))


def _by_name(exps: list[Any]) -> dict[str, Any]:
    return {e.name: e for e in exps}


# -- the suite's contents --------------------------------------------------------------------


def test_suite_has_the_surrogate_setting_and_gates_nb101_naswot() -> None:
    closed = _by_name(load_suite("acceleration", quick=True, gates=()))
    sur, base = closed["acc_nb101_surrogate"], closed["acc_nb101_surrogate_baselines"]
    assert [b.name for b in sur.benchmarks] == [b.name for b in base.benchmarks]
    assert [b.name for b in sur.benchmarks] == ["nb101-surrogate"]
    labels = {s.label: s for s in (*sur.strategies, *base.strategies)}
    assert set(labels) == {"ga_val", "nasea_xgb_val", "aging_evolution", "random_search"}
    assert labels["ga_val"].name == "genetic_study"
    assert labels["nasea_xgb_val"].name == "nas_ea_fa_v2_thesis"
    assert labels["aging_evolution"].name == "aging_evolution_nb101"
    # one budget per experiment (the per-experiment report compares like with like)
    assert {s.budget.evaluations for s in base.strategies} == {500}  # NAS-EA-FA's cost
    assert {s.budget.evaluations for s in sur.strategies} == {20000}
    pool = closed["acc_nb101_pool"]
    assert {s.label for s in pool.strategies} == {"ga_val", "nasea_xgb_val"}
    # the gate open: the NASWOT-fitness strategies, with our NASWOT evaluator on the 30k pool
    opened = _by_name(load_suite("acceleration", quick=False, gates=None))["acc_nb101_pool"]
    nw = {s.label: s for s in opened.strategies if s.evaluator == "naswot"}
    assert set(nw) == {"ga_naswot", "nasea_xgb_naswot"}
    assert all(s.evaluator_params == {"device": "auto", "num_threads": 1} for s in nw.values())
    assert {r.strategy.label for r in opened.runs()} >= set(nw)
    # quick keeps run identities: a quick surrogate run is the full run of the same seed
    full = _by_name(load_suite("acceleration", gates=()))["acc_nb101_surrogate"]
    quick_ids = {r.config_hash() for r in sur.runs()}
    assert quick_ids and quick_ids <= {r.config_hash() for r in full.runs()}


def test_gate_opens_on_gpu_or_flag_and_otherwise_stays_closed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NASH_ZC_CACHE_DIR", str(tmp_path / "scores"))  # an empty score cache
    runs = tmp_path / "runs"
    for kw, mode in (({"gpu": True}, "gpu"), ({"gpu": False, "with_nb101_naswot": True}, "flag")):
        exps, gates = resolve_suite("acceleration", quick=True, runs_dir=runs, **kw)
        assert [g.mode for g in gates] == [mode] and gates[0].gate == NB101_NASWOT
        labels = {s.label for s in _by_name(exps)["acc_nb101_pool"].strategies}
        assert {"ga_naswot", "nasea_xgb_naswot"} <= labels
        assert gates[0].runs_included == gates[0].runs_total == 2  # one quick seed each
    exps, gates = resolve_suite("acceleration", quick=True, runs_dir=runs, gpu=False)
    (g,) = gates
    assert g.mode == "off" and g.runs_included == 0 and g.runs_total == 2
    assert "not run" in g.note and "--with-nb101-naswot" in g.note
    labels = {s.label for s in _by_name(exps)["acc_nb101_pool"].strategies}
    assert labels == {"ga_val", "nasea_xgb_val"}
    assert not list(runs.rglob("run.json"))  # the probes wrote nothing
    # baselines has no gate
    assert resolve_suite("baselines", quick=True, runs_dir=runs, gpu=False)[1] == []


# -- NASWOT fitness on NB101 from the score cache ----------------------------------------------


def _nb101_exp(cache: Path) -> Any:
    nw = {"device": "cpu", "num_threads": 1, "batch_size": 8, "score_cache": str(cache)}
    return parse_experiment(
        {
            "name": "acc_nb101_pool",
            "seeds": 2,
            "count_repeats": True,
            "budget": {"evaluations": 20000},
            "benchmark": [{"name": "nb101-30k", "label": "nb101-30k-pool", "dataset": "cifar10"}],
            "strategy": [
                {"name": "genetic_study", "label": "ga_val", "params": SMALL_GA},
                {
                    "name": "genetic_study",
                    "label": "ga_naswot",
                    "params": SMALL_GA,
                    "evaluator": "naswot",
                    "evaluator_params": nw,
                    "max_seeds": 2,
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def nb101_runs(tmp_path_factory) -> tuple[Path, Any, list[Path]]:
    """Small real NB101 runs: GA val and GA NASWOT on the pool (NASWOT computed, cached)."""
    tmp = tmp_path_factory.mktemp("nb101")
    exp = _nb101_exp(tmp / "scores")
    roots = _roots(run_experiments([exp], tmp / "runs", workers=1, progress=False))
    return tmp, exp, roots


@pytest.mark.slow
def test_cache_only_runs_reproduce_computed_runs(nb101_runs) -> None:
    tmp, exp, roots = nb101_runs
    computed = pd.read_parquet(next(roots[0].rglob("ga_naswot/seed=0/*.parquet")))
    # the same runs in a fresh directory, cache only: complete, identical, nothing computed
    part, total, included, before = _from_cache(exp, {"ga_naswot"}, tmp / "again")
    assert (total, included, before) == (2, 2, 0)
    assert [(s.label, s.max_seeds) for s in part.strategies] == [("ga_naswot", 2)]
    again = pd.read_parquet(next((tmp / "again").rglob("ga_naswot/seed=0/*.parquet")))
    cols = ["arch_key", "signal", "val", "status"]
    pd.testing.assert_frame_equal(again[cols], computed[cols])
    import json

    ev = json.loads(next((tmp / "again").rglob("ga_naswot/seed=0/run.json")).read_text())
    assert ev["evaluator"]["n_computed"] == 0 and ev["evaluator"]["cache_only"] is True
    assert ev["evaluator"]["n_cached"] > 0
    # another weights seed has no cached score: the probe stops at once, writes nothing
    other = replace(exp, root_seed=1)
    nw = tuple(
        replace(s, evaluator_params={**(s.evaluator_params or {}), "batch_size": 16})
        for s in other.strategies
    )
    part, total, included, _ = _from_cache(replace(other, strategies=nw), {"ga_naswot"}, tmp / "x")
    assert (total, included) == (2, 0) and not part.strategies
    assert not list((tmp / "x").rglob("run.json"))
    # finished runs count as included without running again
    assert _from_cache(exp, {"ga_naswot"}, tmp / "again")[1:] == (2, 2, 2)


@pytest.mark.slow
def test_nb101_conclusions_use_validation(nb101_runs) -> None:
    _, _, roots = nb101_runs
    rs = load_runs(roots, columns=COLUMNS)
    ans = C.answers(rs)
    nw = ans[ans["strategy_label"] == "ga_naswot"]
    # NB101 ships no test accuracy: the reported metric is the validation accuracy, named so
    assert (nw["report_metric"] == "val_acc@108").all()
    assert np.isfinite(nw["answer_val"]).all()
    assert (nw["answer_reported"] == nw["answer_val"]).all()
    # every NASWOT trial of the search carries the cell's 108-epoch validation accuracy
    t = rs.trials[rs.trials["run_id"].isin(nw["run_id"]) & (rs.trials["phase"] != "final")]
    assert (
        np.isfinite(t["val"]).mean() > 0.9
        and (t["reported"].fillna(-1) == t["val"].fillna(-1)).all()
    )
    df = C.all_conclusions(rs, batch_table=None)
    (b,) = df[df["conclusion"] == "b"].to_dict("records")
    assert "VALIDATION" in b["statistic"] and "nan" not in b["statistic"]
    val_mean = float(np.nanmean(np.asarray(nb101.load().column("val_acc@108"), float)))
    assert f"{val_mean:.2f}" in b["statistic"]  # the 30k records' mean validation accuracy


# -- the surrogate setting in the report ---------------------------------------------------------


@pytest.fixture(scope="module")
def surrogate_runs(tmp_path_factory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("sur")
    strategies = [
        {"name": "genetic_study", "label": "ga_val", "params": SMALL_GA},
        {"name": "nas_ea_fa_v2_thesis", "label": "nasea_xgb_val", "params": SMALL_FA},
    ]
    exps = [
        parse_experiment(
            {
                "name": name,
                "seeds": 4,
                "count_repeats": True,
                "budget": {"evaluations": 20000},
                "benchmark": [{"name": bench, "label": label, "dataset": "cifar10"}],
                "strategy": strategies,
            }
        )
        for name, bench, label in (
            ("acc_nb101_surrogate", "nb101-surrogate", "nb101-surrogate"),
            ("acc_nb101_pool", "nb101-30k", "nb101-30k-pool"),
        )
    ]
    return _roots(run_experiments(exps, tmp / "runs", workers=1, progress=False))


def test_surrogate_agreement_and_report(surrogate_runs, tmp_path) -> None:
    rs = load_runs(surrogate_runs, columns=COLUMNS)
    sur = ["acc_nb101_surrogate:nb101-surrogate"]
    assert set(rs.runs.loc[rs.runs["benchmark"] == "nb101-surrogate", "setting"]) == set(sur)
    verdicts = C.all_conclusions(rs, batch_table=None)
    roles = C.setting_roles(rs.runs)
    assert roles.surrogate == sur and roles.names["surrogate"] == "nb101-surrogate"
    assert roles.names["same_space"] == "nb101-30k"  # real records of the same cells
    agree = C.surrogate_agreement(verdicts, roles).set_index("conclusion")
    assert list(agree.index) == ["a", "b", "c", "d", "e"]
    for c in ("a", "d", "e"):  # tested on both NB101 settings: a real comparison
        s_v = agree.loc[c, "nb101-surrogate (SURROGATE-BASED)"]
        p_v = agree.loc[c, "nb101-30k (real records, same space)"]
        assert s_v in {"yes", "no", "partly"} and p_v in {"yes", "no", "partly"}
        assert agree.loc[c, "agrees?"].startswith("yes" if s_v == p_v else "no")
    assert "not tested there" in agree.loc["b", "agrees?"]
    e = verdicts[(verdicts["conclusion"] == "e") & verdicts["setting"].isin(sur)].iloc[0]
    assert "val vs ga_val" in e["statistic"] and "nan vs nan" not in e["statistic"]
    gate = {
        "gate": NB101_NASWOT,
        "mode": "off",
        "runs_total": 6,
        "runs_included": 0,
        "note": "not run: no run completes from the NASWOT score cache; enable with ...",
    }
    path = write_suite_report(
        "acceleration",
        surrogate_runs,
        tmp_path / "rep",
        quick=True,
        timing={"machine": "test", "gates": [gate], "search_s": 1.0},
        batch_table=None,
    )
    text = path.read_text()
    assert "acc_nb101_surrogate:nb101-surrogate (SURROGATE-BASED)" in text
    assert "Does the surrogate-completed NB101 space agree?" in text
    assert "Gated setting `nb101-naswot`" in text and "mode **off**" in text
    assert "run seconds (sum)" in text and "Added settings: `nb101-surrogate` 8 runs" in text
    final = pd.read_csv(tmp_path / "rep" / "final_results.csv")
    assert final["setting"].str.endswith("(SURROGATE-BASED)").sum() == 2


def test_reproduce_has_the_nb101_naswot_flag() -> None:
    from harness.cli import build_parser

    p = build_parser()
    assert p.parse_args(["reproduce", "acceleration", "--with-nb101-naswot"]).with_nb101_naswot
    assert not p.parse_args(["reproduce", "acceleration"]).with_nb101_naswot


def test_loading_the_surrogate_does_not_deadlock_forked_workers() -> None:
    """The suite's parent process loads the nb101-surrogate models (experiment validation);
    its forked pool workers then fit XGBoost surrogates (NAS-EA-FA). Loading with XGBoost's
    default threads left an OpenMP team behind and the workers hung in their first fit."""
    import subprocess
    import sys

    script = """
import multiprocessing as mp
import numpy as np
from harness.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator
SurrogateBenchmarkEvaluator()
def fit(_):
    from harness.surrogates.xgb import XGBSurrogate
    rng = np.random.default_rng(0)
    XGBSurrogate().fit(rng.random((2000, 50)), rng.random(2000))
    return 1
with mp.get_context("fork").Pool(2) as pool:
    print(sum(pool.map_async(fit, range(2)).get(timeout=120)))
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "2", r.stderr[-2000:]
