"""The report end to end on small real experiments, and through `nash report`."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analysis.report import build_report, to_latex, to_markdown
from harness.cli import main
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment


def test_report_end_to_end(small_root, tmp_path):
    path = build_report(small_root, tmp_path / "rep")
    text = path.read_text()
    # the metric, seeds and budgets are stated
    assert "reported metric: 200-epoch test accuracy (seed mean)" in text
    assert "0-5" in text and "evaluations=30" in text
    assert "charged evaluations" in text and "queries" in text
    for section in (
        "## Final results",
        "## Anytime performance",
        "## Pairwise tests",
        "## Ranks across settings",
        "## Evaluations to reach a target",
        "## Summary in plain language",
        "## Software",
    ):
        assert section in text
    assert "Holm" in text and "A12" in text and "Friedman" in text
    # every referenced figure and table exists
    for name in ("final", "pairwise", "speedup", "anytime", "ranks", "settings"):
        assert (tmp_path / "rep" / "tables" / f"{name}.csv").is_file()
        tex = (tmp_path / "rep" / "tables" / f"{name}.tex").read_text()
        assert "\\toprule" in tex and "\\bottomrule" in tex
    import re

    figs = re.findall(r"\(figures/([^)]+\.png)\)", text)
    assert len(figs) >= 8
    for f in figs:
        p = tmp_path / "rep" / "figures" / f
        assert p.is_file() and p.stat().st_size > 1000
        assert p.with_suffix(".pdf").is_file()
    # tables trace back to the runs: the CSV has the numbers of the run manifests
    final = pd.read_csv(tmp_path / "rep" / "tables" / "final.csv")
    assert final["n"].sum() == 36
    # reproducible: same runs, same numbers
    build_report(small_root, tmp_path / "rep2")
    pd.testing.assert_frame_equal(final, pd.read_csv(tmp_path / "rep2" / "tables" / "final.csv"))


def test_partial_results_are_reported(small_root, tmp_path):
    root = tmp_path / "ana_small"
    shutil.copytree(small_root, root)
    shutil.rmtree(root / "nb201-cifar100" / "aging_evolution" / "seed=5")
    text = build_report(root, tmp_path / "rep").read_text()
    assert "nb201-cifar100 / aging_evolution: 1 of 6 runs missing (seeds 5)" in text


@pytest.mark.slow
def test_nb101_report_says_validation(tmp_path):
    exp = parse_experiment(
        {
            "name": "nb101_tiny",
            "seeds": 2,
            "budget": {"evaluations": 15},
            "benchmark": [{"name": "nb101-30k"}],
            "strategy": [{"name": "random_search"}, {"name": "aging_evolution"}],
        }
    )
    root = run_experiment(exp, tmp_path / "runs", workers=1, progress=False)
    text = build_report(root, tmp_path / "rep", zero_cost_demo=False).read_text()
    assert "VALIDATION" in text and "Validation only" in text
    final = pd.read_csv(tmp_path / "rep" / "tables" / "final.csv")
    assert final["mean"].notna().all()  # filled from the incumbent's validation accuracy
    from analysis.summary import summarize_experiment

    summary = summarize_experiment(root)
    assert "VALIDATION" in summary and "nan" not in summary


def test_nash_report_cli(small_root, tmp_path, capsys):
    assert main(["report", str(small_root), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").is_file()
    assert "report written" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_table_writers_escape():
    df = pd.DataFrame({"a_b": ["x|y", "50%"], "n": ["1 ± 2", "∞"]})
    md = to_markdown(df)
    assert "x\\|y" in md and md.count("\n") == 3
    tex = to_latex(df, "cap_tion", "lab")
    assert r"a\_b" in tex and r"50\%" in tex and r"$\pm$" in tex and r"$\infty$" in tex


def test_acceleration_target_rule(small_root):
    """Known answers: 25 % where it separates; past it where every strategy hits it at once."""
    import dataclasses

    import numpy as np

    from analysis import load as L
    from analysis import stats as S
    from analysis.report import AUTO_QUANTILES, choose_targets

    rs = L.load_runs(small_root)
    f = L.finals(rs)
    base = S.default_baseline(f)
    auto, rule = choose_targets(rs, f, base, None, None)
    fixed, _ = choose_targets(rs, f, base, 0.25, None)
    assert auto == fixed and "25 %" in rule  # 30 evaluations on NB201: 25 % is not trivial
    value, vrule = choose_targets(rs, f, base, None, 70.0)
    assert set(value.values()) == {70.0} and "70" in vrule
    # every run at the best value from its first query on (a benchmark where any cell is near
    # the best): each quantile is reached at once, so the rule walks to its last and says so
    t = rs.trials.copy()
    flat = dataclasses.replace(
        rs, trials=t.assign(incumbent_reported=t["incumbent_reported"].max())
    )
    auto_flat, rule_flat = choose_targets(flat, f, base, None, None)
    for s, tv in auto_flat.items():
        v = f.loc[(f["setting"] == s) & (f["strategy_label"] == base[s]), "final_reported"]
        assert tv == float(np.quantile(v, AUTO_QUANTILES[-1], method="lower"))
    assert "not trivial" in rule_flat
