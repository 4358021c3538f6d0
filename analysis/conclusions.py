"""The reference study's five conclusions, tested on this harness's runs.

Dervisi's study ("Evaluating Acceleration Techniques for Candidate Evaluation in Genetic Neural
Architecture Search") concluded:

(a) NAS-EA-FA V2 narrows the search space (a bias from how its surrogate's training data is
    chosen);
(b) the NASWOT score guides the search to high-performing architectures but cannot tell them
    apart from somewhat worse ones;
(c) a larger NASWOT batch does not always help;
(d) the simple GA and NAS-EA-FA V2 find architectures whose validation accuracies belong to
    different distributions, whatever the fitness;
(e) NAS-EA-FA V2 with validation-accuracy fitness is the best choice for accelerating the search.

Each function below turns one conclusion into a test with a stated statistic and returns
:class:`Verdict` rows (one per setting: encoding x noise model x benchmark), so the report can say
for each setting whether this run supports the conclusion. The words come from
:mod:`analysis.verdicts`: *yes* / *no* from two-sided tests at alpha = 0.05, *inconclusive
(underpowered: ...)* when the run counts cannot give a p below alpha whatever the data, and
*partly* only for a conjunction of clauses (:func:`analysis.verdicts.combine`) or where a
function's docstring writes down what it means. "statistic" always names the test and its value.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as ss

from analysis import stats as S
from analysis import verdicts as V
from analysis.load import RunSet

ALPHA = V.ALPHA
GA, FA, FA_GCN = "ga_val", "nasea_xgb_val", "nasea_gcn_val"
GA_NW, FA_NW = "ga_naswot", "nasea_xgb_naswot"


@dataclass(frozen=True)
class Verdict:
    conclusion: str
    setting: str
    supported: str  # "yes" / "no" / "partly" / "inconclusive (...)" / "n/a"
    statistic: str

    @property
    def kind(self) -> str:
        """The verdict's first word (``inconclusive (underpowered: ...)`` -> ``inconclusive``)."""
        return V.kind(self.supported)

    def row(self) -> dict[str, str]:
        return {
            "conclusion": self.conclusion,
            "setting": self.setting,
            "supported": self.supported,
            "statistic": self.statistic,
        }


def answers(rs: RunSet) -> pd.DataFrame:
    """Per run: the chosen cell's seed-mean validation and test accuracy and its search signal.

    The chosen cell is the final-phase evaluation when there is one (a zero-cost search paying
    for the accuracy of its best-scoring cell), else the incumbent (best signal so far).
    """
    t = rs.trials
    rows = []
    for run_id, g in t.groupby("run_id", sort=False):
        fin = g[g["phase"] == "final"] if "phase" in g else g.iloc[0:0]
        if len(fin):
            r = fin.iloc[-1]
        else:
            last = g.iloc[-1]
            inc = g[g["step"] == last["incumbent_step"]]
            r = inc.iloc[0] if len(inc) else last
        rows.append({"run_id": run_id, "answer_val": r["val"], "answer_reported": r["reported"]})
    a = pd.DataFrame(rows)
    return rs.runs.merge(a, on="run_id", how="left")


def _setting_runs(df: pd.DataFrame, setting: str, label: str) -> pd.DataFrame:
    return df[(df["setting"] == setting) & (df["strategy_label"] == label)]


def reported_column(ans: pd.DataFrame, setting: str) -> tuple[str, str]:
    """(answers column, trials column) of the setting's reported metric."""
    return ("answer_reported", "reported")


def reports_validation(ans: pd.DataFrame, setting: str) -> bool:
    """Whether the setting's reported metric is a validation accuracy (NB101 ships no test
    accuracy: its runs report validation, and the verdicts say so)."""
    m = ans.loc[ans["setting"] == setting, "report_metric"].astype(str)
    return bool(len(m)) and bool(m.str.startswith("val").all())


def space_means(runs: pd.DataFrame) -> dict[str, float]:
    """Per setting: the mean of its reported metric over every cell its benchmark records
    (conclusion (b)'s "space mean"; NaN where the benchmark's cells are not enumerable, as
    for a surrogate over a huge space)."""
    from harness.benchmarks import get_benchmark

    out: dict[str, float] = {}
    cols = ["setting", "benchmark", "dataset", "report_metric"]
    memo: dict[tuple[str, str, str], float] = {}
    for setting, bench, dataset, metric in (
        runs[cols].drop_duplicates().itertuples(index=False, name=None)
    ):
        key = (str(bench), str(dataset), str(metric))
        if key not in memo:
            b = get_benchmark(key[0])
            memo[key] = (
                float(np.nanmean(np.asarray(b.column(key[1], key[2]), float)))
                if b.optimum_known
                else math.nan
            )
        out[str(setting)] = memo[key]
    return out


_p = V.fmt_p


def distinct_within(rs: RunSet, n_queries: int) -> pd.DataFrame:
    """Distinct cells (isomorphism classes) evaluated within the first ``n_queries`` queries."""
    t = rs.trials[rs.trials["cum_queries"] <= n_queries]
    d = t.groupby("run_id")["cum_distinct"].max().rename("distinct")
    return rs.runs.merge(d.reset_index(), on="run_id", how="left")


def conclusion_a(rs: RunSet) -> list[Verdict]:
    """(a): fewer distinct cells within NAS-EA-FA's budget than the GA explores in as many."""
    out = []
    for setting in rs.settings:
        fa = rs.runs[(rs.runs["setting"] == setting) & (rs.runs["strategy_label"] == FA)]
        if (
            fa.empty
            or not (rs.runs["setting"].eq(setting) & rs.runs["strategy_label"].eq(GA)).any()
        ):
            continue
        n = int(fa["n_queries"].median())
        d = distinct_within(rs, n)
        x = _setting_runs(d, setting, FA)["distinct"].to_numpy(float)
        y = _setting_runs(d, setting, GA)["distinct"].to_numpy(float)
        c = S.compare_pair(x, y)
        word = V.decide(
            c["p_mwu"],
            bool(np.median(x) < np.median(y)),
            V.min_p_mwu(int(c["n_a"]), int(c["n_b"])),
        )
        out.append(
            Verdict(
                "a",
                setting,
                word,
                f"distinct cells in the first {n} queries: NAS-EA-FA median {np.median(x):.0f} "
                f"vs GA {np.median(y):.0f} (MWU {_p(c['p_mwu'])}, A12 = {c['A12']:.2f}; "
                f"{int(c['n_a'])} vs {int(c['n_b'])} runs)",
            )
        )
    return out


def conclusion_b(rs: RunSet, ans: pd.DataFrame, means: Mapping[str, float]) -> list[Verdict]:
    """(b): NASWOT-driven GA visits good cells, but its answer lags the best cell it visited.

    Two clauses, combined by :func:`analysis.verdicts.combine` (*partly*: exactly one holds).
    Guides: per run, the mean reported accuracy (test on NB201; validation on NB101) of the
    distinct cells the NASWOT GA evaluated exceeds ``means[setting]``, the mean of that metric
    over the benchmark's cells (Wilcoxon signed-rank over runs). Cannot tell apart: the
    gap between the best visited cell's accuracy and the answer's is larger than the
    validation-driven GA's (Wilcoxon paired by seed; MWU without pairs).
    """
    out = []
    t = rs.trials
    for setting in rs.settings:
        nw = _setting_runs(ans, setting, GA_NW)
        va = _setting_runs(ans, setting, GA)
        if nw.empty or va.empty:
            continue
        acol, tcol = reported_column(ans, setting)
        space_mean = means.get(setting, math.nan)
        visited = t[t["run_id"].isin(nw["run_id"]) & (t["repeat"] == False)]  # noqa: E712
        visited = visited[visited["phase"] != "final"] if "phase" in visited else visited
        per_run = visited.groupby("run_id")[tcol].mean().to_numpy(float) - space_mean
        per_run = per_run[np.isfinite(per_run)]
        mean_visited = float(visited[tcol].mean())
        _, p_g = S._wilcoxon(per_run)
        above = bool(per_run.size and np.median(per_run) > 0)
        guides = V.decide(p_g, above, V.min_p_wilcoxon(per_run.size))
        gap_nw = (nw["best_reported_seen"] - nw[acol]).to_numpy(float)
        gap_va = (va["best_reported_seen"] - va[acol]).to_numpy(float)
        c = S.compare_pair(
            gap_nw, gap_va, x_seeds=nw["seed"].to_numpy(), y_seeds=va["seed"].to_numpy()
        )
        if math.isfinite(c["p_wilcoxon"]):
            p, floor = c["p_wilcoxon"], V.min_p_wilcoxon(int(c["n_pairs"]))
        else:
            p, floor = c["p_mwu"], V.min_p_mwu(int(c["n_a"]), int(c["n_b"]))
        apart = V.decide(p, bool(np.median(gap_nw) > np.median(gap_va)), floor)
        verdict = V.combine([guides, apart])
        what = "VALIDATION" if reports_validation(ans, setting) else "test"
        clauses = f"guides: {V.kind(guides)}; cannot tell apart: {V.kind(apart)}"
        out.append(
            Verdict(
                "b",
                setting,
                verdict,
                f"visited cells' mean {what} {mean_visited:.2f} vs space mean "
                f"{space_mean:.2f} (Wilcoxon over {per_run.size} runs {_p(p_g)}); best-visited "
                f"minus answer {what}: NASWOT GA median {np.median(gap_nw):.2f} vs validation "
                f"GA {np.median(gap_va):.2f} (Wilcoxon {_p(p)}); {clauses}",
            )
        )
    return out


def conclusion_c(batch_table: Path | None) -> list[Verdict]:
    """(c): Spearman(NASWOT score, validation accuracy) by batch size on a fixed cell subset.

    For each step up in batch size, a paired bootstrap over cells (the same resampled cells for
    both sizes) gives CIs of the change in correlation. "Does not always help" is supported
    (``yes``) when some step lowers the correlation beyond noise (CI below 0) or is shown
    negligible (CI inside ±:data:`analysis.verdicts.RHO_MARGIN`, the bootstrap form of TOST);
    ``no`` when every step raises it beyond noise; otherwise ``inconclusive`` (the CIs are too
    wide to tell). "Some step" is a union over the k steps, so its CIs are Bonferroni-adjusted
    (two-sided 1 - 0.05/k for a drop, 1 - 0.10/k for TOST); "every step" is an intersection,
    each at the unadjusted 95 %.
    """
    if batch_table is None or not batch_table.exists():
        return [Verdict("c", "nb201 cifar10", "n/a", "no per-batch-size score table found")]
    df = pd.read_csv(batch_table)
    sizes = sorted(int(c.removeprefix("score_b")) for c in df.columns if c.startswith("score_b"))
    v = df["val_acc"].to_numpy(float)
    scores = {b: df[f"score_b{b}"].to_numpy(float) for b in sizes}
    ok = np.isfinite(v) & np.all([np.isfinite(s) for s in scores.values()], axis=0)
    idx = np.flatnonzero(ok)
    rng = np.random.default_rng(0)
    boots = [rng.choice(idx, size=idx.size, replace=True) for _ in range(2000)]

    def rho(b: int, j: np.ndarray) -> float:
        return float(ss.spearmanr(scores[b][j], v[j]).statistic)

    parts = [f"batch {b}: rho = {rho(b, idx):.3f}" for b in sizes]
    gains, drops, flat = [], [], []
    m = V.RHO_MARGIN
    k = max(len(sizes) - 1, 1)
    for a, b in itertools.pairwise(sizes):
        d = np.array([rho(b, j) - rho(a, j) for j in boots])
        lo, hi = np.quantile(d, [0.025, 0.975])
        hi_k = float(np.quantile(d, 1 - 0.025 / k))
        lo_t, hi_t = np.quantile(d, [0.05 / k, 1 - 0.05 / k])
        gains.append(lo > 0)
        drops.append(hi_k < 0)
        flat.append(-m < lo_t and hi_t < m)
        parts.append(f"{a}->{b}: change {rho(b, idx) - rho(a, idx):+.3f} [{lo:+.3f}, {hi:+.3f}]")
    verdict = V.does_not_always_help(drops, gains, flat)
    steps = zip(itertools.pairwise(sizes), flat, strict=True)
    which = [f"{a}->{b}" for (a, b), f in steps if f]
    if which:
        parts.append(
            f"negligible ({100 - 10 / k:.1f} % CI inside ±{m:g}, Bonferroni over {k} steps): "
            f"{', '.join(which)}"
        )
    return [Verdict("c", f"nb201 cifar10, {idx.size} cells", verdict, "; ".join(parts))]


def conclusion_d(ans: pd.DataFrame) -> list[Verdict]:
    """(d): GA vs NAS-EA-FA answers' validation accuracy, per fitness: KS, Holm over fitnesses.

    One clause per fitness with runs of both strategies; *partly*: the distributions differ
    under one fitness but not the other.
    """
    out = []
    for setting in sorted(ans["setting"].unique()):
        tests = []
        for ga, fa, fit in ((GA, FA, "validation"), (GA_NW, FA_NW, "NASWOT")):
            x = _setting_runs(ans, setting, ga)["answer_val"].to_numpy(float)
            y = _setting_runs(ans, setting, fa)["answer_val"].to_numpy(float)
            if x.size < 2 or y.size < 2:
                continue
            c = S.compare_pair(x, y)
            tests.append((fit, c, np.median(x), np.median(y)))
        if not tests:
            continue
        p_adj = S.holm([c["p_ks"] for _, c, _, _ in tests])
        parts, words = [], []
        for (fit, c, mx, my), p in zip(tests, p_adj, strict=True):
            floor = V.min_p_mwu(int(c["n_a"]), int(c["n_b"]))  # KS's exact floor is the same
            words.append(V.decide(p, True, floor, tests=len(tests)))
            parts.append(
                f"{fit} fitness: GA median {mx:.2f} vs NAS-EA-FA {my:.2f}, KS D = "
                f"{c['KS_D']:.2f} (Holm {_p(p)}; {int(c['n_a'])} vs {int(c['n_b'])} runs)"
            )
        # partly: different distributions under one fitness only ("whatever the fitness" fails)
        verdict = V.combine(words)
        out.append(Verdict("d", setting, verdict, "; ".join(parts)))
    return out


def conclusion_e(rs: RunSet, ans: pd.DataFrame) -> list[Verdict]:
    """(e): NAS-EA-FA V2 (validation) against the GA and the other accelerated variants.

    Faster, per accounting (queries, the study's; distinct cells trained): the GA needs more
    evaluations than NAS-EA-FA before its incumbent's validation signal reaches the lower
    quartile of NAS-EA-FA's final signals (median ratio > 1 and MWU over runs, a run that never
    reaches it counting as slowest). Not worse: its answers' reported accuracy is not
    significantly below any other variant's (MWU, Holm).

    *yes*: faster in both accountings and not worse. *partly*: faster in exactly one
    accounting (the verdict depends on how repeats are charged) and not worse. *no*: faster in
    neither, or significantly worse than another variant. *inconclusive*: the run counts
    cannot show "faster" or "worse" where it decides.
    """
    out = []
    for setting in rs.settings:
        fa = _setting_runs(ans, setting, FA)
        ga = _setting_runs(ans, setting, GA)
        if fa.empty or ga.empty:
            continue
        # a value 75 % of NAS-EA-FA's runs reach, so its median time to it is defined
        target = float(np.quantile(fa["final_signal"], 0.25))
        sub = RunSet(
            runs=rs.runs[rs.runs["setting"] == setting],
            trials=rs.trials[rs.trials["setting"] == setting],
            problems=[],
        )
        parts = []
        faster: list[str] = []
        for x in ("cum_queries", "cum_distinct"):
            e = S.evals_to_target(sub, target, metric="incumbent_signal", x=x)
            ge = e[e["strategy_label"] == GA]["evals"].to_numpy(float)
            fe = e[e["strategy_label"] == FA]["evals"].to_numpy(float)
            reached = float(np.isfinite(ge).mean())
            ga_med = float(np.median(ge)) if reached >= 0.5 else math.inf
            fa_med = float(np.median(fe))
            ratio = ga_med / fa_med if fa_med > 0 else math.nan
            p = float(ss.mannwhitneyu(ge, fe, alternative="two-sided").pvalue)
            faster.append(V.decide(p, ratio > 1, V.min_p_mwu(ge.size, fe.size)))
            name = "queries" if x == "cum_queries" else "distinct cells"
            parts.append(
                f"{name}: GA needs {ga_med:.0f} vs NAS-EA-FA {fa_med:.0f} to reach signal "
                f"{target:.2f} ({ratio:.1f}x, MWU {_p(p)}; GA reached it in {reached:.0%} of "
                "runs)"
            )
        others = [GA, FA_GCN, GA_NW, FA_NW]
        worse = []
        pvals, comps = [], []
        acol, _ = reported_column(ans, setting)
        what = "val" if reports_validation(ans, setting) else "test"
        mine = fa[acol].to_numpy(float)
        for o in others:
            y = _setting_runs(ans, setting, o)[acol].to_numpy(float)
            if y.size < 2:
                continue
            c = S.compare_pair(mine, y)
            pvals.append(c["p_mwu"])
            comps.append((o, c, float(np.median(y))))
        floors = []
        if pvals:
            for (o, c, my), p in zip(comps, S.holm(pvals), strict=True):
                if p < ALPHA and np.median(mine) < my:
                    worse.append(o)
                floors.append(len(pvals) * V.min_p_mwu(int(c["n_a"]), int(c["n_b"])))
                parts.append(f"{what} vs {o}: {np.median(mine):.2f} vs {my:.2f} (Holm {_p(p)})")
        # "not worse" can only be shown where a worse variant could have been detected
        verdict = V.best_choice(faster, worse, max(floors, default=0.0))
        if worse:
            parts.append(f"significantly worse than: {', '.join(worse)}")
        elif all(V.kind(f) == V.NO for f in faster):
            parts.append("faster in neither accounting")
        elif verdict == V.PARTLY:
            parts.append("faster in one accounting only")
        out.append(Verdict("e", setting, verdict, "; ".join(parts)))
    return out


def all_conclusions(
    rs: RunSet,
    *,
    batch_table: Path | None,
    means: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Every conclusion's verdicts; ``means`` (setting -> the benchmark's mean of the reported
    metric, for (b)) defaults to :func:`space_means` of the settings that need it."""
    ans = answers(rs)
    if means is None:
        need = [st for st in rs.settings if not _setting_runs(ans, st, GA_NW).empty]
        means = space_means(rs.runs[rs.runs["setting"].isin(need)])
    rows: list[Verdict] = []
    rows += conclusion_a(rs)
    rows += conclusion_b(rs, ans, means)
    rows += conclusion_c(batch_table)
    rows += conclusion_d(ans)
    rows += conclusion_e(rs, ans)
    return pd.DataFrame([v.row() for v in rows])


#: why a conclusion has no verdict on the surrogate-based setting
_NO_SURROGATE = {
    "b": "not tested there: NASWOT fitness runs on the NB101 30k pool only (its own scores)",
    "c": "not tested there: the batch-size table is NB201",
}


@dataclass(frozen=True)
class SettingRoles:
    """Which settings a surrogate-based setting is compared with, read from the benchmarks.

    ``surrogate``: settings on a surrogate-based benchmark; ``same_space``: settings on real
    records whose cells are of the same space as a surrogate setting's (NB101's 30k pool next
    to the surrogate-completed NB101 space); every other setting is compared as "other".
    ``names`` holds the benchmark names of each group, for labels.
    """

    surrogate: list[str]
    same_space: list[str]
    names: dict[str, str]


def setting_roles(runs: pd.DataFrame) -> SettingRoles:
    """Group the runs' settings by what their benchmarks declare (no benchmark names here)."""
    from harness.benchmarks import get_benchmark
    from harness.spaces import cell_space_of, make_space

    facts: dict[str, tuple[bool, str, str]] = {}
    if len(runs):
        for setting, bench in (
            runs[["setting", "benchmark"]].drop_duplicates().itertuples(index=False, name=None)
        ):
            b = get_benchmark(str(bench))
            facts[str(setting)] = (b.surrogate_based, cell_space_of(make_space(b.space)), b.name)
    sur = [k for k, f in facts.items() if f[0]]
    sur_cells = {facts[k][1] for k in sur}
    same = [k for k, f in facts.items() if not f[0] and f[1] in sur_cells]

    def names(group: list[str]) -> str:
        return ", ".join(dict.fromkeys(facts[k][2] for k in group)) or "none"

    return SettingRoles(sur, same, {"surrogate": names(sur), "same_space": names(same)})


def surrogate_agreement(verdicts: pd.DataFrame, roles: SettingRoles) -> pd.DataFrame:
    """Per conclusion: does the surrogate-based setting agree with the settings on real records?

    Compares its verdict with the verdicts on real records of the same space (NB101: the 30k
    pool) and on the other settings (counts of each verdict's first word). "agrees" means the
    same verdict as the same-space settings, else as the majority of the other settings.
    """
    sur_name, same_name = roles.names["surrogate"], roles.names["same_space"]
    sur_col = f"{sur_name} (SURROGATE-BASED)"
    same_col = f"{same_name} (real records, same space)"
    rows = []
    for c in ("a", "b", "c", "d", "e"):
        v = verdicts[verdicts["conclusion"] == c] if len(verdicts) else verdicts
        sur = v[v["setting"].isin(roles.surrogate)] if len(v) else v
        pool = v[v["setting"].isin(roles.same_space)] if len(v) else v
        # every other verdict's setting, also those that are no run setting (the table of (c))
        nb201 = v[~v["setting"].isin([*roles.surrogate, *roles.same_space])] if len(v) else v
        s_v = "; ".join(sur["supported"].map(V.kind)) if len(sur) else "n/a"
        p_v = "; ".join(pool["supported"].map(V.kind)) if len(pool) else "n/a"
        counts = nb201["supported"].map(V.kind).value_counts().to_dict() if len(nb201) else {}
        order = ("yes", "partly", "no", "inconclusive", "n/a")
        n_v = ", ".join(f"{k} {counts[k]}" for k in order if k in counts)
        if not len(sur):
            agrees = _NO_SURROGATE.get(
                c, f"no {sur_name} verdict (too few runs of the strategies it compares)"
            )
        elif V.INCONCLUSIVE in s_v or (len(pool) and V.INCONCLUSIVE in p_v):
            agrees = "cannot tell: a verdict is inconclusive (too few runs)"
        elif len(pool):
            same = set(sur["supported"].map(V.kind)) == set(pool["supported"].map(V.kind))
            agrees = (
                f"yes (same verdict as {same_name})"
                if same
                else f"no: {sur_name} says {s_v}, {same_name} {p_v}"
            )
        elif counts:
            major = max(counts, key=lambda k: counts[k])
            agrees = (
                f"yes (the other settings' majority verdict, {major})"
                if s_v == major
                else f"no: {sur_name} says {s_v}, most other settings {major}"
            )
        else:
            agrees = "nothing to compare with"
        rows.append(
            {
                "conclusion": c,
                sur_col: s_v,
                same_col: p_v,
                "other settings": n_v or "n/a",
                "agrees?": agrees,
            }
        )
    return pd.DataFrame(rows)
