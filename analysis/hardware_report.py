"""The ``nash reproduce hardware`` report: how close each strategy gets to the true Pareto front.

For every setting (an NB201 cifar10 objective set: accuracy vs one device's latency) the true
front is computed exactly from the tables, and every run's front (the non-dominated set of the
cells it evaluated) is scored by normalised hypervolume (HV), HV regret (true HV - run HV),
IGD+ and the number of true-front cells it found. Strategies are compared per setting by
Mann-Whitney U and paired Wilcoxon tests on final HV with Holm's correction over the whole table
(:func:`analysis.stats.pairwise_table`), and across settings by Friedman + Nemenyi on
(setting, seed) blocks (:func:`analysis.stats.rank_analysis`, a critical-difference diagram).
The constrained experiment is read as "best accuracy among evaluated cells within the cap".

Runs are read straight from their ``trials.parquet`` / ``run.json`` (search phase, successful
evaluations); the objective box (ideal and reference point) comes from each run's manifest, so
the report is rebuilt from the run files alone.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import pareto as PA
from analysis.load import ResultsError, current_runs
from analysis.report import _fmt_p, to_markdown

CHECKPOINTS = (10, 20, 30, 50, 75, 100, 150, 200)
PERCENTILES = (25.0, 50.0, 75.0)


def load_mo_runs(
    roots: Sequence[Path], problems: list[str] | None = None
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """(evaluated points, one row per successful search evaluation; settings by label).

    A setting is ``<experiment>:<benchmark label>``; its entry holds the objective box, the
    benchmark name and dataset and the constraints of each strategy. Only the current, intact
    runs of each experiment are read (as every other report does); the others are named in
    ``problems``.
    """
    frames = []
    settings: dict[str, dict[str, Any]] = {}
    problems = [] if problems is None else problems
    for root in roots:
        for run_dir, m, _key in current_runs(Path(root), problems):
            mf = run_dir / "run.json"
            obj = m.get("evaluator", {}).get("objectives")
            if not obj:
                continue
            cfg = m["config"]
            bench, strat = cfg["benchmark"], cfg["strategy"]
            setting = f"{cfg['experiment']}:{bench['label']}"
            box = PA.ObjectiveBox.from_manifest(obj)
            entry = settings.setdefault(
                setting,
                {
                    "box": box,
                    "benchmark": bench["name"],
                    "dataset": bench["dataset"],
                    "objectives": bench.get("objectives"),
                    "constraints": {},
                },
            )
            if entry["box"] != box:
                raise ResultsError(f"{setting}: runs disagree on the objective box ({mf})")
            entry["constraints"][strat["label"]] = obj.get("constraints", [])
            cols = [f"obj_{x}" for x in box.metrics]
            rep = "test" if int(m.get("rows_format", 1)) == 1 else "reported"
            df = pd.read_parquet(
                mf.parent / "trials.parquet",
                columns=["phase", "status", "cum_evals", "repeat", rep, *cols],
            )
            df = df[(df["phase"] == "search") & (df["status"] == "ok")]
            df = df.rename(columns={c: f"f{i}" for i, c in enumerate(cols)} | {rep: "reported"})
            df["setting"] = setting
            df["strategy_label"] = strat["label"]
            df["seed"] = int(cfg["seed"])
            frames.append(df)
    if not frames:
        raise ResultsError(
            f"no multi-objective runs under {', '.join(map(str, roots))} (runs with objectives)"
        )
    return pd.concat(frames, ignore_index=True), settings


def true_front(entry: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(the true front, every cell's objective values) of a setting, from the tables."""
    from harness.evaluators.objectives import from_dict, resolve

    spec = from_dict({"objectives": entry["objectives"]["objectives"]})
    r = resolve(spec, entry["benchmark"], entry["dataset"])
    cells = r.values.T
    cells = cells[np.isfinite(cells).all(axis=1)]
    return PA.pareto_front(cells, entry["box"].directions), cells


def test_view(entry: Mapping[str, Any]) -> tuple[PA.ObjectiveBox, np.ndarray] | None:
    """(the objective box with the searched accuracy replaced by its test metric, the true
    front in it) where the first objective is a validation signal whose benchmark reports a
    test metric at the same fidelity; else None. Why: search on validation, report test --
    a run's fronts are chosen on validation and judged on the test values of those cells.
    """
    from harness.benchmarks import get_benchmark
    from harness.evaluators.objectives import from_dict, resolve

    bench = get_benchmark(entry["benchmark"])
    box: PA.ObjectiveBox = entry["box"]
    ds = bench.dataset(entry["dataset"])
    first = bench.metric(ds, box.metrics[0])
    rep = bench.metric(ds, bench.report_metric(ds))
    if first.role != "signal" or rep.role != "report" or rep.fidelity != first.fidelity:
        return None
    r = resolve(from_dict({"objectives": entry["objectives"]["objectives"]}), bench.name, ds)
    vals = r.values.copy()
    vals[0] = r.table.column(rep.name)
    cells = vals.T[np.isfinite(vals.T).all(axis=1)]
    best = float(np.max(cells[:, 0]) if box.directions[0] == "max" else np.min(cells[:, 0]))
    tbox = PA.ObjectiveBox(
        (rep.name, *box.metrics[1:]), box.directions, (best, *box.ideal[1:]), box.reference
    )
    return tbox, PA.pareto_front(cells, box.directions)


def _test_indicators(
    points: pd.DataFrame, settings: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Per run: HV of its validation-chosen front's cells at their test values, and the regret
    against the true test front."""
    rows = []
    for setting, entry in settings.items():
        view = test_view(entry)
        if view is None:
            continue
        tbox, tfront = view
        thv = PA.hypervolume(tfront, tbox)
        box = entry["box"]
        k = len(box.metrics)
        sub = points[points["setting"] == setting]
        for (lab, seed), g in sub.groupby(["strategy_label", "seed"], sort=True):
            f = g[[f"f{i}" for i in range(k)]].to_numpy(float)
            chosen = PA.nondominated(f, box.directions)
            t = f[chosen].copy()
            t[:, 0] = g["reported"].to_numpy(float)[chosen]
            hv = PA.hypervolume(PA.pareto_front(t, box.directions), tbox)
            rows.append(
                {
                    "setting": setting,
                    "strategy_label": lab,
                    "seed": seed,
                    "test_metric": tbox.metrics[0],
                }
                | {"test_hv": hv, "test_hv_regret": thv - hv, "true_test_hv": thv}
            )
    return pd.DataFrame(rows)


def indicators(
    points: pd.DataFrame, settings: Mapping[str, Mapping[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray, float]]]:
    """(final indicators per run, anytime regret per run and checkpoint, truth per setting)."""
    finals, curves = [], []
    truth: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for setting, entry in settings.items():
        box = entry["box"]
        front, cells = true_front(entry)
        thv = PA.hypervolume(front, box)
        truth[setting] = (front, cells, thv)
        sub = points[points["setting"] == setting]
        k = len(box.metrics)
        for (lab, seed), g in sub.groupby(["strategy_label", "seed"], sort=True):
            g = g.sort_values("cum_evals", kind="stable")
            f = g[[f"f{i}" for i in range(k)]].to_numpy(float)
            finals.append(
                {"setting": setting, "strategy_label": lab, "seed": seed}
                | PA.run_indicators(f, box, front, thv)
            )
            ev = g["cum_evals"].to_numpy()
            for t in CHECKPOINTS:
                head = f[ev <= t]
                hv = (
                    PA.hypervolume(PA.pareto_front(head, box.directions), box)
                    if len(head)
                    else 0.0
                )
                curves.append(
                    {"setting": setting, "strategy_label": lab, "seed": seed, "evals": t}
                    | {"hv": hv, "hv_regret": thv - hv}
                )
    return pd.DataFrame(finals), pd.DataFrame(curves), truth


def _short(setting: object) -> str:
    return str(setting).split(":", 1)[1]


def _device(box: PA.ObjectiveBox) -> str:
    """A short panel title: the HW-NAS-Bench device, or the second objective's name."""
    m = box.metrics[-1]
    return (
        m.removeprefix("hw_").removesuffix("_latency") if m.startswith("hw_") else _TITLE.get(m, m)
    )


_AXIS = {
    "val_acc@200": "val. acc. @200 (%)",
    "baseline_acc": "digital acc. (%)",
    "analog_drift_2592000s_acc": "HWT acc. after 30 days of drift (%)",
}
_TITLE = {"analog_drift_2592000s_acc": "AnalogNAS, 30-day drift"}


def _axis(metric: str) -> str:
    if metric.startswith("hw_") and metric.endswith("_latency"):
        return f"{_device_name(metric)} latency (ms)"
    return _AXIS.get(metric, metric)


def _device_name(metric: str) -> str:
    return metric.removeprefix("hw_").removesuffix("_latency")


def _styles(labels: Sequence[str]) -> dict[str, Any]:
    """One Okabe-Ito colour per strategy, never black (black is the true front here)."""
    from analysis.plots import _LINESTYLES, _MARKERS, OKABE_ITO, Style

    colors = [c for k, c in OKABE_ITO.items() if k not in ("black", "yellow")]
    return {
        lab: Style(colors[i % len(colors)], _MARKERS[i % len(_MARKERS)], _LINESTYLES[i % 6])
        for i, lab in enumerate(sorted(labels))
    }


def _summary(finals: pd.DataFrame, seed: int) -> pd.DataFrame:
    from analysis.stats import bootstrap_ci

    rows = []
    for (s, lab), g in finals.groupby(["setting", "strategy_label"], sort=False):
        reg = g["hv_regret"].to_numpy(float)
        lo, hi = bootstrap_ci(reg, np.median, seed=seed, method="percentile", n_resamples=2000)
        rows.append(
            {
                "setting": _short(s),
                "strategy": lab,
                "runs": len(g),
                "HV (median)": f"{np.median(g['hv']):.4f}",
                "HV regret median [95% CI]": f"{np.median(reg):.4f} [{lo:.4f}, {hi:.4f}]",
                "relative regret (median)": f"{np.median(1 - g['hv_ratio']) * 100:.2f} %",
                "IGD+ (median)": f"{np.median(g['igd_plus']):.4f}",
                "true-front cells found (mean)": f"{g['true_found'].mean():.1f}",
                "front size (mean)": f"{g['front_size'].mean():.1f}",
            }
        )
    return pd.DataFrame(rows)


def _test_lines(tests: pd.DataFrame, finals: pd.DataFrame, seed: int) -> list[str]:
    """The same fronts judged on test accuracy (the cells chosen on validation)."""
    from analysis.stats import bootstrap_ci

    if not len(tests):
        return []
    val = finals.set_index(["setting", "strategy_label", "seed"])["hv_regret"]
    rows = []
    for (s, lab), g in tests.groupby(["setting", "strategy_label"], sort=False):
        reg = g["test_hv_regret"].to_numpy(float)
        lo, hi = bootstrap_ci(reg, np.median, seed=seed, method="percentile", n_resamples=2000)
        v = val.reindex(pd.MultiIndex.from_arrays([g["setting"], g["strategy_label"], g["seed"]]))
        rows.append(
            {
                "setting": _short(s),
                "strategy": lab,
                "runs": len(g),
                "test HV (median)": f"{np.median(g['test_hv']):.4f}",
                "test HV regret median [95% CI]": f"{np.median(reg):.4f} [{lo:.4f}, {hi:.4f}]",
                "validation HV regret (median)": f"{np.nanmedian(v.to_numpy(float)):.4f}",
            }
        )
    metric = ", ".join(dict.fromkeys(tests["test_metric"]))
    return [
        "### The same fronts on test accuracy",
        "",
        f"Searches see validation accuracy only; here each run's front is the set of cells it "
        f"found non-dominated on validation, judged by those cells' {metric} (the true front "
        "and the box's ideal are recomputed on test; the reference point is the same). A "
        "strategy whose validation front does not carry over to test shows a larger regret "
        "here (CSV: `final_indicators_test.csv`).",
        "",
        to_markdown(pd.DataFrame(rows)),
        "",
    ]


def _pairwise(finals: pd.DataFrame) -> pd.DataFrame:
    from analysis.stats import pairwise_table

    pw = pairwise_table(finals, "hv", by="setting", paired_on="seed")
    if pw.empty:
        return pw
    out = pd.DataFrame(
        {
            "setting": [_short(s) for s in pw["setting"]],
            "a": pw["a"],
            "b": pw["b"],
            "median HV a": [f"{x:.4f}" for x in pw["median_a"]],
            "median HV b": [f"{x:.4f}" for x in pw["median_b"]],
            "A12": [f"{x:.2f}" for x in pw["A12"]],
            "effect": pw["A12_size"],
            "p (MWU, Holm)": [_fmt_p(x) for x in pw["p_mwu_holm"]],
            "p (Wilcoxon, Holm)": [_fmt_p(x) for x in pw["p_wilcoxon_holm"]],
            "significant": [
                ("a better" if a12 > 0.5 else "b better") if p < 0.05 else "no"
                for a12, p in zip(pw["A12"], pw["p_wilcoxon_holm"], strict=True)
            ],
        }
    )
    return out


def _feasible(
    f: np.ndarray, caps: Sequence[Mapping[str, Any]], box: PA.ObjectiveBox
) -> np.ndarray:
    """Rows of raw objective values ``f`` within every cap."""
    ok = np.ones(len(f), dtype=bool)
    for c in caps:
        j = box.metrics.index(c["metric"])
        ok &= f[:, j] <= c.get("max", math.inf)
        ok &= f[:, j] >= c.get("min", -math.inf)
    return ok


def _constrained(
    points: pd.DataFrame, settings: Mapping[str, Mapping[str, Any]], truth: Mapping[str, Any]
) -> pd.DataFrame:
    """Best accuracy within the caps per run, for settings where some strategy has constraints.

    Every distinct cap of the setting counts (``max`` and ``min`` bounds on objectives); the
    chosen cell is the run's best feasible one by the searched accuracy, and its reported
    (test) value is given beside it.
    """
    rows = []
    for setting, entry in settings.items():
        caps = list({json.dumps(c, sort_keys=True): c for cs in entry["constraints"].values()
                     for c in cs}.values())  # fmt: skip
        if not caps:
            continue
        box: PA.ObjectiveBox = entry["box"]
        missing = [c["metric"] for c in caps if c["metric"] not in box.metrics]
        if missing:
            raise ResultsError(
                f"{setting}: constraints on {missing}, which are no objectives of the setting; "
                "the constrained table needs each capped metric as an objective"
            )

        _, cells, _ = truth[setting]
        feasible_best = float(np.nanmax(cells[_feasible(cells, caps, box), 0]))
        desc = "; ".join(
            " and ".join(
                f"{c['metric']} {op} {c[k]:g}"
                for k, op in (("min", ">="), ("max", "<="))
                if k in c
            )
            for c in caps
        )
        sub = points[points["setting"] == setting]
        k = len(box.metrics)
        for (lab, seed), g in sub.groupby(["strategy_label", "seed"], sort=True):
            f = g[[f"f{i}" for i in range(k)]].to_numpy(float)
            ok = g[_feasible(f, caps, box)]
            best_i = int(np.argmax(ok["f0"].to_numpy())) if len(ok) else -1
            best = float(ok["f0"].iloc[best_i]) if len(ok) else math.nan
            rows.append(
                {
                    "setting": setting,
                    "strategy_label": lab,
                    "seed": seed,
                    "best_feasible": best,
                    "its_reported": float(ok["reported"].iloc[best_i]) if len(ok) else math.nan,
                    "regret": feasible_best - best,
                    "cap": desc,
                    "space_best": feasible_best,
                }
            )
    return pd.DataFrame(rows)


def write_hardware_report(
    roots: Sequence[Path],
    out_dir: str | Path,
    *,
    quick: bool,
    timing: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write ``report.md``, CSV tables and figures under ``out_dir``; return the report path."""
    from analysis import pareto_plots as PP
    from analysis import plots as P
    from analysis.stats import pairwise_table, rank_analysis

    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    points, settings = load_mo_runs(roots, problems)
    finals, curves, truth = indicators(points, settings)
    finals.to_csv(out / "final_indicators.csv", index=False)
    labels = sorted(set(finals["strategy_label"]))
    styles = _styles(labels)
    # the HV comparison is about the device settings; the constrained one has its own section
    device = [s for s in settings if not any(settings[s]["constraints"].values())]
    finals_all, finals = finals, finals[finals["setting"].isin(device)]
    summary = _summary(finals, seed)
    summary.to_csv(out / "summary.csv", index=False)
    tests = _test_indicators(points, {s: settings[s] for s in device})
    test_lines = _test_lines(tests, finals, seed)
    if len(tests):
        tests.to_csv(out / "final_indicators_test.csv", index=False)
    pw = _pairwise(finals)
    pw.to_csv(out / "pairwise_hv.csv", index=False)

    # fronts and attainment surfaces, one panel per device setting
    panels = []
    for s in device:
        box = settings[s]["box"]
        front, cells, _ = truth[s]
        sub = points[points["setting"] == s]
        surfaces = {}
        for lab, g in sub.groupby("strategy_label"):
            fronts = [
                PA.pareto_front(h[["f0", "f1"]].to_numpy(float), box.directions)
                for _, h in g.groupby("seed")
            ]
            surfaces[str(lab)] = PA.attainment_surfaces(fronts, box, PERCENTILES)
        dev = _device(box)
        panels.append(
            {
                "title": dev,
                "box": box,
                "cells": cells,
                "true_front": front,
                "surfaces": surfaces,
                "xlabel": _axis(box.metrics[1]),
                "ylabel": _axis(box.metrics[0]),
            }
        )
    figs = []
    if panels:
        P.save(PP.plot_fronts(panels, styles=styles), out / "figures" / "fronts")
        figs.append(
            "![Accuracy vs latency: all cells, true front, median attainment surfaces with "
            "interquartile bands](figures/fronts.png)"
        )
    at = PA.anytime_table(curves[curves["setting"].isin(device)], value="hv_regret", seed=seed)
    if len(at):
        at["setting"] = [_device(settings[s]["box"]) for s in at["setting"]]
        at.to_csv(out / "anytime_hv_regret.csv", index=False)
        P.save(PP.plot_anytime_regret(at, styles=styles), out / "figures" / "anytime_hv_regret")
        figs.append(
            "![Hypervolume regret vs evaluations, mean and 95% bootstrap CI](figures/"
            "anytime_hv_regret.png)"
        )
    rank = None
    if finals["strategy_label"].nunique() >= 3:
        rank = rank_analysis(finals, "hv", blocks=("setting", "seed"), higher_is_better=True)
        fig = P.plot_cd_diagram(
            rank.ranks, rank.nemenyi, cd=rank.cd, title="final HV, all settings", styles=styles
        )
        P.save(fig, out / "figures" / "cd_hv")
        figs.append("![Critical-difference diagram of final hypervolume](figures/cd_hv.png)")

    con = _constrained(points, settings, truth)
    con_lines: list[str] = []
    if len(con):
        con.to_csv(out / "constrained.csv", index=False)
        rows = []
        for (cs, clab), cg in con.groupby(["setting", "strategy_label"], sort=False):
            rows.append(
                {
                    "setting": _short(cs),
                    "cap": cg["cap"].iloc[0],
                    "strategy": clab,
                    "runs": len(cg),
                    "best feasible acc. (median)": f"{np.nanmedian(cg['best_feasible']):.3f}",
                    "regret to the best feasible (median)": f"{np.nanmedian(cg['regret']):.3f}",
                    "its reported acc. (median)": f"{np.nanmedian(cg['its_reported']):.3f}",
                    "runs that found it": int((cg["regret"] <= 1e-9).sum()),
                }
            )
        cpw = pairwise_table(con, "best_feasible", by="setting", paired_on="seed")
        con_lines = [
            "## Constrained search: best accuracy under a latency cap",
            "",
            f"The space's best feasible validation accuracy is {con['space_best'].iloc[0]:.3f} %. "
            "For the multi-objective strategies the best feasible cell is read off the cells "
            "they evaluated; the constrained aging evolution searches for it directly.",
            "",
            to_markdown(pd.DataFrame(rows)),
            "",
        ]
        if len(cpw):
            cpw_t = pd.DataFrame(
                {
                    "a": cpw["a"],
                    "b": cpw["b"],
                    "A12": [f"{x:.2f}" for x in cpw["A12"]],
                    "p (Wilcoxon, Holm)": [_fmt_p(x) for x in cpw["p_wilcoxon_holm"]],
                }
            )
            con_lines += [
                "Pairwise tests on the best feasible accuracy (A12 > 0.5: `a` finds better "
                "cells):",
                "",
                to_markdown(cpw_t),
                "",
            ]

    timing = dict(timing or {})
    timing["report_s"] = time.perf_counter() - t0
    # the invocation that ran the searches keeps its timing (a later re-report runs none)
    tfile = out / "timing.json"
    history = json.loads(tfile.read_text()) if tfile.is_file() else []
    history = history if isinstance(history, list) else [history]
    if timing.get("runs_executed"):
        history.append({k: v for k, v in timing.items() if k != "engine"})
        tfile.write_text(json.dumps(history, default=str, indent=1))
    n_seeds = int(finals_all.groupby(["setting", "strategy_label"]).size().min())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "--quick (3 seeds)" if quick else "full"
    truth_rows = [
        {
            "setting": _short(s),
            "benchmark": f"{settings[s]['benchmark']} {settings[s]['dataset']}",
            "objectives": " vs ".join(
                f"{m} ({d})"
                for m, d in zip(
                    settings[s]["box"].metrics, settings[s]["box"].directions, strict=True
                )
            ),
            "reference point": ", ".join(f"{x:g}" for x in settings[s]["box"].reference),
            "cells": len(truth[s][1]),
            "true-front cells": len(truth[s][0]),
            "true HV": f"{truth[s][2]:.4f}",
        }
        for s in settings
    ]
    lines = [
        "# Reproduction: hardware-aware NAS (accuracy vs latency, HW-NAS-Bench on NB201)",
        "",
        f"Generated {now} by `nash reproduce hardware` ({mode}); at least {n_seeds} seeds per "
        "strategy and setting. Every number is recomputed from the run files under `runs/`.",
        "",
        *(["Runs left out: " + "; ".join(problems), ""] if problems else []),
        "Each run searches two objectives (listed per setting below) with 200 charged "
        "evaluations (repeated queries free): on NB201 cifar10, 200-epoch validation accuracy "
        "(max, the seed mean) and one HW-NAS-Bench device's latency (min); on AnalogNAS-Bench, "
        "the digital model's accuracy and the hardware-aware-trained (HWT) model's accuracy "
        "after 30 days of analog conductance drift (both max). A run's front is the "
        "non-dominated set of the cells it evaluated. Hypervolume (HV) is normalised to the "
        "objective box between the ideal point (the best value of each objective in the whole "
        "space) and the declared reference point (worse than every cell: accuracy 0 %, a "
        "latency above the slowest cell), so 1 would be "
        "a single cell best in both; the true front's HV is the best any run can reach, and "
        "**HV regret** = true HV - run HV. IGD+ is the mean normalised shortfall of the run's "
        "front to each true-front cell.",
        "",
        "## In short",
        "",
        *_headline(finals, rank),
        "",
        "## The true fronts (exact, from the tables)",
        "",
        to_markdown(pd.DataFrame(truth_rows)),
        "",
        "## How far is each strategy's front from the true front?",
        "",
        "HV regret with a bootstrap 95 % CI of the median over seeds (percentile method, "
        "2,000 resamples, seeded):",
        "",
        to_markdown(summary),
        "",
        *test_lines,
        *_plain(finals, pw, rank),
        "",
        "## Which differences are significant?",
        "",
        "Pairwise tests on final HV within each setting: Mann-Whitney U and the Wilcoxon "
        "signed-rank test paired by seed (strategies share each seed's initial random "
        "stream), Holm-corrected over the whole table; A12 is the probability that `a` gives "
        "the larger HV (Vargha-Delaney effect sizes).",
        "",
        to_markdown(pw) if len(pw) else "(fewer than two strategies)",
        "",
    ]
    if rank is not None:
        ranks = ", ".join(f"{k} {v:.2f}" for k, v in rank.ranks.items())
        lines += [
            f"Across settings (Friedman on {rank.n_blocks} (setting, seed) blocks): chi2 = "
            f"{rank.statistic:.1f}, p = {_fmt_p(rank.pvalue)}; average ranks (1 = largest HV): "
            f"{ranks}; Nemenyi critical difference {rank.cd:.2f}. Pairs whose average ranks "
            f"differ significantly (Nemenyi p < 0.05): {_nemenyi_pairs(rank)}.",
            "",
        ]
    lines += [*figs, "", *con_lines]
    lines += [
        "## Notes",
        "",
        *_test_split_notes(settings),
        *_missing_notes(settings),
        "- The scalarized baselines are a single-objective strategy (the `inner` of their "
        "params, in each run's manifest) told one number: the Chebyshev or the weighted sum "
        "of the objectives, each normalised to the objective box, with the weights of their "
        "params (equal by default). One fixed weighting aims at one region of the front; "
        "their fronts are the non-dominated sets of everything they evaluated on the way.",
        "- Test accuracy plays no part in the searches of benchmarks with a validation split; "
        "where such a benchmark reports a test metric, the fronts chosen on validation are "
        "judged on it in their own table.",
        "",
        "## Run time",
        "",
        f"Machine: {timing.get('machine', '?')}; workers: {timing.get('workers', '?')}; runs "
        f"executed now: {timing.get('runs_executed', '?')} of {timing.get('runs_total', '?')}; "
        f"search wall time {timing.get('search_s', 0):.0f} s, report "
        f"{timing['report_s']:.0f} s.",
        "",
        *(
            [
                "Invocations that ran searches: "
                + "; ".join(
                    f"{h['runs_executed']} runs in {h.get('search_s', 0):.0f} s of wall time with "
                    f"{h.get('workers', '?')} workers ({h.get('machine', '?')})"
                    for h in history
                )
                + ".",
                "",
            ]
            if history
            else []
        ),
        "Seconds per run (each run's own wall time, whenever it ran; median and total):",
        "",
        to_markdown(run_seconds(roots)),
        "",
    ]
    path = out / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
    return path


def _plain(finals: pd.DataFrame, pw: pd.DataFrame, rank: Any) -> list[str]:
    """One sentence per setting: the closest strategy and the significant wins, from numbers."""
    out = []
    for s, g in finals.groupby("setting", sort=False):
        med = g.groupby("strategy_label")["hv_regret"].median().sort_values()
        best, worst = med.index[0], med.index[-1]
        sig = pw[(pw["setting"] == _short(s)) & (pw["significant"] != "no")] if len(pw) else pw
        wins = [
            f"{r.a} > {r.b}" if r.significant == "a better" else f"{r.b} > {r.a}"
            for r in sig.itertuples()
        ]
        out.append(
            f"- **{_short(s)}**: closest to the true front {best} (median HV regret "
            f"{med.iloc[0]:.4f}), farthest {worst} ({med.iloc[-1]:.4f}); significant "
            f"differences in HV (Wilcoxon, Holm, alpha 0.05): "
            f"{'; '.join(wins) if wins else 'none'}."
        )
    return out


def _nemenyi_pairs(rank: Any) -> str:
    nem = rank.nemenyi
    order = list(rank.ranks.index)
    pairs = [
        f"{a} vs {b} (p = {_fmt_p(float(nem.loc[a, b]))})"
        for i, a in enumerate(order)
        for b in order[i + 1 :]
        if float(nem.loc[a, b]) < 0.05
    ]
    return "; ".join(pairs) if pairs else "none"


def _headline(finals: pd.DataFrame, rank: Any) -> list[str]:
    """Counts read off the tables below (no judgement beyond them)."""
    med = finals.groupby(["setting", "strategy_label"])["hv_regret"].median().unstack()
    best = med.idxmin(axis=1).value_counts()
    n = len(med)
    out = [
        "- Lowest median HV regret per setting: "
        + ", ".join(f"{lab} on {k} of {n}" for lab, k in best.items())
        + ".",
        "- Median HV regret ranges from "
        f"{med.min().min():.4f} to {med.max().max():.4f} (normalised HV units; relative to the "
        "true front's HV in the table's `relative regret` column).",
    ]
    if rank is not None:
        out.append(
            "- Over all settings and seeds, average ranks by final HV: "
            + ", ".join(f"{k} {v:.2f}" for k, v in rank.ranks.items())
            + f" (Friedman p = {_fmt_p(rank.pvalue)}; significant Nemenyi pairs: "
            + f"{_nemenyi_pairs(rank)})."
        )
    return out


def run_seconds(roots: Sequence[Path]) -> pd.DataFrame:
    """Median and total run seconds per experiment and strategy, from the manifests."""
    rows = []
    for root in roots:
        for _run_dir, m, _key in current_runs(Path(root), []):
            cfg = m["config"]
            rows.append(
                {
                    "experiment": cfg["experiment"],
                    "strategy": cfg["strategy"]["label"],
                    "s": float(m.get("elapsed_s", math.nan)),
                }
            )
    df = pd.DataFrame(rows)
    g = df.groupby(["experiment", "strategy"], sort=True)["s"]
    out = g.agg(["count", "median", "sum"]).reset_index()
    return pd.DataFrame(
        {
            "experiment": out["experiment"],
            "strategy": out["strategy"],
            "runs": out["count"],
            "median s": [f"{x:.2f}" for x in out["median"]],
            "total s": [f"{x:.0f}" for x in out["sum"]],
        }
    )


def _test_split_notes(settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Say so where a benchmark's only split is the test split (its declared signals)."""
    from harness.benchmarks import get_benchmark

    out = []
    for s, e in settings.items():
        bench = get_benchmark(e["benchmark"])
        if not getattr(bench, "no_validation_split", False):
            continue
        ds = bench.dataset(e["dataset"])
        ms = [m for m in e["box"].metrics if bench.metric(ds, m).role == "signal"]
        if ms:
            out.append(
                f"- {_short(s)}: {', '.join(ms)} are {ds} TEST-split accuracies, the only "
                f"split {bench.name} has, which it declares as its search signals; read its "
                "fronts as the benchmark's own numbers, not as held-out estimates."
            )
    return out


def _missing_notes(settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Objectives without a value for some cells (HW-NAS-Bench writes -1 for a device that
    cannot run a cell), counted from the tables."""
    from harness.evaluators.objectives import from_dict, resolve

    out = []
    seen: set[tuple[str, str, str]] = set()
    for e in settings.values():
        r = resolve(from_dict({"objectives": e["objectives"]["objectives"]}), e["benchmark"],
                    e["dataset"])  # fmt: skip
        for m, col in zip(e["box"].metrics, r.values, strict=True):
            key = (str(e["benchmark"]), str(r.dataset), m)
            n_missing = int((~np.isfinite(col)).sum())
            if n_missing and key not in seen:
                seen.add(key)
                out.append(
                    f"- {m} is missing for {n_missing:,} of the {col.size:,} {key[0]} cells: "
                    "those are failed evaluations for the searches (charged, as a device that "
                    "cannot run a cell would be) and are not part of the true front."
                )
    return out
