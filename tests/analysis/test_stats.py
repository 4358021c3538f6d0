"""Statistics against hand-computed values and against scipy / statsmodels / scikit-posthocs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs as sp
from scipy import stats as ss

from analysis import stats as S
from analysis.load import finals, load_runs


def test_a12_and_cliffs_delta_hand_computed():
    # x = [1, 2, 3], y = [1, 1, 2]: of the 9 pairs, x wins 5 ((2,1)x2, (3,1)x2, (3,2)),
    # loses 1 ((1,2)), ties 3 ((1,1)x2, (2,2)) -> A12 = (5 + 3/2) / 9, delta = (5 - 1) / 9
    x, y = [1, 2, 3], [1, 1, 2]
    assert S.a12(x, y) == pytest.approx(6.5 / 9)
    assert S.cliffs_delta(x, y) == pytest.approx(4 / 9)
    assert S.a12(y, x) == pytest.approx(1 - 6.5 / 9)
    # complete dominance and identity
    assert S.a12([5, 6, 7], [1, 2]) == 1.0
    assert S.cliffs_delta([1, 2], [5, 6, 7]) == -1.0
    assert S.a12([3, 3], [3, 3, 3]) == 0.5


def test_effect_size_magnitudes():
    assert S.magnitude(0.5) == "negligible"
    assert S.magnitude(0.57) == "small"
    assert S.magnitude(0.30) == "medium"  # |0.30 - 0.5| = 0.20
    assert S.magnitude(0.72) == "large"
    assert S.magnitude(0.2, "delta") == "small"
    assert S.magnitude(-0.5, "delta") == "large"
    assert S.magnitude(math.nan) == "n/a"


def test_holm_known_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone
    # max: 0.02, 0.03, 0.06, 0.06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(S.holm(p), [0.03, 0.06, 0.06, 0.02])
    out = S.holm([0.01, math.nan, 0.04])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.04])  # the NaN is not counted


def test_compare_pair_matches_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.3, 1, 25), rng.normal(0, 1, 25)
    seeds = np.arange(25)
    r = S.compare_pair(x, y, x_seeds=seeds, y_seeds=seeds[::-1])
    mw = ss.mannwhitneyu(x, y, alternative="two-sided")
    ks = ss.ks_2samp(x, y)
    wx = ss.wilcoxon(x - y[::-1])  # pairs by seed, whatever the order given
    assert r["p_mwu"] == pytest.approx(mw.pvalue)
    assert r["U"] == pytest.approx(mw.statistic)
    assert r["p_ks"] == pytest.approx(ks.pvalue)
    assert r["p_wilcoxon"] == pytest.approx(wx.pvalue)
    assert r["n_pairs"] == 25
    assert r["A12"] == pytest.approx(mw.statistic / 625)
    # identical paired outcomes: Wilcoxon is undefined in scipy; reported as no difference
    same = S.compare_pair(x, x, x_seeds=seeds, y_seeds=seeds)
    assert same["p_wilcoxon"] == 1.0 and same["A12"] == 0.5


def test_bootstrap_ci_is_scipy_seeded_and_reproducible():
    x = np.random.default_rng(0).normal(size=40)
    lo, hi = S.bootstrap_ci(x, seed=3)
    ref = ss.bootstrap((x,), np.mean, rng=np.random.default_rng(3), n_resamples=S.N_BOOT)
    assert (lo, hi) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert S.bootstrap_ci(x, seed=3) == (lo, hi)
    assert lo < x.mean() < hi
    assert S.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert all(math.isnan(v) for v in S.bootstrap_ci([1.0]))


def test_describe():
    x = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    d = S.describe(x)
    assert d["n"] == 4
    assert d["mean"] == 2.5 and d["median"] == 2.5
    assert d["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert d["iqr"] == pytest.approx(np.quantile([1, 2, 3, 4], 0.75) - 1.75)


def test_rank_analysis_against_scipy_and_scikit_posthocs():
    # 5 blocks x 4 strategies; higher is better
    wide = pd.DataFrame(
        {
            "A": [9.0, 8.0, 9.5, 7.0, 8.5],
            "B": [8.0, 8.5, 9.0, 6.0, 8.0],
            "C": [7.0, 7.5, 8.0, 6.5, 7.0],
            "D": [6.0, 6.0, 7.0, 5.0, 6.5],
        }
    )
    long = wide.assign(setting=[f"b{i}" for i in range(5)]).melt(
        id_vars="setting", var_name="strategy_label", value_name="final_reported"
    )
    r = S.rank_analysis(long, "final_reported")
    fr = ss.friedmanchisquare(*[wide[c] for c in wide.columns])
    assert r.statistic == pytest.approx(fr.statistic)
    assert r.pvalue == pytest.approx(fr.pvalue)
    assert r.ranks["A"] == pytest.approx(1.2)  # ranks 1, 2, 1, 1, 1
    assert r.ranks["D"] == pytest.approx(4.0)
    ref = sp.posthoc_nemenyi_friedman(wide)
    np.testing.assert_allclose(r.nemenyi.loc[ref.index, ref.columns], ref)
    # Demšar (2006), Table 5: q_0.05 = 2.569 for k = 4
    assert r.cd == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 5)), abs=1e-3)
    two = S.rank_analysis(long[long["strategy_label"].isin(["A", "B"])], "final_reported")
    assert math.isnan(two.pvalue) and "3 strategies" in two.note


def test_unknown_metric_is_a_clear_error(small_root):
    f = finals(load_runs(small_root))
    with pytest.raises(S.ResultsError, match="unknown metric 'final_acc'"):
        S.summary_table(f, "final_acc")
    with pytest.raises(S.ResultsError, match="unknown metric"):
        S.pairwise_table(f, "nope")
    with pytest.raises(S.ResultsError, match="unknown metric 'test_acc'"):
        S.anytime_table(load_runs(small_root), y="test_acc")


def test_evals_to_target_on_real_runs(small_root):
    rs = load_runs(small_root)
    target = {"nb201-cifar10": 93.0, "nb201-cifar100": 69.0}
    ttt = S.evals_to_target(rs, target)
    assert len(ttt) == len(rs.runs)
    for r in ttt.itertuples():
        path = rs.runs.set_index("run_id").loc[r.run_id, "path"]
        t = pd.read_parquet(f"{path}/trials.parquet").sort_values("step")
        hit = t[t["incumbent_reported"] >= target[r.setting]]
        if hit.empty:
            assert r.evals == math.inf and not r.reached
        else:
            assert r.evals == hit["cum_evals"].iloc[0] and r.reached
    # an unreachable target: nobody reaches it, every time is censored
    none = S.evals_to_target(rs, 99.9)
    assert not none["reached"].any() and np.isinf(none["evals"]).all()
    sp_ = S.speedup_table(ttt, "random_search")
    base = sp_[sp_["strategy_label"] == "random_search"]
    assert (base["speedup"] == 1.0).all()
    assert sp_["reached"].between(0, 1).all()
    row = sp_[(sp_["strategy_label"] == "aging_evolution") & (sp_["setting"] == "nb201-cifar10")]
    tb = ttt[(ttt.setting == "nb201-cifar10") & (ttt.strategy_label == "random_search")]["evals"]
    ta = ttt[(ttt.setting == "nb201-cifar10") & (ttt.strategy_label == "aging_evolution")]["evals"]
    with np.errstate(invalid="ignore"):
        expect = np.median(tb) / np.median(ta)
    assert row["speedup"].iloc[0] == pytest.approx(expect, nan_ok=True)


def test_median_with_censoring_is_kaplan_meier_for_a_common_budget():
    # 7 runs, budget 100: 5 reach the target, 2 never (censored at 100)
    t = np.array([12.0, 30.0, 45.0, 60.0, 80.0, np.inf, np.inf])
    km = ss.ecdf(ss.CensoredData(uncensored=t[np.isfinite(t)], right=[100.0, 100.0]))
    # KM median: smallest time where the survival function drops to 0.5 or below
    q = km.sf.quantiles
    med_km = q[np.argmax(km.sf.probabilities <= 0.5)]
    assert np.median(t) == med_km == 60.0


def test_pairwise_table_holm_and_pairing_on_real_runs(small_root):
    f = finals(load_runs(small_root))
    pw = S.pairwise_table(f, "final_reported")
    assert len(pw) == 2 * 3  # two settings, three pairs each
    assert (pw["n_pairs"] == 6).all()  # paired by seed
    np.testing.assert_allclose(pw["p_mwu_holm"], S.holm(pw["p_mwu"]))
    assert (pw["p_mwu_holm"] >= pw["p_mwu"] - 1e-12).all()
