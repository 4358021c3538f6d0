"""The report of a reproduction suite: per-experiment reports plus the study's conclusions.

``reports/<suite>/report.md`` holds the overview (final results of every setting and strategy,
under both cost accountings), the verdict on each of the reference study's conclusions with the
statistic behind it, the run times, and links to one full report per experiment
(``experiments/<name>/report.md``, built by :func:`analysis.report.build_report`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import conclusions as C
from analysis import load as L
from analysis import plots as P
from analysis import verdicts as V
from analysis.report import build_report, to_markdown

COLUMNS = [
    "phase",
    "arch_key",
    "val",
    "reported",
    "repeat",
    "signal",
    "status",
    "step",
    "cum_distinct",
    "cum_queries",
    "cum_evals",
    "incumbent_signal",
    "incumbent_step",
    "incumbent_reported",
]

CAVEATS = [
    "NB201 search signals are seed means; the one-seed noise model (signal + N(0, 0.34^2), "
    "3 training seeds per cell) is an approximation of the study's one-random-seed queries, "
    "estimated from the shipped data (the spread between one seed and the three-seed mean), "
    "not a real per-seed table.",
    "NASWOT fitness reads the NAS-Bench-Suite-Zero `nwot` column (computed on CIFAR-10 images); "
    "it covers the 9,445 NB201 cells without a cut-off branch, the others have no score and "
    "count as failed evaluations (ranked last).",
    "A NASWOT-driven run pays one training for the cell it picks (the final evaluation); its "
    "scoring cost is counted separately (`charged_proxy`).",
    "NB101 results are VALIDATION accuracy (the shipped NB101 data has no test accuracy) on the "
    "real 30,001-cell pool, a closed candidate pool (7 % of the space).",
    "`nb101-surrogate` settings are SURROGATE-BASED: the full NB101 space (423,624 cells), the "
    "real 108-epoch validation accuracy for the 30,001 shipped records and an XGBoost "
    "prediction for every other cell (held-out Kendall tau about 0.83). A surrogate is smoother "
    "than real trainings (no repeat noise) and can be wrong where it has no data; its verdicts "
    "test whether a conclusion survives leaving the closed 30k pool, not real accuracy.",
    "NASWOT fitness on NB101 (`ga_naswot`, `nasea_xgb_naswot` on the 30k pool) uses our own "
    "Hamming-kernel NASWOT (batch 128 CIFAR-10 images, seed 0, the nasbench-pytorch network); "
    "NB101 has no published NASWOT column for the pool. About 6 CPU-seconds per new cell, so "
    "these runs happen only on a GPU, with `--with-nb101-naswot`, or from the score cache "
    "(see Run time).",
    "Distinct cells are counted by isomorphism class (NB201: NATS-Bench unique string; NB101: "
    "official hash), so they are lower than counts of distinct arch strings.",
]


def _answers_table(rs: L.RunSet) -> pd.DataFrame:
    ans = C.answers(rs)
    rows = []
    for (setting, strat), g in ans.groupby(["setting", "strategy_label"], sort=True):
        metric = g["answer_reported"].to_numpy(float)
        val = g["answer_val"].to_numpy(float)
        sd = float(np.nanstd(metric, ddof=1)) if len(g) > 1 else math.nan
        rows.append(
            {
                "setting": setting,
                "strategy": strat,
                "runs": len(g),
                "reported (mean ± std)": f"{np.nanmean(metric):.2f} ± {sd:.2f}",
                "answer val (median)": f"{np.nanmedian(val):.2f}",
                "best seen (mean)": f"{np.nanmean(g['best_reported_seen']):.2f}",
                "queries (median)": f"{np.median(g['n_queries']):.0f}",
                "charged (median)": f"{np.median(g['n_evaluations']):.0f}",
                "distinct (median)": f"{np.median(g['n_distinct']):.0f}",
                "seconds/run (median)": f"{np.median(g['elapsed_s']):.1f}",
            }
        )
    return pd.DataFrame(rows)


def write_suite_report(
    suite: str,
    roots: Sequence[Path],
    out_dir: str | Path,
    *,
    quick: bool,
    timing: Mapping[str, Any],
    batch_table: Path | None,
) -> Path:
    import time

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    sub_reports = []
    for root in roots:
        target = out / "experiments" / root.name
        try:
            build_report(root, target, zero_cost_demo=False)
            sub_reports.append(f"- [{root.name}](experiments/{root.name}/report.md)")
        except Exception as e:  # one failing experiment report must not lose the others
            sub_reports.append(f"- {root.name}: report failed: {e}")
    rs = L.load_runs(list(roots), columns=COLUMNS)
    roles = C.setting_roles(rs.runs)
    sur = roles.surrogate
    table = _answers_table(rs)
    verdicts = C.all_conclusions(rs, batch_table=batch_table)
    agreement = C.surrogate_agreement(verdicts, roles)
    table["setting"] = [_mark(x, sur) for x in table["setting"]] if len(table) else []
    if len(verdicts):
        verdicts["setting"] = [_mark(x, sur) for x in verdicts["setting"]]
    figs = []
    # the suite's four NB201 genome/signal experiments, by experiment (their cifar10 setting)
    panels = {
        "acc_nb201_study": "study genome (seed-mean signal)",
        "acc_nb201_native": "native genome (seed-mean signal)",
        "acc_nb201_study_noise": "study genome (one-seed noise)",
        "acc_nb201_native_noise": "native genome (one-seed noise)",
    }
    ans = C.answers(rs)
    sub = ans[ans["experiment"].isin(panels) & (ans["dataset"] == "cifar10")].copy()
    if len(sub):
        order = {k: i for i, k in enumerate(panels)}
        sub = sub.sort_values("experiment", key=lambda c: c.map(order), kind="stable")
        sub["setting"] = sub["experiment"].map(panels)
        sub["final_reported"] = sub["answer_reported"]
        fig = P.plot_final_distributions(
            sub,
            value="final_reported",
            kind="box",
            height=2.4,
            value_label="test acc. of chosen cell (%)",
        )
        P.save(fig, out / "figures" / "final_nb201_cifar10")
        figs.append(
            "![Test accuracy of the chosen cell, NB201 cifar10](figures/final_nb201_cifar10.png)"
        )
    power = _power_lines(suite, verdicts, quick)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    timing = {**timing, "report_s": time.perf_counter() - t0}
    mode = "--quick (few seeds, costliest settings capped)" if quick else "full"
    lines += [
        f"# Reproduction: {suite}",
        "",
        f"Generated {now} by `nash reproduce {suite}` ({mode}). Every number is recomputed "
        "from the run files under `runs/`; each experiment has its own full report (tables as "
        "Markdown/CSV/LaTeX, anytime curves, distributions, pairwise tests, ranks, speed-ups):",
        "",
        *power,
        *sub_reports,
        "",
        "## The reference study's conclusions, tested",
        "",
        "One row per conclusion and setting (`experiment:benchmark`); `yes` means this run "
        "supports the conclusion by the stated statistic (two-sided tests, alpha = 0.05, Holm "
        "where several tests form one verdict), `no` that the test could have passed with "
        "these run counts and did not, `inconclusive (underpowered: ...)` that no data could "
        "have passed it with these run counts, and `partly` that one clause of a conclusion "
        "with several holds and another does not (rules: `analysis/verdicts.py` and each "
        "conclusion's docstring in `analysis/conclusions.py`).",
        "",
        *power,
        to_markdown(verdicts) if len(verdicts) else "(no verdicts: not enough runs)",
        "",
        "### Does the surrogate-completed NB101 space agree?",
        "",
        "Each conclusion's verdict on `nb101-surrogate` (the full NB101 space, "
        "SURROGATE-BASED) beside its verdicts on the real NB101 30k pool and on NB201. Where "
        "it differs from the pool, the verdict depends on the space searched (the closed 30k "
        "pool or the full space) or on the surrogate's predictions, not on the strategies alone.",
        "",
        to_markdown(agreement),
        "",
        "## Final results",
        "",
        "The chosen cell is the incumbent (best search signal) or, for NASWOT-driven runs, the "
        "best-scoring cell after its one paid training. `reported` is the 200-epoch test "
        "accuracy on NB201 and the 108-epoch VALIDATION accuracy on NB101; `queries` is the "
        "study's accounting (every query charged), `distinct` counts distinct cells trained.",
        "",
        to_markdown(table),
        "",
        *figs,
        "",
        "## Caveats",
        "",
        *[f"- {c}" for c in CAVEATS],
        "",
        "## Run time",
        "",
        f"Machine: {timing.get('machine', '?')}; workers: {timing.get('workers')}; "
        f"runs executed now: {timing.get('runs_executed')} of {timing.get('runs_total')} "
        f"(the rest were already finished); search wall time {timing.get('search_s', 0):.0f} s, "
        f"report {timing.get('report_s', 0):.0f} s.",
        "",
        *_gate_lines(timing),
        *_added_lines(rs, roles),
        "Run seconds per setting and strategy (sum of the runs' own wall times, whenever they "
        "ran; with several workers the suite's wall time is smaller):",
        "",
        to_markdown(_run_seconds(rs, sur)),
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    (out / "timing.json").write_text(json.dumps(dict(timing), indent=1, default=str))
    verdicts.to_csv(out / "conclusions.csv", index=False)
    table.to_csv(out / "final_results.csv", index=False)
    return path


#: the command (and its cost on the 2-core reference machine) that gives each suite's full answer
FULL_COMMAND = {
    "acceleration": ("nash reproduce acceleration", "30 seeds, about 35 min on 2 cores"),
    "baselines": ("nash reproduce baselines", "500 seeds, about 14 min on 2 cores"),
}


def _power_lines(suite: str, verdicts: pd.DataFrame, quick: bool) -> list[str]:
    """What a run with too few seeds can and cannot say, and the command that says more."""
    kinds = verdicts["supported"].map(V.kind) if len(verdicts) else pd.Series([], dtype=str)
    n_inc = int((kinds == V.INCONCLUSIVE).sum())
    if not quick and not n_inc:
        return []
    cmd, cost = FULL_COMMAND.get(suite, (f"nash reproduce {suite}", "the full suite"))
    head = "This is a --quick run: few seeds per setting. " if quick else ""
    return [
        f"**{head}{n_inc} of {len(verdicts)} verdicts are inconclusive** because these run "
        "counts cannot reach p < 0.05 whatever the data; a `no` from few runs is a weak `no`. "
        f"`{cmd}` ({cost}) gives the full answer.",
        "",
    ]


def _mark(setting: str, surrogate: list[str]) -> str:
    return f"{setting} (SURROGATE-BASED)" if setting in surrogate else setting


def _gate_lines(timing: Mapping[str, Any]) -> list[str]:
    """What happened to the gated settings (``timing["gates"]``, from harness.suites)."""
    gates = timing.get("gates") or []
    if not gates:
        return []
    out = []
    for g in gates:
        out.append(
            f"Gated setting `{g.get('gate')}` (NB101 with NASWOT fitness): mode "
            f"**{g.get('mode')}**, {g.get('runs_included')} of {g.get('runs_total')} runs "
            f"included; {g.get('note')}."
        )
    return [*out, ""]


def _run_seconds(rs: L.RunSet, surrogate: list[str]) -> pd.DataFrame:
    if not len(rs.runs):
        return pd.DataFrame()
    g = rs.runs.groupby(["setting", "strategy_label"], sort=True)["elapsed_s"]
    df = g.agg(["count", "sum", "median"]).reset_index()
    return pd.DataFrame(
        {
            "setting": [_mark(x, surrogate) for x in df["setting"]],
            "strategy": df["strategy_label"],
            "runs": df["count"].astype(int),
            "run seconds (sum)": [f"{v:.0f}" for v in df["sum"]],
            "seconds/run (median)": [f"{v:.1f}" for v in df["median"]],
        }
    )


def _added_lines(rs: L.RunSet, roles: C.SettingRoles) -> list[str]:
    """Run seconds of the costlier added settings (the surrogate-based space, and NASWOT
    fitness on the real records of that space, scored here), which a reader deciding whether
    to run them needs apart from the rest."""
    if not len(rs.runs):
        return []
    r = rs.runs
    sur = r[r["setting"].isin(roles.surrogate)]
    nw = r[r["setting"].isin(roles.same_space) & r["strategy_label"].isin([C.GA_NW, C.FA_NW])]
    return [
        f"Added settings: `{roles.names['surrogate']}` {len(sur)} runs, "
        f"{float(sur['elapsed_s'].sum()):.0f} run-seconds; `{roles.names['same_space']}` with "
        f"NASWOT fitness {len(nw)} runs, {float(nw['elapsed_s'].sum()):.0f} run-seconds.",
        "",
    ]
