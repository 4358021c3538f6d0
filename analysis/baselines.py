"""Published baseline numbers beside this harness's, under the closest setting the data allows.

Each published row (sources in docs/REFERENCES.md) is matched with the runs of
``nash reproduce baselines``. The rules are :mod:`analysis.verdicts`: the row reports our mean
minus the published one with its 95 % CI, and says *reproduced* only when an equivalence test
(TOST, margin :data:`analysis.verdicts.MARGIN_SD` published standard deviations, the published
run count as the published side's sample size) shows the difference to be that small. The gaps
the tables exist to show (REA - RS, REINFORCE - RS, NASWOT N=1000 - N=10) are tested the same way
against the published gaps. The NB101 comparison can only be an ordering (see
:data:`NB101_ORDER`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as ss

from analysis import verdicts as V
from analysis.conclusions import answers
from analysis.load import load_runs
from analysis.report import to_markdown
from analysis.suite_report import COLUMNS

DATASETS = ("cifar10", "cifar100", "imagenet16_120")
#: runs behind each published mean ± std (NB201 Table 5 and the NASWOT table: 500 each)
PUBLISHED_RUNS = {"NB201 paper, Table 5": 500, "NASWOT (ICML 2021)": 500}
#: the gaps the published tables are about: (name, method a, method b), a - b
GAPS = (
    ("REA - RS", "REA", "RS"),
    ("REINFORCE - RS", "REINFORCE", "RS"),
    ("NASWOT N=1000 - N=10", "N=1000", "N=10"),
)
#: the command whose runs give the full answer (the report names it when a row is inconclusive)
FULL_COMMAND = "nash reproduce baselines"

#: (source, method, our setting label, our strategy label, {dataset: (mean, std)}, difference)
PUBLISHED: tuple[tuple[str, str, str, str, dict[str, tuple[float, float]], str], ...] = (
    (
        "NB201 paper, Table 5",
        "REA",
        "base_nb201_table5",
        "aging_evolution",
        {"cifar10": (93.92, 0.30), "cifar100": (71.84, 0.99), "imagenet16_120": (45.54, 1.03)},
        "12-epoch seed-mean signal and 100 evaluations here; the paper: one random seed per "
        "query and a 12,000 s simulated budget",
    ),
    (
        "NB201 paper, Table 5",
        "RS",
        "base_nb201_table5",
        "random_search",
        {"cifar10": (93.70, 0.36), "cifar100": (71.04, 1.07), "imagenet16_120": (44.57, 1.25)},
        "as above",
    ),
    (
        "NB201 paper, Table 5",
        "REINFORCE",
        "base_nb201_table5",
        "reinforce",
        {"cifar10": (93.85, 0.37), "cifar100": (71.71, 1.09), "imagenet16_120": (45.24, 1.18)},
        "as above; learning rate 0.001 as in the paper's script",
    ),
    (
        "NASWOT (ICML 2021)",
        "N=10",
        "base_naswot",
        "naswot_n10",
        {"cifar10": (92.44, 1.13), "cifar100": (68.62, 2.04), "imagenet16_120": (41.31, 4.11)},
        "NAS-Bench-Suite-Zero nwot scores (CIFAR-10 images) for every dataset; cells with a "
        "cut-off branch have no score",
    ),
    (
        "NASWOT (ICML 2021)",
        "N=100",
        "base_naswot",
        "naswot_n100",
        {"cifar10": (92.81, 0.99), "cifar100": (69.48, 1.70), "imagenet16_120": (43.10, 3.16)},
        "as above",
    ),
    (
        "NASWOT (ICML 2021)",
        "N=1000",
        "base_naswot",
        "naswot_n1000",
        {"cifar10": (92.96, 0.81), "cifar100": (69.98, 1.22), "imagenet16_120": (44.44, 2.10)},
        "as above",
    ),
    (
        "NB201 paper, Table 5",
        "BOHB",
        "base_nb201_table5_bohb",
        "bohb_nb201_paper",
        {"cifar10": (93.61, 0.52), "cifar100": (70.85, 1.28), "imagenet16_120": (44.42, 1.49)},
        "the paper (its code): hpbandster BOHB, eta 3, budgets 12-200, num_samples 4, "
        "random_fraction 0, bandwidth_factor 3, min_bandwidth 0.3, 12,000 simulated s, the "
        "worker always answers the 12-epoch validation of ONE random training seed on "
        "cifar10-valid (the budget changes nothing), other datasets = the cifar10-searched "
        "cells; here: the same BOHB settings on each dataset's own 12-epoch seed-mean signal, "
        "100 evaluations, one rung (the budget never changes the evaluation), 100 runs",
    ),
    (
        "NB201 paper, Table 5",
        "BOHB, hpbandster's model",
        "base_nb201_table5_bohb",
        "bohb_hpbandster",
        {"cifar10": (93.61, 0.52), "cifar100": (70.85, 1.28), "imagenet16_120": (44.42, 1.49)},
        "as the BOHB row, with the density model of the authors' code (hpbandster's KDE on "
        "the six edges' choice indices, `kde = \"hpbandster\"`) instead of the project's "
        "one-hot variant; still the seed-mean signal and 100 evaluations",
    ),
)

#: runs per strategy and dataset of each experiment, as the full suite runs it (``--quick`` and
#: ``--seeds`` run fewer; the report says when rows have fewer)
FULL_RUNS = {"base_nb201_table5": 500, "base_naswot": 500, "base_nb201_table5_bohb": 100}

#: BANANAS paper, NB101, 150 queries, mean test error (%) over 200 trials
NB101_ERRORS = {
    "bananas": 5.923,
    "local_search": 5.932,
    "regularized_evolution": 6.109,
    "gp_bo": 6.267,
    "gcn_predictor": 6.331,
    "random_search": 6.341,
    "bohb": 6.356,
    "tpe": 6.415,
}
NB101_ORDER = sorted(NB101_ERRORS, key=NB101_ERRORS.__getitem__)
#: the NB101 orderings: (setting, {experiment: its methods}); the model-based experiments run
#: only with ``--with-model-based``
NB101_SETTINGS: tuple[tuple[str, dict[str, tuple[str, ...]]], ...] = (
    (
        "real 30k pool",
        {
            "base_nb101_150": (
                "random_search",
                "regularized_evolution",
                "local_search",
                "gcn_predictor",
            ),
            "base_nb101_150_model_based": ("bananas", "gp_bo", "bohb", "tpe"),
        },
    ),
    (
        "nb101-surrogate (SURROGATE-BASED)",
        {
            "base_nb101_150_model_based_surrogate": (
                "random_search",
                "local_search",
                "bananas",
                "gp_bo",
                "bohb",
                "tpe",
            ),
        },
    ),
)
#: the multi-fidelity experiment whose anytime curves on charged cost the report draws
MULTI_FIDELITY_EXP = "base_multi_fidelity_nb201"


def _ours(ans: pd.DataFrame, exp: str, strat: str, ds: str) -> np.ndarray:
    sel = ans[
        (ans["experiment"] == exp) & (ans["strategy_label"] == strat) & (ans["dataset"] == ds)
    ]
    x = sel["answer_reported"].to_numpy(float)
    return x[np.isfinite(x)]


def _gap_rows(ans: pd.DataFrame) -> pd.DataFrame:
    """Our gap between two methods against the published gap, per dataset."""
    by_method = {m: (src, exp, strat, pub) for src, m, exp, strat, pub, _ in PUBLISHED}
    rows = []
    for name, a, b in GAPS:
        src, exp_a, strat_a, pub_a = by_method[a]
        _, exp_b, strat_b, pub_b = by_method[b]
        for ds in DATASETS:
            x, y = _ours(ans, exp_a, strat_a, ds), _ours(ans, exp_b, strat_b, ds)
            g = V.published_gap(x, y, pub_a[ds], pub_b[ds], PUBLISHED_RUNS[src])
            ours = (
                f"{g.ours:+.2f} [{g.ours_lo:+.2f}, {g.ours_hi:+.2f}]"
                if math.isfinite(g.ours)
                else "no runs"
            )
            rows.append(
                {
                    "gap": name,
                    "dataset": ds,
                    "published gap": f"{g.published:+.2f}",
                    "ours [95 % CI]": ours,
                    "ours - published [95 % CI]": _diff_text(g.row),
                    "margin": f"±{g.row.margin:.2f}",
                    "TOST p": V.fmt_p(g.row.p_tost).removeprefix("p ").lstrip("= "),
                    "runs": f"{x.size} / {y.size}",
                    "verdict": g.row.text() if x.size and y.size else "not run",
                }
            )
    return pd.DataFrame(rows)


def _diff_text(r: V.RowVerdict) -> str:
    if not math.isfinite(r.diff):
        return "n/a"
    return f"{r.diff:+.2f} [{r.ci_lo:+.2f}, {r.ci_hi:+.2f}]"


def baseline_table(dirs: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(NB201 rows against the published numbers, NB101 ordering rows).

    The NB201 frame's ``attrs["gaps"]`` holds the gap rows (:data:`GAPS`).
    """
    rs = load_runs(list(dirs), columns=COLUMNS)
    ans = answers(rs)
    rows = []
    for source, method, exp, strat, pub, why in PUBLISHED:
        for ds, (pm, psd) in pub.items():
            x = _ours(ans, exp, strat, ds)
            base = {
                "source": source,
                "method": method,
                "dataset": ds,
                "published": f"{pm:.2f} ± {psd:.2f}",
            }
            if x.size == 0:
                rows.append(
                    base
                    | {
                        "ours": "no runs",
                        "runs": 0,
                        "ours - published [95 % CI]": "n/a",
                        "margin": f"±{V.MARGIN_SD * psd:.2f}",
                        "TOST p": "n/a",
                        "verdict": "not run",
                        "setting differences": why,
                    }
                )
                continue
            sd = float(x.std(ddof=1)) if x.size > 1 else math.nan
            r = V.published_row(x, pm, psd, PUBLISHED_RUNS[source])
            rows.append(
                base
                | {
                    "ours": f"{x.mean():.2f} ± {sd:.2f}",
                    "runs": int(x.size),
                    "ours - published [95 % CI]": _diff_text(r),
                    "margin": f"±{r.margin:.2f}",
                    "TOST p": V.fmt_p(r.p_tost).removeprefix("p ").lstrip("= "),
                    "verdict": r.text(),
                    "setting differences": why,
                }
            )
    nb201 = pd.DataFrame(rows)
    nb201.attrs["gaps"] = _gap_rows(ans)
    # every run's own search seconds, from its manifest: the suite's compute, whichever
    # invocations computed it (the timing of one invocation covers only what it ran)
    nb201.attrs["search_s_summed"] = (float(np.nansum(ans["elapsed_s"].to_numpy(float))), len(ans))
    return nb201, _nb101_orderings(ans)


def _nb101_orderings(ans: pd.DataFrame) -> pd.DataFrame:
    """Per NB101 setting, each method's validation accuracy against its published test error.

    ``attrs["tau"]``: setting -> Kendall tau of our ordering (by mean) against the published;
    ``attrs["pairs"]``: setting -> :func:`analysis.verdicts.ordering_pairs` of the methods.
    """
    nb_rows = []
    taus: dict[str, float] = {}
    pairs: dict[str, list[V.PairOrder]] = {}
    for setting, sources in NB101_SETTINGS:
        vals: dict[str, np.ndarray] = {}
        secs: dict[str, float] = {}
        for exp, methods in sources.items():
            nb = ans[ans["experiment"] == exp]
            for strat in methods:
                runs = nb[nb["strategy_label"] == strat]
                g = runs["answer_val"].to_numpy(float)
                g = g[np.isfinite(g)]
                if g.size:
                    vals[strat] = g
                    secs[strat] = float(np.nanmedian(runs["elapsed_s"].to_numpy(float)))
        for strat in NB101_ORDER:
            if strat not in vals:
                continue
            g = vals[strat]
            sd = float(np.std(g, ddof=1)) if g.size > 1 else math.nan
            nb_rows.append(
                {
                    "setting": setting,
                    "method": strat,
                    "published test error (%)": f"{NB101_ERRORS[strat]:.3f}",
                    "ours: validation accuracy (%)": f"{np.mean(g):.3f} ± {sd:.3f}",
                    "runs": int(g.size),
                    # what a run of the method costs here (wall seconds of its search, on the
                    # shared machine): why some methods have fewer runs than others
                    "search s per run (median)": f"{secs[strat]:.1f}",
                }
            )
        if len(vals) >= 2:
            ours = [-float(np.mean(vals[s])) for s in NB101_ORDER if s in vals]
            errs = [NB101_ERRORS[s] for s in NB101_ORDER if s in vals]
            taus[setting] = float(ss.kendalltau(ours, errs).statistic)
            pairs[setting] = V.ordering_pairs(vals, NB101_ERRORS)
    nb_df = pd.DataFrame(nb_rows)
    nb_df.attrs["tau"] = taus
    nb_df.attrs["pairs"] = pairs
    return nb_df


def _pairs_table(pairs: Sequence[V.PairOrder]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "published order": f"{p.better} > {p.worse}",
                "ours: difference (pp)": f"{p.diff:+.3f}",
                "Holm p": V.fmt_p(p.p).removeprefix("p ").lstrip("= "),
                "verdict": p.word,
            }
            for p in pairs
        ]
    )


def _ordering_section(nb101: pd.DataFrame) -> list[str]:
    taus: dict[str, float] = nb101.attrs.get("tau", {})
    pairs: dict[str, list[V.PairOrder]] = nb101.attrs.get("pairs", {})
    lines: list[str] = []
    for setting, _ in NB101_SETTINGS:
        sel = nb101[nb101["setting"] == setting] if len(nb101) else nb101
        lines += [f"### {setting}", ""]
        if not len(sel):
            lines += ["(not run: `nash reproduce baselines --with-model-based`)", ""]
            continue
        lines += [to_markdown(sel.drop(columns="setting")), ""]
        tau = taus.get(setting, math.nan)
        ps = pairs.get(setting, [])
        plain = (V.AGREES, V.REVERSED, V.NOT_SEPARATED)
        words = [p.word if p.word in plain else V.kind(p.word) for p in ps]
        counts = ", ".join(
            f"{words.count(w)} {w}"
            for w in (V.AGREES, V.REVERSED, V.NOT_SEPARATED, V.INCONCLUSIVE)
            if words.count(w)
        )
        lines += [
            f"Kendall tau between our ordering (by mean) and the published one: {tau:.2f} "
            f"({'the means in the published order' if tau == 1 else 'the means in another order'};"
            " the pairs below say which differences the runs can tell). Pairs of methods "
            f"({len(ps)}): {counts}.",
            "",
        ]
        if ps:
            lines += [to_markdown(_pairs_table(ps)), ""]
    return lines


def _summed_text(summed: tuple[float, int] | None) -> str:
    if not summed:
        return ""
    total, n = summed
    return (
        f"The {n} runs' own search time, summed from their manifests: {total:.0f} s (wall "
        "seconds of each run's search, on whatever load the machine had when it ran; one core "
        "per run)."
    )


def _bohb_verdict(nb201: pd.DataFrame) -> str:
    """One sentence: how many BOHB rows differ, and in which direction."""
    sel = nb201[nb201["method"] == "BOHB"] if len(nb201) else nb201
    words = [V.kind(v) for v in sel.get("verdict", [])]
    if not words or all(w == "not run" for w in words):
        return "BOHB was not run."
    n_diff = words.count(V.DIFFERS)
    if n_diff == 0:
        return f"BOHB: {', '.join(sel['verdict'])} on {len(words)} datasets."
    higher = sum(str(d).startswith("+") for d in sel["ours - published [95 % CI]"])
    return (
        f"The published BOHB row does not reproduce on {n_diff} of {len(words)} datasets (ours "
        f"{'higher' if higher == len(words) else 'different'}); why we think so:"
    )


def _anytime_figure(dirs: Sequence[Path], out: Path) -> list[str]:
    """The anytime figure on charged cost (multi-fidelity and single-fidelity strategies on one
    axis), from the NB201 multi-fidelity experiment when its runs are there."""
    from analysis import plots as P

    roots = [d for d in dirs if Path(d).name == MULTI_FIDELITY_EXP]
    if not roots:
        return ["(not run: `nash reproduce baselines --with-model-based`)", ""]
    rs = load_runs(roots)
    fig = P.plot_anytime(
        rs,
        x="cum_cost",
        height=2.8,  # one panel: room for the two-line axis label
        styles=P.strategy_styles(rs.runs["strategy_label"].unique()),
        metric_label="200-epoch test accuracy [%]",
    )
    P.save(fig, out / "figures" / "anytime_cost", formats=("png",))
    n = rs.runs.groupby("strategy_label").size()
    return [
        "![anytime on charged cost](figures/anytime_cost.png)",
        "",
        f"*Incumbent's 200-epoch test accuracy (NB201 cifar10) against charged cost in "
        f"full-evaluation equivalents: successive halving, Hyperband and BOHB (12- and "
        f"200-epoch rungs; a 12-epoch evaluation is charged 12/200) beside random search and "
        f"regularized evolution (200 epochs); median and interquartile range over "
        f"{', '.join(f'{k} {v}' for k, v in n.items())} runs "
        f"(`experiments/baselines/multi_fidelity_nb201.toml`).*",
        "",
    ]


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many rows say each verdict word (reproduced / differs / inconclusive / not run)."""
    words = [V.kind(v) if v != "not run" else v for v in table.get("verdict", [])]
    return {w: words.count(w) for w in (V.REPRODUCED, V.DIFFERS, V.INCONCLUSIVE, "not run")}


def _counts_text(c: dict[str, int]) -> str:
    return ", ".join(f"{n} {w}" for w, n in c.items() if n)


def write_baselines_report(
    dirs: Sequence[Path], out_dir: str | Path, timing: dict, *, quick: bool = False
) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb201, nb101 = baseline_table(dirs)
    gaps: pd.DataFrame = nb201.attrs.get("gaps", pd.DataFrame())
    rows_c, gaps_c = verdict_counts(nb201), verdict_counts(gaps)
    full_runs = max(PUBLISHED_RUNS.values())
    by_method = {m: exp for _, m, exp, *_ in PUBLISHED}
    few = quick or any(
        int(r["runs"]) < FULL_RUNS.get(by_method[r["method"]], full_runs)
        for _, r in nb201.iterrows()
    )
    power = []
    if few:
        power = [
            f"**Too few runs for these verdicts{' (--quick)' if quick else ''}**: an "
            "*inconclusive* row means these runs cannot tell whether the number is reproduced. "
            f"`{FULL_COMMAND}` ({full_runs} runs per NB201 row, 100 for BOHB) gives the full "
            "answer.",
            "",
        ]
    elif rows_c[V.INCONCLUSIVE] or gaps_c[V.INCONCLUSIVE]:
        power = [
            f"An *inconclusive* row here has {full_runs} runs (BOHB: 100), as many as the paper "
            "or a fifth of it: its CI is wider than the margin, so neither equivalence nor a "
            "difference is shown at this precision.",
            "",
        ]
    margin = f"{V.MARGIN_SD:g}"
    lines = [
        "# Reproduction: published baselines",
        "",
        f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `nash reproduce "
        f"baselines{' --quick' if quick else ''}`. Reported: 200-epoch test accuracy (seed "
        "mean) of the chosen cell. Sources of the published numbers: docs/REFERENCES.md.",
        "",
        "How a row is read (rules in `analysis/verdicts.py`): *ours - published* is our mean "
        "minus the published mean with its 95 % CI (Welch, the published standard deviation "
        "and run count as the published sample). A row is *reproduced* when an equivalence "
        f"test (TOST, alpha = {V.ALPHA:g}) shows the difference inside a margin of {margin} "
        "published standard deviations (a small effect; narrower than the gaps between the "
        "methods the table is about), *differs* (by the stated amount) when the difference is "
        "significant and not inside the margin, and *inconclusive* when these runs cannot "
        "tell. Our setting differs from the papers' (last column), so a row that differs "
        "measures that setting difference as much as the method.",
        "",
        *power,
        f"## NB201 rows ({_counts_text(rows_c)} of {len(nb201)})",
        "",
        to_markdown(nb201),
        "",
        f"## The gaps the tables are about ({_counts_text(gaps_c)} of {len(gaps)})",
        "",
        "A table of search methods exists to show that one method beats another; a "
        "reproduction that matched every row but not the gaps between them would not "
        "reproduce its point. Each gap is our difference between the two methods' means "
        "(95 % CI) against the published difference, with the same equivalence rule (margin: "
        f"{margin} of the two published standard deviations' quadratic mean).",
        "",
        to_markdown(gaps) if len(gaps) else "(no runs)",
        "",
        "## BOHB: the paper's protocol and ours",
        "",
        f"{_bohb_verdict(nb201)} Our BOHB runs the paper's settings (num_samples 4, "
        "random_fraction 0, bandwidth_factor 3, min_bandwidth 0.3) but not its protocol. "
        "Measured against the reference implementation (`bench/reference_bohb.py`: hpbandster "
        "0.7.4 run as the paper's code ran it, on the same tables, signal and budget, 50 runs; "
        "bench/RESULTS.md): hpbandster reaches 93.76 ± 0.35 on cifar10 (71.24 / 44.95 on the "
        "other two), below ours (two-sided Mann-Whitney p < 0.001 on each dataset, whichever way "
        "the budget is counted) and not separated from our random search (p = 0.44). So about "
        "0.2 of our +0.36 on cifar10 is the implementation: our densities are Aitchison-Aitken "
        "kernels over the one-hot encoding with candidates resampled from uniform cells, "
        "hpbandster's are statsmodels' KDE over the six edges' choice indices (normal-reference "
        "bandwidths on the indices) with candidates drawn around good points; ours is a variant, "
        "not a replica; the row *BOHB, hpbandster's model* runs the same settings with the "
        'reference\'s density model (`kde = "hpbandster"`), whose cifar10 results are not '
        "separated from hpbandster's own (bench/RESULTS.md). hpbandster's answer rule (the best "
        "cell at the maximum budget) changes "
        "nothing measurable here (the same cell in 50 of 50 runs). The reference is still 0.15 "
        "above the published mean (p = 0.006), which we put down to what these tables cannot "
        "reproduce: the paper's signal is ONE random training seed's 12-epoch validation "
        "accuracy per query, ours the seed mean (the shipped tables have no per-seed 12-epoch "
        "values), and its 12,000 simulated seconds. The paper also searched cifar10 only and "
        "evaluated those cells on the other datasets; ours searches each dataset "
        "(bench/RESULTS.md: the cifar10-searched cells give the same numbers within 0.1).",
        "",
        "## NB101, 150 queries: ordering of the methods",
        "",
        "The shipped NB101 data has no test accuracy and covers 7 % of the space: methods are"
        " compared by the 108-epoch VALIDATION accuracy of the chosen cell, against the "
        "published ordering by mean test error over 200 trials (BANANAS paper), on the real "
        "30,001-cell pool and, labelled SURROGATE-BASED, on `nb101-surrogate` (the full "
        "space, an XGBoost prediction for every cell outside the pool). Budget: 150 full-"
        "evaluation equivalents (BOHB's lower rungs cost a fraction of one; how the paper "
        "counted BOHB's queries is not re-read here). The rule "
        "(`analysis.verdicts.ordering_pairs`): each pair of methods, two-sided Mann-Whitney "
        "with Holm's correction over the setting's pairs, *agrees* or *reversed* when "
        "significant, *not separated* when not, *inconclusive* when the run counts cannot "
        "reach significance; Kendall tau over the means is shown beside it. Seeds differ by "
        "method because runs cost differently here (the table's last column): GP-BO's "
        "candidates are pool-confined mutations, each redrawn until the child is in the pool, "
        "and optuna's TPE, which proposes raw genomes, is not run on the pool at all: most of "
        "its proposals are invalid or outside the pool (pruned trials every later proposal "
        "pays for), and once it has found good pool cells it proposes them again and again "
        "(free repeats), so a run had not reached 150 evaluations after 36 minutes and 4,048 "
        "queries (experiment file); TPE's row is on `nb101-surrogate`. The model-based rows "
        "run only with `--with-model-based`.",
        "",
        *_ordering_section(nb101),
        "Why the ordering can differ here: the pool holds 7 % of NB101, so a cell has on "
        "average about 1.4 pool members among its ~30 one-move neighbours; local search, the "
        "published winner, then exhausts its neighbourhood after a handful of evaluations and "
        "restarts almost every time (it degenerates towards random restarts), while a predictor "
        "that ranks the closed pool directly loses nothing to the pool's sparsity. Validation "
        "(one repeat) replaces test error, and the 30k pool's optimum differs from the space's.",
        "The surrogate setting removes the sparsity but replaces most accuracies by an XGBoost "
        "prediction, whose ranking among the best cells is what these methods compete on.",
        "",
        "## Anytime curves on charged cost: multi-fidelity beside single-fidelity",
        "",
        *_anytime_figure(dirs, out),
        "## Run time",
        "",
        f"{timing.get('machine', '?')}; runs executed now: {timing.get('runs_executed')} of "
        f"{timing.get('runs_total')}; search wall time {timing.get('search_s', 0):.0f} s.",
        _summed_text(nb201.attrs.get("search_s_summed")),
        *[f"Gate {g['gate']}: {g['note']}." for g in timing.get("gates", [])],
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    (out / "timing.json").write_text(json.dumps(dict(timing), indent=1, default=str))
    nb201.to_csv(out / "nb201_published.csv", index=False)
    gaps.to_csv(out / "nb201_gaps.csv", index=False)
    nb101.to_csv(out / "nb101_ordering.csv", index=False)
    return path
