"""Statistics for a results section: summaries with bootstrap CIs, tests, effect sizes, ranks.

Why these and not others: the reference study asks "do two strategies' final accuracies come
from different distributions" (Mann-Whitney U, two-sample Kolmogorov-Smirnov); the runner gives
strategies of one experiment common random numbers per seed, so runs can also be paired by seed
(Wilcoxon signed-rank); p-values alone say nothing about size, hence Vargha-Delaney A12 and
Cliff's delta; many comparisons need a family-wise correction (Holm); comparisons across several
benchmarks use Friedman with the Nemenyi post-hoc and average ranks (Demšar 2006). The tests
come from scipy, Holm from statsmodels and Nemenyi from scikit-posthocs, so that nothing a
reviewer must trust is hand-rolled here; A12 is read off scipy's U statistic.

Every random quantity (bootstrap) takes a seed, so a report rebuilt from the same runs prints
the same numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats as ss

from analysis.load import ResultsError, RunSet, check_axis, on_grid

LEVEL = 0.95
N_BOOT = 9999
SEED = 0

#: Vargha & Delaney (2000) thresholds on |A12 - 0.5|: small 0.06, medium 0.14, large 0.21.
A12_THRESHOLDS = ((0.21, "large"), (0.14, "medium"), (0.06, "small"))
#: Romano et al. (2006) thresholds on |Cliff's delta|.
DELTA_THRESHOLDS = ((0.474, "large"), (0.33, "medium"), (0.147, "small"))


# -- summaries --------------------------------------------------------------------------------
def bootstrap_ci(
    x: Sequence[float] | np.ndarray,
    statistic: Callable[..., Any] = np.mean,
    *,
    level: float = LEVEL,
    n_resamples: int = N_BOOT,
    seed: int = SEED,
    method: str = "BCa",
) -> tuple[float, float]:
    """Bootstrap CI of ``statistic`` (scipy.stats.bootstrap, seeded; BCa by default).

    NaNs are dropped. Fewer than 2 values give (nan, nan); constant data give (v, v), where
    BCa is undefined and any interval would be a degenerate point anyway.
    """
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return (math.nan, math.nan)
    if np.all(a == a[0]):
        return (float(a[0]), float(a[0]))
    res = ss.bootstrap(
        (a,),
        statistic,
        n_resamples=n_resamples,
        confidence_level=level,
        method=method,
        rng=np.random.default_rng(seed),
        vectorized=True,
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def describe(x: Sequence[float] | np.ndarray, *, seed: int = SEED) -> dict[str, float]:
    """n, mean with 95% bootstrap CI, std, median with CI, quartiles, IQR, min, max."""
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {k: math.nan for k in _DESCRIBE_KEYS} | {"n": 0}
    lo, hi = bootstrap_ci(a, np.mean, seed=seed)
    mlo, mhi = bootstrap_ci(a, np.median, seed=seed, method="percentile")
    q25, med, q75 = np.quantile(a, [0.25, 0.5, 0.75])
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "mean_ci_lo": lo,
        "mean_ci_hi": hi,
        "std": float(a.std(ddof=1)) if a.size > 1 else math.nan,
        "median": float(med),
        "median_ci_lo": mlo,
        "median_ci_hi": mhi,
        "q25": float(q25),
        "q75": float(q75),
        "iqr": float(q75 - q25),
        "min": float(a.min()),
        "max": float(a.max()),
    }


_DESCRIBE_KEYS = (
    "mean",
    "mean_ci_lo",
    "mean_ci_hi",
    "std",
    "median",
    "median_ci_lo",
    "median_ci_hi",
    "q25",
    "q75",
    "iqr",
    "min",
    "max",
)


def summary_table(
    df: pd.DataFrame,
    value: str,
    *,
    by: Sequence[str] = ("setting", "strategy_label"),
    seed: int = SEED,
) -> pd.DataFrame:
    """:func:`describe` of ``value`` per group (e.g. final test per setting and strategy)."""
    if value not in df.columns:
        raise ResultsError(f"unknown metric {value!r}; available: {', '.join(df.columns)}")
    rows = []
    for key, g in df.groupby(list(by), sort=False):
        keys = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(by, keys, strict=True)) | describe(g[value].to_numpy(), seed=seed))
    return pd.DataFrame(rows)


def anytime_table(
    rs: RunSet,
    *,
    y: str = "incumbent_reported",
    x: str = "cum_evals",
    checkpoints: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    seed: int = SEED,
) -> pd.DataFrame:
    """Summaries of the incumbent at fractions of the budget, and of its area under the curve.

    Why: a final number hides how fast a strategy gets there. ``checkpoints`` are fractions of
    the largest ``x`` in each setting (charged evaluations by default); the ``auc`` row is the
    mean of the incumbent over the whole grid (normalised area under the anytime curve; for
    regret, lower is better).
    """
    check_axis(x, y)
    rows = []
    for setting in rs.settings:
        sub = _subset(rs, setting)
        grid, keys, vals = on_grid(sub, x=x, y=y)
        hi = grid[-1]
        for frac in checkpoints:
            j = int(np.searchsorted(grid, frac * hi - 1e-9))
            j = min(j, len(grid) - 1)
            for strat, idx in keys.groupby("strategy_label", sort=False).indices.items():
                rows.append(
                    {"setting": setting, "strategy_label": strat, "at": f"{grid[j]:g}"}
                    | describe(vals[idx, j], seed=seed)
                )
        auc = np.nanmean(vals, axis=1)
        for strat, idx in keys.groupby("strategy_label", sort=False).indices.items():
            rows.append(
                {"setting": setting, "strategy_label": strat, "at": "auc"}
                | describe(auc[idx], seed=seed)
            )
    return pd.DataFrame(rows)


def _subset(rs: RunSet, setting: str) -> RunSet:
    runs = rs.runs[rs.runs["setting"] == setting]
    trials = rs.trials[rs.trials["run_id"].isin(runs["run_id"])]
    return RunSet(runs=runs, trials=trials, experiments=rs.experiments, problems=rs.problems)


# -- effect sizes ------------------------------------------------------------------------------
def a12(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Vargha-Delaney A12 = P(X > Y) + P(X = Y) / 2, read off scipy's Mann-Whitney U of x."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    xa, ya = xa[np.isfinite(xa)], ya[np.isfinite(ya)]
    if xa.size == 0 or ya.size == 0:
        return math.nan
    u = ss.mannwhitneyu(xa, ya, alternative="two-sided").statistic
    return float(u) / (xa.size * ya.size)


def cliffs_delta(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Cliff's delta = P(X > Y) - P(X < Y) = 2 A12 - 1."""
    return 2.0 * a12(x, y) - 1.0


def magnitude(value: float, kind: str = "a12") -> str:
    """Verbal size of an effect (negligible / small / medium / large) by the usual thresholds."""
    if not math.isfinite(value):
        return "n/a"
    if kind == "a12":
        d, table = abs(value - 0.5), A12_THRESHOLDS
    elif kind == "delta":
        d, table = abs(value), DELTA_THRESHOLDS
    else:
        raise ValueError(f"kind must be 'a12' or 'delta', got {kind!r}")
    for thr, name in table:
        if d >= thr:
            return name
    return "negligible"


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels ``multipletests``); NaNs stay NaN, not counted."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


# -- pairwise tests ----------------------------------------------------------------------------
def _wilcoxon(d: np.ndarray) -> tuple[float, float]:
    if d.size == 0:
        return math.nan, math.nan
    if np.all(d == 0):  # identical paired outcomes: no evidence of any difference
        return 0.0, 1.0
    r = ss.wilcoxon(d, zero_method="wilcox")
    return float(r.statistic), float(r.pvalue)


def compare_pair(
    x: np.ndarray,
    y: np.ndarray,
    *,
    x_seeds: np.ndarray | None = None,
    y_seeds: np.ndarray | None = None,
) -> dict[str, float]:
    """MWU, KS, (Wilcoxon if seeds given), A12 and Cliff's delta of x against y."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fx, fy = np.isfinite(x), np.isfinite(y)
    xs, ys = x[fx], y[fy]
    out: dict[str, float] = {"n_a": float(xs.size), "n_b": float(ys.size)}
    if xs.size and ys.size:
        mw = ss.mannwhitneyu(xs, ys, alternative="two-sided")
        ks = ss.ks_2samp(xs, ys)
        out |= {
            "U": float(mw.statistic),
            "p_mwu": float(mw.pvalue),
            "KS_D": float(ks.statistic),
            "p_ks": float(ks.pvalue),
        }
    else:
        out |= {"U": math.nan, "p_mwu": math.nan, "KS_D": math.nan, "p_ks": math.nan}
    out["n_pairs"] = 0.0
    out["W"] = out["p_wilcoxon"] = math.nan
    if x_seeds is not None and y_seeds is not None:
        sx = pd.Series(x, index=np.asarray(x_seeds))
        sy = pd.Series(y, index=np.asarray(y_seeds))
        common = sx.index.intersection(sy.index)
        d = (sx.loc[common] - sy.loc[common]).to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        out["n_pairs"] = float(d.size)
        out["W"], out["p_wilcoxon"] = _wilcoxon(d)
    out["A12"] = a12(xs, ys)
    out["cliffs_delta"] = cliffs_delta(xs, ys)
    return out


def pairwise_table(
    df: pd.DataFrame,
    value: str,
    *,
    by: str = "setting",
    group: str = "strategy_label",
    paired_on: str | None = "seed",
    pairs: Sequence[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """All pairwise comparisons of ``value`` between strategies within each setting.

    Holm correction is applied per test over the whole family in the table (every pair in every
    setting), in columns ``*_holm``. A12 > 0.5 means strategy ``a`` tends to give larger values.
    Wilcoxon pairs runs by ``paired_on`` (seeds share random streams within an experiment).
    """
    if value not in df.columns:
        raise ResultsError(f"unknown metric {value!r}; available: {', '.join(df.columns)}")
    rows = []
    for setting, g in df.groupby(by, sort=False):
        strats = list(dict.fromkeys(g[group]))
        todo = pairs or [(a, b) for i, a in enumerate(strats) for b in strats[i + 1 :]]
        for a, b in todo:
            ga, gb = g[g[group] == a], g[g[group] == b]
            if ga.empty or gb.empty:
                continue
            r = compare_pair(
                ga[value].to_numpy(),
                gb[value].to_numpy(),
                x_seeds=ga[paired_on].to_numpy() if paired_on else None,
                y_seeds=gb[paired_on].to_numpy() if paired_on else None,
            )
            rows.append(
                {
                    by: setting,
                    "a": a,
                    "b": b,
                    "mean_a": float(ga[value].mean()),
                    "mean_b": float(gb[value].mean()),
                    "median_a": float(ga[value].median()),
                    "median_b": float(gb[value].median()),
                }
                | r
                | {
                    "A12_size": magnitude(r["A12"], "a12"),
                    "delta_size": magnitude(r["cliffs_delta"], "delta"),
                }
            )
    out = pd.DataFrame(rows)
    for p in ("p_mwu", "p_ks", "p_wilcoxon"):
        if p in out.columns:
            out[f"{p}_holm"] = holm(out[p].to_numpy())
    return out


# -- ranks across settings ---------------------------------------------------------------------
@dataclass
class RankResult:
    """Friedman test, average ranks (1 = best) and Nemenyi post-hoc p-values."""

    blocks: str
    n_blocks: int
    ranks: pd.Series
    statistic: float
    pvalue: float
    nemenyi: pd.DataFrame
    cd: float
    note: str = ""


def rank_analysis(
    df: pd.DataFrame,
    value: str,
    *,
    blocks: Sequence[str] = ("setting",),
    group: str = "strategy_label",
    agg: str = "median",
    higher_is_better: bool = True,
    alpha: float = 0.05,
) -> RankResult:
    """Friedman + Nemenyi over blocks (settings by default, or (setting, seed) for paired runs).

    Each block's value per strategy is the ``agg`` of its runs (a single run when blocks include
    the seed). Blocks missing a strategy are dropped (Friedman needs complete blocks).
    Friedman (scipy) needs at least 3 strategies; with 2 only the ranks are given.
    The critical difference is Nemenyi's q_alpha * sqrt(k (k + 1) / (6 N)), q from scipy's
    studentized range.
    """
    import scikit_posthocs as sp

    if value not in df.columns:
        raise ResultsError(f"unknown metric {value!r}; available: {', '.join(df.columns)}")
    wide = df.pivot_table(index=list(blocks), columns=group, values=value, aggfunc=cast(Any, agg))
    order = list(dict.fromkeys(df[group]))
    wide = wide[[c for c in order if c in wide.columns]]
    n_before = len(wide)
    wide = wide.dropna()
    note = f"{n_before - len(wide)} incomplete block(s) dropped" if len(wide) < n_before else ""
    k, n = wide.shape[1], wide.shape[0]
    signed = -wide.to_numpy() if higher_is_better else wide.to_numpy()
    ranks_arr = np.apply_along_axis(ss.rankdata, 1, signed) if n else np.empty((0, k))
    ranks = pd.Series(ranks_arr.mean(axis=0) if n else np.nan, index=wide.columns, name="rank")
    stat = pval = cd = math.nan
    nem = pd.DataFrame(np.nan, index=wide.columns, columns=wide.columns)
    if k >= 3 and n >= 2:
        fr = ss.friedmanchisquare(*[wide[c].to_numpy() for c in wide.columns])
        stat, pval = float(fr.statistic), float(fr.pvalue)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nem = sp.posthoc_nemenyi_friedman(wide.reset_index(drop=True))
        q = ss.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
        cd = float(q * math.sqrt(k * (k + 1) / (6 * n)))
    elif k < 3:
        note = "; ".join(filter(None, [note, "Friedman needs at least 3 strategies"]))
    else:
        note = "; ".join(filter(None, [note, "Friedman needs at least 2 complete blocks"]))
    return RankResult(
        blocks=" x ".join(blocks),
        n_blocks=n,
        ranks=ranks.sort_values(),
        statistic=stat,
        pvalue=pval,
        nemenyi=nem,
        cd=cd,
        note=note,
    )


# -- evaluations to reach a target -------------------------------------------------------------
def evals_to_target(
    rs: RunSet,
    target: float | dict[str, float],
    *,
    metric: str = "incumbent_reported",
    x: str = "cum_evals",
) -> pd.DataFrame:
    """Per run: the first ``x`` (charged evaluations by default) at which ``metric`` >= target.

    Runs that never reach the target get ``inf`` and ``reached = False`` (right-censored at
    their budget, ``x_max``). ``target`` may be one number or one per setting. ``regret``
    targets are reached when the regret drops to or below the target instead.
    """
    check_axis(x, metric)
    t = rs.trials.sort_values(["run_id", "step"], kind="stable")
    tg = (
        t["setting"].map(target).to_numpy(dtype=float)
        if isinstance(target, dict)
        else np.full(len(t), float(target))
    )
    v = t[metric].to_numpy(dtype=float)
    hit = v <= tg if metric == "regret" else v >= tg
    xv = t[x].to_numpy(dtype=float)
    t = t.assign(_hit=hit, _x=xv)
    first = t[t["_hit"]].groupby("run_id")["_x"].min()
    xmax = t.groupby("run_id")["_x"].max()
    runs = rs.runs.set_index("run_id")
    out = pd.DataFrame(
        {
            "setting": runs["setting"],
            "strategy_label": runs["strategy_label"],
            "seed": runs["seed"],
            "x_max": xmax.reindex(runs.index),
        }
    )
    out["target"] = out["setting"].map(target) if isinstance(target, dict) else float(target)
    out["evals"] = first.reindex(runs.index).fillna(np.inf)
    out["reached"] = np.isfinite(out["evals"])
    out["accounting"] = x
    return out.reset_index()


def _median_ratio(base: np.ndarray, other: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.median(base, axis=axis) / np.median(other, axis=axis))


def speedup_table(
    ttt: pd.DataFrame,
    baseline: str | dict[str, str],
    *,
    seed: int = SEED,
    n_resamples: int = 2000,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Speed-up of each strategy over ``baseline``: median evaluations-to-target ratio, with CI.

    speedup = median(T_baseline) / median(T_strategy), > 1 when the strategy is faster. A run
    that never reaches the target has T = inf, so a median is finite only when more than half
    the runs reach the target (with one common budget this is the Kaplan-Meier median of the
    right-censored times). The CI is a seeded percentile bootstrap over runs (scipy, the two
    samples resampled independently); it is NaN where resamples leave both medians undefined.
    The fraction of runs that reached the target is reported next to every number.
    """
    rows = []
    for (setting, acc), g in ttt.groupby(["setting", "accounting"], sort=False):
        base = baseline[str(setting)] if isinstance(baseline, dict) else baseline
        gb = g[g["strategy_label"] == base]
        if gb.empty:
            continue
        tb = gb["evals"].to_numpy(dtype=float)
        for strat, gs in g.groupby("strategy_label", sort=False):
            ts = gs["evals"].to_numpy(dtype=float)
            point = float(_median_ratio(tb, ts))
            lo = hi = math.nan
            if strat != base and len(tb) > 1 and len(ts) > 1:
                with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                    warnings.simplefilter("ignore")
                    res = ss.bootstrap(
                        (tb, ts),
                        _median_ratio,
                        n_resamples=n_resamples,
                        confidence_level=level,
                        method="percentile",
                        rng=np.random.default_rng(seed),
                        vectorized=True,
                    )
                lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
            rows.append(
                {
                    "setting": setting,
                    "accounting": acc,
                    "strategy_label": strat,
                    "baseline": base,
                    "target": float(gs["target"].iloc[0]),
                    "runs": len(ts),
                    "reached": float(np.isfinite(ts).mean()),
                    "median_evals": float(np.median(ts)),
                    "baseline_median_evals": float(np.median(tb)),
                    "speedup": point,
                    "ci_lo": lo,
                    "ci_hi": hi,
                }
            )
    return pd.DataFrame(rows)


def default_baseline(finals: pd.DataFrame, value: str = "final_reported") -> dict[str, str]:
    """Per setting: ``random_search`` when present, else the strategy with the lowest median."""
    out = {}
    for setting, g in finals.groupby("setting", sort=False):
        labels = set(g["strategy_label"])
        if "random_search" in labels:
            out[str(setting)] = "random_search"
        else:
            out[str(setting)] = str(g.groupby("strategy_label")[value].median().idxmin())
    return out


def baseline_targets(
    finals: pd.DataFrame, baseline: dict[str, str], value: str = "final_reported"
) -> dict[str, float]:
    """Target per setting: the baseline's median final value (lower median, an observed value).

    Why this target: "how many evaluations does a strategy need to reach what the baseline
    reaches at the end of its budget" is the acceleration question, and with the lower median
    more than half of the baseline's runs reach it, so the baseline's own median is finite.
    """
    out = {}
    for setting, base in baseline.items():
        v = finals.loc[
            (finals["setting"] == setting) & (finals["strategy_label"] == base), value
        ].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size:
            out[setting] = float(np.quantile(v, 0.5, method="lower"))
    return out
