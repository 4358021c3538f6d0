from __future__ import annotations

from dataclasses import replace

import numpy as np

from analysis import verdicts as V
from analysis.baselines import GAPS, PUBLISHED, baseline_table, write_baselines_report
from harness.cli import build_parser
from harness.runner.experiment import run_experiments
from harness.suites import load_suite, resolve_suite


def test_published_rows_are_matched_with_real_runs(tmp_path):
    exps = [e for e in load_suite("baselines", seeds=4, gates=()) if e.name != "base_nb101_150"]
    exps = [replace(e, seeds=(0, 1, 2, 3)) for e in exps]
    roots = run_experiments(exps, tmp_path / "runs", workers=1, progress=False).roots
    nb201, nb101 = baseline_table(roots)
    assert len(nb201) == sum(len(p[4]) for p in PUBLISHED) == 24  # REA RS REINFORCE BOHB x2 NASWOT
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


def test_ordering_pairs_rule_on_known_orderings():
    """The NB101 ordering rule: published order kept, reversed, not separated, underpowered."""
    rng = np.random.default_rng(0)
    err = {"a": 5.9, "b": 6.1, "c": 6.3}
    ours = {"a": 95 + rng.normal(0, 0.1, 60), "b": 94 + rng.normal(0, 0.1, 60)}
    ours["c"] = 94 + rng.normal(0, 0.1, 60)  # b and c alike
    by = {(p.better, p.worse): p.word for p in V.ordering_pairs(ours, err)}
    assert by == {("a", "b"): V.AGREES, ("a", "c"): V.AGREES, ("b", "c"): V.NOT_SEPARATED}
    flipped = V.ordering_pairs({"a": ours["b"], "b": ours["a"]}, err)
    assert [p.word for p in flipped] == [V.REVERSED]
    few = V.ordering_pairs({"a": ours["a"][:2], "b": ours["b"][:2]}, err)
    assert V.kind(few[0].word) == V.INCONCLUSIVE  # 2 vs 2 runs: p >= 1/3 whatever the data


def test_model_based_part_is_opt_in_and_not_quick(tmp_path):
    default, gates = resolve_suite("baselines", runs_dir=tmp_path, gpu=False)
    names = {e.name for e in default}
    assert "base_nb201_table5_bohb" in names  # the BOHB row is in the default suite
    assert not names & {"base_nb101_150_model_based", "base_multi_fidelity_nb201"}
    assert [g.mode for g in gates] == ["off"]
    opted, gates = resolve_suite("baselines", runs_dir=tmp_path, gpu=False, with_model_based=True)
    assert {e.name for e in opted} - names == {
        "base_nb101_150_model_based",
        "base_nb101_150_model_based_surrogate",
        "base_multi_fidelity_nb201",
    }
    assert [g.mode for g in gates] == ["flag"]
    quick, _ = resolve_suite("baselines", quick=True, runs_dir=tmp_path, with_model_based=True)
    assert sum(len(e.runs()) for e in quick if e.name == "base_nb201_table5_bohb") == 30
    assert all("model_based" not in e.name for e in quick)
    assert (
        build_parser()
        .parse_args(["reproduce", "baselines", "--with-model-based"])
        .with_model_based
    )
