"""A results section from result directories: Markdown report, CSV and LaTeX tables, figures.

Why: the numbers in a paper must trace back to runs. :func:`build_report` recomputes every table
and figure from the run files each time (seeded bootstraps, so the same runs give the same
report), writes each table as Markdown (in ``report.md``), CSV (``tables/*.csv``, full
precision) and LaTeX booktabs (``tables/*.tex``), and states in the text which metric is
reported (``report_label`` from the run manifests: validation on NB101, which ships no test
accuracy), the seeds, the budgets and accountings, the software versions and what is missing.
"""

from __future__ import annotations

import math
import platform
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import load as L
from analysis import plots as P
from analysis import stats as S
from harness.errors import NashError


# -- table writers -----------------------------------------------------------------------------
def _fmt(v: Any, digits: int = 2) -> str:
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:.{digits}f}"
    return str(v)


def _fmt_p(p: float) -> str:
    if not isinstance(p, float | np.floating) or math.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of already formatted (string) cells."""
    cols = [str(c) for c in df.columns]
    esc = [[str(v).replace("|", "\\|") for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in esc]
    return "\n".join(lines)


_TEX_ESC = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}"}


def _tex(s: str) -> str:
    s = str(s)
    for k, v in _TEX_ESC.items():
        s = s.replace(k, v)
    return (
        s.replace("±", r"$\pm$")
        .replace("∞", r"$\infty$")
        .replace("–", "--")
        .replace("−", "-")
        .replace("<", r"$<$")
        .replace("≥", r"$\geq$")
    )


def to_latex(df: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs}``); cells are already formatted."""
    align = "l" * min(2, df.shape[1]) + "r" * max(0, df.shape[1] - 2)
    body = [" & ".join(_tex(v) for v in row) + r" \\" for row in df.itertuples(index=False)]
    return "\n".join(
        [
            r"\begin{table}[t]",
            r"\centering",
            r"\small",
            rf"\caption{{{_tex(caption)}}}",
            rf"\label{{tab:{label}}}",
            rf"\begin{{tabular}}{{{align}}}",
            r"\toprule",
            " & ".join(_tex(c) for c in df.columns) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
            "",
        ]
    )


class _Writer:
    """Collects report sections; writes each table as CSV (raw), TeX and Markdown (formatted)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.tables = out / "tables"
        self.figures = out / "figures"
        self.tables.mkdir(parents=True, exist_ok=True)
        self.figures.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self.n_tables = 0
        self.files: list[Path] = []

    def text(self, *lines: str) -> None:
        self.lines.extend(lines)
        self.lines.append("")

    def table(self, name: str, raw: pd.DataFrame, shown: pd.DataFrame, caption: str) -> None:
        self.n_tables += 1
        csv = self.tables / f"{name}.csv"
        tex = self.tables / f"{name}.tex"
        raw.to_csv(csv, index=False)
        tex.write_text(to_latex(shown, caption, name))
        self.files += [csv, tex]
        self.text(
            f"**Table {self.n_tables}.** {caption} "
            f"([csv](tables/{name}.csv), [tex](tables/{name}.tex))",
            to_markdown(shown),
        )

    def figure(self, name: str, fig: Any, caption: str) -> None:
        paths = P.save(fig, self.figures / name)
        self.files += paths
        self.text(
            f"![{caption}](figures/{name}.png)",
            f"*{caption}* ([pdf](figures/{name}.pdf))",
        )


# -- the report --------------------------------------------------------------------------------
def _metric_statement(rs: L.RunSet) -> list[str]:
    lines = []
    first = rs.runs.groupby("setting", sort=False).first()
    for setting, r in first.iterrows():
        sig = f"`{r['signal_name']}`" + (
            f" at fidelity {r['fidelity']:g}" if pd.notna(r["fidelity"]) else ""
        )
        opt = f"{r['optimum']:.2f}" if math.isfinite(r["optimum"]) else "unknown"
        lines.append(
            f"- **{setting}**: search signal {sig}; **reported metric: {r['report_label']}** "
            f"(`{r['report_metric']}`) of the incumbent, the cell with the best search signal "
            f"so far; benchmark optimum of the reported metric {opt}; noise model: "
            f"{r['noise_model'] or 'none'}."
        )
    val_only = rs.runs[
        rs.runs["report_metric"].astype(str).str.startswith("val")
        | rs.runs["report_label"].astype(str).str.contains("VALIDATION", case=False)
    ]
    if not val_only.empty:
        names = ", ".join(dict.fromkeys(val_only["setting"]))
        lines.append(
            f"- **Validation only: {names}.** The shipped NB-101 data has no test accuracy, so "
            "these results report VALIDATION accuracy (the same split the search used): they "
            "are not test results and are optimistic as estimates of generalisation."
        )
    return lines


def _versions(rs: L.RunSet) -> pd.DataFrame:
    rows = []
    for v, g in rs.runs.groupby("versions", sort=False):
        commits = ", ".join(sorted({str(c)[:10] for c in g["git_commit"]}))
        import json

        rows.append({"runs": len(g), "git commit(s)": commits} | json.loads(str(v)))
    return pd.DataFrame(rows)


def _analysis_versions() -> str:
    out = [f"python {platform.python_version()}"]
    for pkg in (
        "nasbench-harness",
        "numpy",
        "pandas",
        "pyarrow",
        "scipy",
        "statsmodels",
        "scikit-posthocs",
        "matplotlib",
    ):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


def _final_shown(t: pd.DataFrame, d: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "setting": t["setting"],
            "strategy": t["strategy_label"],
            "runs": t["n"].astype(int),
            "mean ± std": [
                f"{m:.{d}f} ± {s:.{d}f}" for m, s in zip(t["mean"], t["std"], strict=True)
            ],
            "95% CI of mean": [
                f"[{lo:.{d}f}, {hi:.{d}f}]"
                for lo, hi in zip(t["mean_ci_lo"], t["mean_ci_hi"], strict=True)
            ],
            "median [IQR]": [
                f"{m:.{d}f} [{a:.{d}f}, {b:.{d}f}]"
                for m, a, b in zip(t["median"], t["q25"], t["q75"], strict=True)
            ],
            "95% CI of median": [
                f"[{lo:.{d}f}, {hi:.{d}f}]"
                for lo, hi in zip(t["median_ci_lo"], t["median_ci_hi"], strict=True)
            ],
        }
    )


#: a file that marks a directory as written by :func:`build_report` (safe to replace)
REPORT_MARKER = ".nash-report"
_REPORT_ENTRIES = {"report.md", "tables", "figures", REPORT_MARKER}


def stopped_by_table(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """How the runs stopped, per setting and strategy, and one warning per setting whose runs
    stopped for different reasons (e.g. a converged evolution hits the query cap while the
    others spend their budget: its results are not for the same cost)."""
    col = runs["stopped_by"] if "stopped_by" in runs else pd.Series("?", index=runs.index)
    r = runs.assign(stopped_by=col.fillna("?").astype(str))
    rows = [
        {
            "setting": b,
            "strategy": st,
            "stopped_by": ", ".join(
                f"{k} ({n})" for k, n in g["stopped_by"].value_counts().items()
            ),
        }
        for (b, st), g in r.groupby(["setting", "strategy_label"], sort=False)
    ]
    warn = [
        f"- **Warning**: runs of `{b}` stopped for different reasons "
        f"({', '.join(sorted(set(g['stopped_by'])))}); runs that stopped early (the query cap: "
        "only known cells were proposed; or the strategy finished) spent less than the budget."
        for b, g in r.groupby("setting", sort=False)
        if g["stopped_by"].nunique() > 1
    ]
    return pd.DataFrame(rows, columns=["setting", "strategy", "stopped_by"]), warn


def _stopped_by_section(w: Any, rs: L.RunSet) -> None:
    table, warn = stopped_by_table(rs.runs)
    w.text("## How runs stopped")
    w.table("stopped_by", table, table, "Why each run stopped (number of runs per reason).")
    if warn:
        w.text(*warn)


def _check_report_dir(out: Path) -> None:
    """Only a report directory (or a new or empty one) may be replaced by a new report.

    Why: the report is swapped in as a whole directory; ``--out ~`` must never replace a home.
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise L.ResultsError(f"--out {out} is a file or a link, not a report directory")
    if not out.exists():
        return
    entries = {p.name for p in out.iterdir()}
    if not entries or REPORT_MARKER in entries:
        return
    if entries <= _REPORT_ENTRIES:  # written (or half-written) before the marker existed
        return
    raise L.ResultsError(
        f"--out {out} exists and is not a report directory written by `nash report` (it holds "
        f"{', '.join(sorted(entries)[:5])}); give a new directory"
    )


def build_report(
    results_dirs: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    *,
    align: bool = False,
    seed: int = 0,
    target_quantile: float | None = None,
    target: float | None = None,
    checkpoints: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    zero_cost_demo: bool = True,
) -> Path:
    """Write the report into a temporary directory and swap it in for ``out_dir`` at the end.

    A report killed half-way leaves the previous one intact, and a new report never keeps
    stale files (``pairwise.csv``, ``cd_*.png``) of an earlier one. See :func:`_write_report`.
    """
    import os
    import shutil
    import tempfile

    from harness.runner.fsafe import _tmp_owner, pid_alive, swap_in

    final = Path(out_dir)
    _check_report_dir(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for p in final.parent.glob(f".{final.name}.*-*"):  # leftovers of killed reports
        owner = _tmp_owner(p.name)
        if owner is not None and p.is_dir() and not p.is_symlink():
            if owner <= 0 or not pid_alive(owner):
                shutil.rmtree(p, ignore_errors=True)
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-{pid}-", dir=final.parent))
    try:
        _write_report(
            results_dirs,
            tmp,
            align=align,
            seed=seed,
            target_quantile=target_quantile,
            target=target,
            checkpoints=checkpoints,
            zero_cost_demo=zero_cost_demo,
        )
        (tmp / REPORT_MARKER).write_text("written by nash report; replaced as a whole\n")
        swap_in(tmp, final)
    except OSError as e:  # disk full and the like: the previous report stays as it was
        raise L.ResultsError(
            f"cannot write the report into {final}: {e.strerror or e}; the previous report (if "
            "any) is untouched"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "report.md"


def _write_report(
    results_dirs: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    *,
    align: bool = False,
    seed: int = 0,
    target_quantile: float | None = None,
    target: float | None = None,
    checkpoints: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    zero_cost_demo: bool = True,
) -> Path:
    """Write ``out_dir/report.md`` with tables (Markdown, CSV, LaTeX) and figures (PDF, PNG).

    Args:
        results_dirs: experiment directories, or a results root holding several.
        align: compare runs of different budgets by cutting them at the smallest (with a
            warning in the report); without it such a comparison is refused.
        seed: seeds every bootstrap.
        target_quantile: the evaluations-to-target target of each setting is this quantile of
            the baseline's final reported metric (0.25: a value at least 75 % of the baseline's
            runs reach within the budget, so the baseline's median time to it is defined).
            None (default): chosen by :func:`choose_targets` so that the target separates
            strategies.
        target: one fixed target value for every setting (instead of a quantile).
        zero_cost_demo: add the NB201 zc_nwot vs validation accuracy figure when NB201 is used.

    Returns the path of ``report.md``.
    """
    rs = L.check_budgets(L.load_runs(results_dirs), align=align)
    out = Path(out_dir)
    w = _Writer(out)
    f = L.finals(rs)
    styles = P.strategy_styles(rs.strategies)
    exps = list(dict.fromkeys(rs.runs["experiment"]))
    dirs = [results_dirs] if isinstance(results_dirs, str | Path) else list(results_dirs)

    w.text(
        f"# Results: {', '.join(exps)}",
        f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `nash report` from "
        + ", ".join(f"`{d}`" for d in dirs)
        + f": {len(rs.runs)} runs, {len(rs.trials)} queries. Every number below is recomputed "
        f"from those run files (bootstrap seed {seed}); the CSV files hold full precision.",
    )
    for name in exps:
        e = rs.experiments.get(name, {})
        if e.get("description"):
            w.text(f"*{name}*: {e['description']} (source `{e.get('source', '')}`).")

    # -- what is reported
    w.text("## What is reported", *_metric_statement(rs))
    w.text(
        "Two cost accountings are kept throughout: *charged evaluations* (a repeated query of "
        "a cell already evaluated in the run is free, the harness default) and *queries* "
        "(every query charged, the reference study's accounting)."
    )

    # -- settings and completeness
    bs = L.budget_summary(rs)
    shown = bs.copy()
    for c in ("mean evals", "mean queries", "mean distinct"):
        shown[c] = shown[c].map(lambda v: f"{v:.1f}")
    shown = shown.drop(columns=["noise", "reported"])
    w.text("## Settings")
    w.table("settings", bs, shown, "Runs, seeds, budgets and search settings per strategy.")
    w.text("## Completeness")
    if rs.problems:
        w.text(
            "Missing or skipped (everything complete was used):", *[f"- {p}" for p in rs.problems]
        )
    else:
        w.text(f"All expected runs are present ({len(rs.runs)} runs).")
    _stopped_by_section(w, rs)

    # -- final results
    w.text("## Final results")
    label = "; ".join(dict.fromkeys(rs.runs["report_label"]))
    ft = S.summary_table(f, "final_reported", seed=seed)
    w.table(
        "final",
        ft,
        _final_shown(ft),
        f"Final reported metric ({label}) of the incumbent; 95% CIs are BCa (mean) and "
        "percentile (median) bootstraps over runs.",
    )
    rt = S.summary_table(f, "final_regret", seed=seed)
    w.table(
        "final_regret",
        rt,
        _final_shown(rt, 3),
        "Final regret: benchmark optimum minus the reported metric (lower is better).",
    )
    bt = S.summary_table(f, "best_reported_seen", seed=seed)
    if np.isfinite(bt["mean"]).any():
        w.table(
            "best_seen",
            bt,
            _final_shown(bt),
            "Best reported metric among all cells a run evaluated (not selectable without "
            "test data; compare with the final-result table to see what selection by the "
            "signal loses).",
        )

    # -- anytime
    w.text("## Anytime performance")
    at = S.anytime_table(
        rs, y="incumbent_reported", x="cum_evals", checkpoints=checkpoints, seed=seed
    )
    ats = pd.DataFrame(
        {
            "setting": at["setting"],
            "strategy": at["strategy_label"],
            "at evals": at["at"],
            "mean [95% CI]": [
                f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
                for m, lo, hi in zip(at["mean"], at["mean_ci_lo"], at["mean_ci_hi"], strict=True)
            ],
            "median [IQR]": [
                f"{m:.2f} [{a:.2f}, {b:.2f}]"
                for m, a, b in zip(at["median"], at["q25"], at["q75"], strict=True)
            ],
        }
    )
    w.table(
        "anytime",
        at,
        ats,
        "Incumbent's reported metric after a fraction of the charged evaluations; `auc` is "
        "its mean over the whole budget (normalised area under the anytime curve).",
    )
    for x, xname in (("cum_evals", "evals"), ("cum_queries", "queries")):
        w.figure(
            f"anytime_{xname}",
            P.plot_anytime(rs, x=x, styles=styles, metric_label="reported metric [%]"),
            f"Incumbent's reported metric against {L.X_AXES[x]}: median and interquartile "
            "range over runs; dotted: benchmark optimum.",
        )
    cost = rs.trials.get("cum_cost")
    if cost is not None and not np.allclose(cost, rs.trials["cum_evals"], equal_nan=True):
        w.figure(  # fidelities chosen by strategies: compare everyone on the charged cost
            "anytime_cost",
            P.plot_anytime(rs, x="cum_cost", styles=styles, metric_label="reported metric [%]"),
            f"Incumbent's reported metric against {L.X_AXES['cum_cost']}: multi-fidelity and "
            "single-fidelity strategies on the same axis (median and interquartile range).",
        )
    w.figure(
        "regret_evals",
        P.plot_anytime(rs, x="cum_evals", y="regret", band="ci", styles=styles),
        "Regret (optimum minus reported metric, log scale) against charged evaluations: mean "
        "and 95% t-interval over runs.",
    )
    seconds = [x for x in ("cum_train_s", "cum_score_s", "cum_measured_s") if L.cost_known(rs, x)]
    if "worker" in rs.trials.columns and (rs.trials["worker"] > 0).any():
        seconds.append("clock_s")  # asynchronous runs: what W workers buy in elapsed time
    for x in seconds:
        w.figure(
            f"anytime_{x}",
            P.plot_anytime(rs, x=x, styles=styles, metric_label="reported metric [%]"),
            f"Incumbent's reported metric against {L.X_AXES[x]}.",
        )
    if not seconds:
        w.text(
            "No cost in seconds is known for these runs (the benchmark records no training "
            "times and nothing was measured), so there is no figure against seconds; the wall "
            "time of table look-ups measures the harness, not the search."
        )

    # -- distributions
    w.text("## Distributions of the final result")
    for kind, cap in (
        ("box", "box plots (median, quartiles, 1.5 IQR whiskers) with every run as a point"),
        ("violin", "violins with median and quartiles"),
        ("ecdf", "empirical CDFs (the view behind the Kolmogorov-Smirnov test)"),
    ):
        w.figure(
            f"final_{kind}",
            P.plot_final_distributions(
                f, kind=kind, styles=styles, value_label="final reported metric [%]", seed=seed
            ),
            f"Final reported metric per run: {cap}.",
        )

    # -- pairwise tests
    w.text("## Pairwise tests")
    pw = S.pairwise_table(f, "final_reported")
    if pw.empty:
        w.text("Only one strategy per setting: no pairwise comparison.")
    else:
        pws = pd.DataFrame(
            {
                "setting": pw["setting"],
                "a vs b": pw["a"] + " vs " + pw["b"],
                "median a / b": [
                    f"{a:.2f} / {b:.2f}"
                    for a, b in zip(pw["median_a"], pw["median_b"], strict=True)
                ],
                "MWU p (Holm)": [
                    f"{_fmt_p(p)} ({_fmt_p(q)})"
                    for p, q in zip(pw["p_mwu"], pw["p_mwu_holm"], strict=True)
                ],
                "KS p (Holm)": [
                    f"{_fmt_p(p)} ({_fmt_p(q)})"
                    for p, q in zip(pw["p_ks"], pw["p_ks_holm"], strict=True)
                ],
                "Wilcoxon p (Holm), pairs": [
                    f"{_fmt_p(p)} ({_fmt_p(q)}), {int(n)}"
                    for p, q, n in zip(
                        pw["p_wilcoxon"], pw["p_wilcoxon_holm"], pw["n_pairs"], strict=True
                    )
                ],
                "A12": [f"{v:.2f} ({m})" for v, m in zip(pw["A12"], pw["A12_size"], strict=True)],
                "Cliff's δ": [
                    f"{v:.2f} ({m})"
                    for v, m in zip(pw["cliffs_delta"], pw["delta_size"], strict=True)
                ],
            }
        )
        w.table(
            "pairwise",
            pw,
            pws,
            "Final reported metric, strategy a against b: two-sided Mann-Whitney U and "
            "two-sample Kolmogorov-Smirnov (independent runs), Wilcoxon signed-rank (runs "
            "paired by seed: strategies of one experiment share each seed's random streams); "
            "Holm-adjusted over all comparisons in this table, per test. A12 = P(a > b) + "
            "P(a = b)/2 (0.5: no effect); Cliff's δ = 2 A12 − 1.",
        )

    # -- ranks
    w.text("## Ranks across settings")
    rank_rows = []
    families: list[tuple[str, S.RankResult]] = []
    if len(rs.settings) >= 2:
        families.append(
            ("across settings", S.rank_analysis(f, "final_reported", blocks=("setting",)))
        )
    for setting in rs.settings:
        sub = f[f["setting"] == setting]
        if sub["strategy_label"].nunique() >= 2:
            families.append(
                (setting, S.rank_analysis(sub, "final_reported", blocks=("setting", "seed")))
            )
    for name, rr in families:
        rank_rows.append(
            {
                "family": name,
                "blocks": f"{rr.n_blocks} ({rr.blocks})",
                "average ranks (1 = best)": ", ".join(f"{k} {v:.2f}" for k, v in rr.ranks.items()),
                "Friedman χ²": _fmt(rr.statistic),
                "p": _fmt_p(rr.pvalue),
                "Nemenyi CD": _fmt(rr.cd),
                "note": rr.note,
            }
        )
        if math.isfinite(rr.cd):
            slug = "all" if name == "across settings" else name
            w_fig = P.plot_cd_diagram(
                rr.ranks, rr.nemenyi, cd=rr.cd, title=name, styles=styles, width="one"
            )
            w.figure(
                f"cd_{_slug(slug)}",
                w_fig,
                f"Critical-difference diagram, {name} (blocks: {rr.blocks}): average rank of "
                "the final reported metric (1 = best); strategies joined by a bar are not "
                "significantly different (Nemenyi, α = 0.05).",
            )
    if rank_rows:
        rdf = pd.DataFrame(rank_rows)
        w.table(
            "ranks",
            rdf,
            rdf,
            "Average ranks and the Friedman test, across settings (blocks = settings, each "
            "strategy's median final result) and within each setting (blocks = seeds, runs "
            "paired by seed).",
        )

    # -- evaluations to target
    w.text("## Evaluations to reach a target (acceleration)")
    base = S.default_baseline(f)
    targets, target_rule = choose_targets(rs, f, base, target_quantile, target)
    ttt = pd.concat(
        [S.evals_to_target(rs, targets, x=x) for x in ("cum_evals", "cum_queries")],
        ignore_index=True,
    )
    sp = S.speedup_table(ttt, base, seed=seed)
    ttt.to_csv(w.tables / "evals_to_target_runs.csv", index=False)
    if not sp.empty:
        sps = pd.DataFrame(
            {
                "setting": sp["setting"],
                "accounting": sp["accounting"].map(
                    {"cum_evals": "charged evals", "cum_queries": "queries"}
                ),
                "strategy": sp["strategy_label"],
                "target": sp["target"].map(lambda v: f"{v:.2f}"),
                "reached": sp["reached"].map(lambda v: f"{100 * v:.0f}%"),
                "median to target": sp["median_evals"].map(lambda v: _fmt(v, 1)),
                "speed-up vs baseline [95% CI]": [
                    "baseline" if s == b else f"{_fmt(p)} [{_fmt(lo)}, {_fmt(hi)}]"
                    for s, b, p, lo, hi in zip(
                        sp["strategy_label"],
                        sp["baseline"],
                        sp["speedup"],
                        sp["ci_lo"],
                        sp["ci_hi"],
                        strict=True,
                    )
                ],
            }
        )
        w.table(
            "speedup",
            sp,
            sps,
            f"Evaluations until the incumbent's reported metric first reaches the target "
            f"({target_rule}), under both "
            "accountings. Runs that never reach it count as ∞ (right-censored at the budget); "
            "the median is finite when more than half reach it. Speed-up = baseline's median / "
            "strategy's median; 95% percentile bootstrap CI over runs (∞ or – where resampled "
            "medians are undefined). Per-run times: tables/evals_to_target_runs.csv.",
        )

    # -- zero-cost demo
    demo = _zero_cost_demo(rs.runs) if zero_cost_demo else None
    if demo is not None:
        bname, dsname, sig = demo
        try:
            fig = P.zc_hexbin(bname, dsname, "zc_nwot", sig)
        except Exception as e:  # a benchmark-level extra: the report stands without it
            warnings.warn(f"zero-cost figure skipped: {e}", stacklevel=2)
        else:
            w.text("## Zero-cost proxy (benchmark level)")
            w.figure(
                f"zc_nwot_{dsname}",
                fig,
                f"{bname} {dsname}: NASWOT (`zc_nwot`, NAS-Bench-Suite-Zero) against `{sig}` "
                "for every cell with a score.",
            )

    # -- summary in words
    w.text("## Summary in plain language", *_plain_summary(f, pw, sp))

    # -- software
    w.text("## Software")
    vd = _versions(rs)
    w.table("versions", vd, vd.astype(str), "Versions recorded in the run manifests.")
    w.text(f"Analysis: {_analysis_versions()}.")

    path = out / "report.md"
    path.write_text("\n".join(w.lines))
    return path


#: quantiles tried, in order, by the automatic target (all keep > 50 % of baseline runs reaching
#: it, so the baseline's median time to target stays defined)
AUTO_QUANTILES = (0.25, 0.30, 0.35, 0.40, 0.45)
#: a target is trivial when every strategy's median time to it is within this fraction of the
#: budget (e.g. reached by the first evaluation): it cannot separate strategies
TRIVIAL_FRACTION = 0.02


def choose_targets(
    rs: Any,
    f: pd.DataFrame,
    base: dict[str, str],
    quantile: float | None,
    value: float | None,
) -> tuple[dict[str, float], str]:
    """Per setting, the acceleration target, and the rule that chose it (for the report).

    A fixed ``value`` or ``quantile`` is used as given. Otherwise the baseline's 25 % quantile
    of final results, unless that target is trivial (every strategy's median evaluations to it
    within 2 % of the budget or at the first evaluation, as on benchmarks where almost every
    cell is near the best); then
    the next of :data:`AUTO_QUANTILES` that is not, up to 45 %.
    """
    settings = [s for s in base if s in set(f["setting"])]

    def finals(setting: str) -> np.ndarray:
        b = base[setting]
        v = f.loc[(f["setting"] == setting) & (f["strategy_label"] == b), "final_reported"]
        return np.asarray(v[np.isfinite(v)], dtype=float)

    if value is not None:
        return {s: float(value) for s in settings}, f"the fixed target {value:g}"
    if quantile is not None:
        out = {s: float(np.quantile(finals(s), quantile, method="lower")) for s in settings
               if len(finals(s))}  # fmt: skip
        return out, f"the baseline's {quantile:.0%} quantile of final results"
    out, chosen = {}, {}
    for s in settings:
        v = finals(s)
        if not len(v):
            continue
        for q in AUTO_QUANTILES:
            t = float(np.quantile(v, q, method="lower"))
            ttt = S.evals_to_target(rs, {s: t}, x="cum_evals")
            ttt = ttt[ttt["setting"] == s]
            budget = float(np.nanmax(ttt["x_max"])) if len(ttt) else 0.0
            med = ttt.groupby("strategy_label")["evals"].median()
            if not (len(med) and np.all(med <= max(1.0, TRIVIAL_FRACTION * budget))):
                break
        out[s], chosen[s] = t, q
    qs = sorted(set(chosen.values()))
    rule = (
        "the baseline's 25 % quantile of final results"
        if qs == [0.25] or not qs
        else "the baseline's quantile of final results chosen per setting so that the target "
        "is not trivial (" + ", ".join(f"{k}: {v:.0%}" for k, v in chosen.items()) + ")"
    )
    return out, rule


def _zero_cost_demo(runs: pd.DataFrame) -> tuple[str, str, str] | None:
    """The first (benchmark, dataset, signal) of the runs whose benchmark ships ``zc_nwot``."""
    from harness.benchmarks import get_benchmark

    for bname, dsname in runs[["benchmark", "dataset"]].drop_duplicates().itertuples(index=False):
        try:
            bench = get_benchmark(str(bname))
            if "zc_nwot" in bench.metric_names(str(dsname), "proxy"):
                return str(bname), str(dsname), bench.signal_metric(str(dsname))
        except NashError:
            continue
    return None


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)


def _plain_summary(f: pd.DataFrame, pw: pd.DataFrame, sp: pd.DataFrame) -> list[str]:
    """One sentence per comparison: significant (Holm-adjusted MWU p < 0.05) or not."""
    lines = []
    if pw.empty:
        return ["Only one strategy per setting: nothing to compare."]
    for setting, g in pw.groupby("setting", sort=False):
        label = f.loc[f["setting"] == setting, "report_label"].iloc[0]
        lines.append(f"- **{setting}** ({label}):")
        for r in g.to_dict("records"):
            p = float(r["p_mwu_holm"])
            a_wins = float(r["A12"]) > 0.5
            if math.isfinite(p) and p < 0.05:
                win, lose = (r["a"], r["b"]) if a_wins else (r["b"], r["a"])
                mw, ml = (
                    (r["median_a"], r["median_b"]) if a_wins else (r["median_b"], r["median_a"])
                )
                a12 = float(r["A12"]) if a_wins else 1 - float(r["A12"])
                lines.append(
                    f"  - {win} ends higher than {lose} (median {mw:.2f} vs {ml:.2f}; "
                    f"A12 = {a12:.2f}, {r['A12_size']} effect; Holm-adjusted MWU p = "
                    f"{_fmt_p(p)})."
                )
            else:
                lines.append(
                    f"  - {r['a']} vs {r['b']}: no significant difference (median "
                    f"{r['median_a']:.2f} vs {r['median_b']:.2f}; Holm-adjusted MWU p = "
                    f"{_fmt_p(p)}; A12 = {r['A12']:.2f})."
                )
        s = sp[(sp["setting"] == setting) & (sp["strategy_label"] != sp["baseline"])]
        for q in s.to_dict("records"):
            acc = "charged evaluations" if q["accounting"] == "cum_evals" else "queries"
            lo, hi = float(q["ci_lo"]), float(q["ci_hi"])
            if math.isfinite(lo) and lo > 1:
                verdict = "significantly faster than"
            elif math.isfinite(hi) and hi < 1:
                verdict = "significantly slower than"
            else:
                verdict = "not distinguishable in speed from"
            lines.append(
                f"  - In {acc}, {q['strategy_label']} is {verdict} {q['baseline']} to reach "
                f"{q['target']:.2f} (speed-up {_fmt(q['speedup'])}, 95% CI [{_fmt(lo)}, "
                f"{_fmt(hi)}]; reached by {100 * q['reached']:.0f}% of its runs)."
            )
    return lines
