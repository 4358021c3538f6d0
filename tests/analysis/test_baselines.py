from __future__ import annotations

from dataclasses import replace

from analysis import verdicts as V
from analysis.baselines import GAPS, PUBLISHED, baseline_table, write_baselines_report
from harness.runner.experiment import run_experiments
from harness.suites import load_suite


def test_published_rows_are_matched_with_real_runs(tmp_path):
    exps = [e for e in load_suite("baselines", seeds=4) if e.name != "base_nb101_150"]
    exps = [replace(e, seeds=(0, 1, 2, 3)) for e in exps]
    roots = run_experiments(exps, tmp_path / "runs", workers=1, progress=False).roots
    nb201, nb101 = baseline_table(roots)
    assert len(nb201) == sum(len(p[4]) for p in PUBLISHED) == 18
    assert {V.kind(v) for v in nb201["verdict"]} <= {V.REPRODUCED, V.DIFFERS, V.INCONCLUSIVE}
    assert (nb201["runs"] == 4).all()
    # 4 runs cannot show equivalence within 0.2 published std: no row may claim reproduced
    assert V.REPRODUCED not in set(nb201["verdict"])
    gaps = nb201.attrs["gaps"]
    assert len(gaps) == 3 * len(GAPS)
    assert set(gaps["gap"]) == {"REA - RS", "REINFORCE - RS", "NASWOT N=1000 - N=10"}
    assert (gaps["runs"] == "4 / 4").all()
    assert nb101.empty  # the NB101 experiment was not run
    report = write_baselines_report(roots, tmp_path / "report", {"machine": "test"}, quick=True)
    text = report.read_text()
    assert "NB201 paper, Table 5" in text and "VALIDATION" in text
    assert "TOST" in text and "The gaps the tables are about" in text
    # a run too small to decide says so and names the command that gives the full answer
    assert "`nash reproduce baselines`" in text and "Too few runs" in text
    assert (tmp_path / "report" / "nb201_gaps.csv").exists()
