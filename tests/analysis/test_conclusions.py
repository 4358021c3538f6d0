"""The reference study's conclusions computed on real (small) runs."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import conclusions as C
from analysis import verdicts as V
from analysis.load import load_runs
from analysis.suite_report import COLUMNS, write_suite_report
from harness.benchmarks import nb201 as t201
from harness.errors import UnknownName
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiments
from harness.suites import SUITES, load_suite

SMALL_FA = {"population_size": 20, "k": 6, "h": 4, "n_generations": 2, "n_rounds": 5}
SMALL_GA = {"population_size": 20, "n_generations": 10}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("acc")
    exp = parse_experiment(
        {
            "name": "acc_nb201_native",
            "seeds": 6,
            "count_repeats": True,
            "budget": {"evaluations": 20000},
            "benchmark": [
                {
                    "name": "nb201",
                    "label": "nb201-cifar10-200",
                    "dataset": "cifar10",
                    "space": "nb201",
                    "space_params": {"mutation": "per_edge"},
                }
            ],
            "strategy": [
                {"name": "genetic_study", "label": "ga_val", "params": SMALL_GA},
                {
                    "name": "genetic_study",
                    "label": "ga_naswot",
                    "params": SMALL_GA,
                    "signal": "zc_nwot",
                },
                {"name": "nas_ea_fa_v2_thesis", "label": "nasea_xgb_val", "params": SMALL_FA},
                {
                    "name": "nas_ea_fa_v2_thesis",
                    "label": "nasea_xgb_naswot",
                    "params": SMALL_FA,
                    "signal": "zc_nwot",
                },
            ],
        }
    )
    roots = run_experiments([exp], out, workers=1, progress=False).roots
    return out, roots


def test_verdicts_name_their_statistics(runs):
    _, roots = runs
    rs = load_runs(roots, columns=COLUMNS)
    mean = float(np.nanmean(t201.load().column("cifar10", "test_acc@200")))
    # (b)'s space mean is the benchmark's own mean of each setting's reported metric
    means = C.space_means(rs.runs)
    c10 = rs.runs.loc[rs.runs["dataset"] == "cifar10", "setting"].iloc[0]
    assert means[c10] == pytest.approx(mean)
    df = C.all_conclusions(rs, batch_table=None)
    assert set(df["conclusion"]) == {"a", "b", "c", "d", "e"}
    assert {V.kind(v) for v in df["supported"]} <= {"yes", "no", "partly", "inconclusive", "n/a"}
    # 6 vs 6 runs can reach p = 0.002 (MWU): (a) is decided, not called underpowered
    assert V.kind(df[df["conclusion"] == "a"].iloc[0]["supported"]) in {"yes", "no"}
    a = df[df["conclusion"] == "a"].iloc[0]
    assert "MWU" in a["statistic"] and "distinct cells in the first 50 queries" in a["statistic"]
    d = df[df["conclusion"] == "d"].iloc[0]
    assert "KS D" in d["statistic"] and "NASWOT fitness" in d["statistic"]
    assert df[df["conclusion"] == "c"].iloc[0]["supported"] == "n/a"


def test_answers_pick_the_paid_final_cell_for_naswot_runs(runs):
    _, roots = runs
    rs = load_runs(roots, columns=COLUMNS)
    ans = C.answers(rs)
    nw = ans[ans["strategy_label"] == "ga_naswot"]
    tab = t201.load()
    for _, r in nw.iterrows():
        # the answer is a trained cell: its validation accuracy is a real table value
        assert 10 < r["answer_val"] <= tab.optimum("cifar10", "val_acc@200")[0]
    ga = ans[ans["strategy_label"] == "ga_val"]
    assert (ga["answer_val"] == ga["final_signal"]).all()  # seed-mean signal: val is the signal


def test_suite_report_is_written(runs, tmp_path):
    _, roots = runs
    report = write_suite_report(
        "acceleration",
        roots,
        tmp_path,
        quick=True,
        timing={
            "machine": "test",
            "workers": 1,
            "runs_total": 24,
            "runs_executed": 24,
            "search_s": 1.0,
        },
        batch_table=None,
    )
    text = report.read_text()
    assert "The reference study's conclusions, tested" in text
    assert "VALIDATION" in text  # the NB101 caveat is always stated
    assert (tmp_path / "experiments" / "acc_nb201_native" / "report.md").exists()
    assert (tmp_path / "conclusions.csv").exists()
    # a --quick report says what its run counts cannot tell and names the full command
    assert "This is a --quick run" in text and "`nash reproduce acceleration`" in text


def test_three_seeds_are_reported_as_underpowered(runs):
    _, roots = runs
    rs = load_runs(roots, columns=COLUMNS)
    keep = rs.runs["seed"] < 3
    small = type(rs)(
        runs=rs.runs[keep],
        trials=rs.trials[rs.trials["run_id"].isin(rs.runs.loc[keep, "run_id"])],
        problems=[],
    )
    (a,) = C.conclusion_a(small)
    assert a.supported == V.underpowered(0.1)  # 3 vs 3 runs: MWU cannot go below p = 0.1
    for v in C.conclusion_d(C.answers(small)):
        assert v.kind == "inconclusive"


def test_quick_suite_shrinks_but_keeps_run_identities():
    full = {e.name: e for e in load_suite("acceleration")}
    quick = load_suite("acceleration", quick=True)
    assert {e.name for e in quick} < set(full)
    for e in quick:
        f = full[e.name]
        assert len(e.runs()) < len(f.runs())
        fh = {r.config_hash() for r in f.runs()}
        assert {r.config_hash() for r in e.runs()} <= fh  # quick runs are full runs' first seeds
    assert "acceleration" in SUITES
    with pytest.raises(UnknownName, match="acceleration"):
        load_suite("accelerate")


def test_batch_size_conclusion_reads_the_committed_table():
    from pathlib import Path

    import harness

    table = Path(harness.__file__).parent / "zc_data" / "nb201_naswot_batch_sizes.csv"
    (v,) = C.conclusion_c(table)
    assert v.supported in {"yes", "no", "partly"}
    for b in (16, 32, 64, 128):
        assert f"batch {b}: rho = " in v.statistic
    assert "64->128: change" in v.statistic
