from __future__ import annotations

from dataclasses import replace

from analysis.baselines import PUBLISHED, baseline_table, write_baselines_report
from harness.runner.experiment import run_experiments
from harness.suites import load_suite


def test_published_rows_are_matched_with_real_runs(tmp_path):
    exps = [e for e in load_suite("baselines", seeds=4) if e.name != "base_nb101_150"]
    exps = [replace(e, seeds=(0, 1, 2, 3)) for e in exps]
    roots = run_experiments(exps, tmp_path / "runs", workers=1, progress=False).roots
    nb201, nb101 = baseline_table(roots)
    assert len(nb201) == sum(len(p[4]) for p in PUBLISHED) == 18
    assert set(nb201["verdict"]) <= {"reproduced", "not reproduced"}
    assert (nb201["runs"] == 4).all()
    assert nb101.empty  # the NB101 experiment was not run
    report = write_baselines_report(roots, tmp_path / "report", {"machine": "test"})
    text = report.read_text()
    assert "NB201 paper, Table 5" in text and "VALIDATION" in text
