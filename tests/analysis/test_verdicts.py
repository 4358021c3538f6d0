"""The verdict rules on synthetic inputs whose truth is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as ss

from analysis import verdicts as V


def _sample(mean: float, std: float, n: int, seed: int) -> np.ndarray:
    """Exactly mean ± std (so the truth is the parameters, not sampling luck)."""
    z = np.random.default_rng(seed).standard_normal(n)
    return mean + std * (z - z.mean()) / z.std(ddof=1)


def test_equal_distribution_with_many_runs_is_reproduced():
    r = V.published_row(_sample(93.70, 0.36, 500, 0), 93.70, 0.36, 500)
    assert r.verdict == V.REPRODUCED and r.text() == "reproduced"
    assert abs(r.diff) < 1e-9 and r.ci_lo < 0 < r.ci_hi
    assert r.margin == pytest.approx(V.MARGIN_SD * 0.36)
    assert r.p_tost < V.ALPHA


def test_a_shift_of_three_std_differs_and_says_by_how_much():
    r = V.published_row(_sample(93.70 + 3 * 0.36, 0.36, 500, 1), 93.70, 0.36, 500)
    assert r.verdict == V.DIFFERS
    assert r.diff == pytest.approx(1.08)
    assert r.text().startswith("differs by +1.08 [")


def test_a_shift_the_width_of_the_old_band_is_no_longer_reproduced():
    # the REA row of NB201 cifar10 read by random search's mean: 0.22 apart, inside the
    # published std (0.30) that used to count as reproduced
    r = V.published_row(_sample(93.70, 0.36, 500, 2), 93.92, 0.30, 500)
    assert r.verdict == V.DIFFERS


def test_few_runs_are_inconclusive_not_reproduced():
    r = V.published_row(_sample(93.70, 0.36, 3, 3), 93.70, 0.36, 500)
    assert r.verdict == V.INCONCLUSIVE
    assert "inconclusive" in r.text() and "margin" in r.text()
    one = V.published_row([93.7], 93.7, 0.36, 500)
    assert one.verdict == V.INCONCLUSIVE and "fewer than 2 runs" in one.text()


def test_tost_matches_its_definition():
    # the 90 % CI inside the margin <=> TOST rejects at 5 %
    for diff in (0.0, 0.03, 0.05, 0.07):
        r = V.equivalence(diff, se=0.02, df=998, margin=0.06)
        half90 = ss.t(998).ppf(0.95) * 0.02
        inside = -0.06 < diff - half90 and diff + half90 < 0.06
        assert (r.verdict == V.REPRODUCED) == inside


def test_gap_equal_to_published_is_reproduced_and_a_missing_gap_differs():
    rea, rs = _sample(93.92, 0.30, 500, 4), _sample(93.70, 0.36, 500, 5)
    g = V.published_gap(rea, rs, (93.92, 0.30), (93.70, 0.36), 500)
    assert g.ours == pytest.approx(0.22) and g.published == pytest.approx(0.22)
    assert g.ours_lo < 0.22 < g.ours_hi
    assert g.row.verdict == V.REPRODUCED
    # no gap at all (both methods as good as random search): differs by -0.22
    g0 = V.published_gap(_sample(93.70, 0.36, 500, 6), rs, (93.92, 0.30), (93.70, 0.36), 500)
    assert g0.row.verdict == V.DIFFERS and g0.row.diff == pytest.approx(-0.22)


def test_min_p_is_the_exact_floor():
    assert V.min_p_mwu(3, 3) == pytest.approx(0.1)
    assert V.min_p_mwu(30, 30) < 1e-15
    assert V.min_p_mwu(1, 1) == 1.0
    assert V.min_p_wilcoxon(4) == pytest.approx(0.125)
    # the floor is what scipy's exact test gives for samples that do not overlap
    p = ss.mannwhitneyu([1, 2, 3], [4, 5, 6], alternative="two-sided", method="exact").pvalue
    assert p == pytest.approx(V.min_p_mwu(3, 3))
    p = ss.wilcoxon([1.0, 2.0, 3.0, 4.0], alternative="two-sided").pvalue
    assert p == pytest.approx(V.min_p_wilcoxon(4))


def test_three_against_three_runs_is_inconclusive_with_min_p_0_1():
    x, y = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    p = float(ss.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    word = V.decide(p, True, V.min_p_mwu(3, 3))
    assert (
        word
        == "inconclusive (underpowered: the smallest achievable p with these run counts is 0.1)"
    )
    assert V.kind(word) == V.INCONCLUSIVE


def test_many_runs_decide_yes_or_no():
    rng = np.random.default_rng(7)
    x, y = rng.normal(0, 1, 30), rng.normal(3, 1, 30)
    p = float(ss.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    assert V.decide(p, True, V.min_p_mwu(30, 30)) == V.YES
    assert V.decide(p, False, V.min_p_mwu(30, 30)) == V.NO  # significant, wrong direction
    y2 = rng.normal(0, 1, 30)
    p2 = float(ss.mannwhitneyu(x, y2, alternative="two-sided").pvalue)
    assert p2 > V.ALPHA
    assert V.decide(p2, True, V.min_p_mwu(30, 30)) == V.NO
    # a Holm family of 2 doubles the floor: 5 vs 5 runs (0.0079) can still pass, 4 vs 4 cannot
    assert V.kind(V.decide(0.5, True, V.min_p_mwu(5, 5), tests=2)) == V.NO
    assert V.kind(V.decide(0.5, True, V.min_p_mwu(4, 4), tests=2)) == V.INCONCLUSIVE


def test_combine_is_a_written_conjunction():
    inc = V.underpowered(0.1)
    assert V.combine([V.YES, V.YES]) == V.YES
    assert V.combine([V.YES, V.NO]) == V.PARTLY
    assert V.combine([V.NO, V.NO]) == V.NO
    assert V.combine([V.YES, inc]) == inc
    assert V.combine([inc, V.underpowered(0.333)]) == V.underpowered(0.333)
    assert V.combine([V.NO, inc]) == V.NO  # a conjunction with a false clause is false
    assert V.combine([]) == V.NA


def test_fmt_p():
    assert V.fmt_p(0.0001) == "p < 0.001"
    assert V.fmt_p(0.05) == "p = 0.050"
    assert V.fmt_p(math.nan) == "p = n/a"


def test_best_choice_is_no_when_faster_in_neither_accounting():
    # the old rule said "partly" here as long as the method was not significantly worse
    assert V.best_choice([V.NO, V.NO], [], 1e-9) == V.NO
    assert V.best_choice([V.YES, V.YES], ["ga_val"], 1e-9) == V.NO
    assert V.best_choice([V.YES, V.YES], [], 1e-9) == V.YES
    assert V.best_choice([V.YES, V.NO], [], 1e-9) == V.PARTLY
    # "not worse" from comparisons that could not have failed shows nothing
    assert V.best_choice([V.YES, V.YES], [], 0.4) == V.underpowered(0.4)
    assert V.kind(V.best_choice([V.underpowered(0.1), V.YES], [], 1e-9)) == V.INCONCLUSIVE
    assert V.best_choice([V.underpowered(0.1), V.NO], [], 1e-9) == V.underpowered(0.1)


def test_batch_size_rule():
    assert V.does_not_always_help([False, True], [True, False], [False, False]) == V.YES
    assert V.does_not_always_help([False, False], [True, False], [False, True]) == V.YES
    assert V.does_not_always_help([False, False], [True, True], [False, False]) == V.NO
    word = V.does_not_always_help([False, False], [True, False], [False, False])
    assert V.kind(word) == V.INCONCLUSIVE
