"""A first summary of an experiment: final results per benchmark and strategy with 95% CIs.

Reads only the run manifests (``run.json``), so it is instant even for thousands of runs.
Confidence intervals are percentile bootstraps of the mean with a fixed seed, so the printed
numbers are reproducible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def load_manifests(root: str | Path) -> pd.DataFrame:
    """One row per current, intact run (stale and damaged runs are listed in ``attrs``)."""
    from analysis.load import current_runs

    rows = []
    problems: list[str] = []
    for run_dir, m, _key in current_runs(Path(root), problems):
        mf = run_dir / "run.json"
        cfg = m["config"]
        rows.append(
            {
                "benchmark": cfg["benchmark"]["label"],
                "strategy": cfg["strategy"]["label"],
                "seed": cfg["seed"],
                "final_reported": m.get("final_incumbent_reported", m.get("final_incumbent_test")),
                "final_signal": m["final_incumbent_signal"],
                "best_reported_seen": m.get("best_reported_seen", m.get("best_test_seen")),
                "evaluations": m["n_evaluations_charged"],
                "distinct": m["n_distinct"],
                "queries": m["n_queries"],
                "report_label": m["evaluator"].get("report_label", "test"),
                "report_metric": m["evaluator"].get("report_metric", "test"),
                "path": str(mf.parent),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["problems"] = problems
    return df


def bootstrap_ci(
    x: np.ndarray, *, level: float = 0.95, n_boot: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (NaN for fewer than 2 values)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n_boot, x.size), replace=True).mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def summarize_experiment(root: str | Path) -> str:
    df = load_manifests(root)
    if df.empty:
        return "\n".join([f"no finished runs under {root}", *df.attrs.get("problems", [])])
    lines = [f"results: {root}", *df.attrs.get("problems", [])]
    for bench, part in df.groupby("benchmark", sort=False):
        label = part["report_label"].iloc[0]
        lines.append(f"\n[{bench}] reported metric: {label} of the cell chosen by the signal")
        lines.append(
            f"{'strategy':<28}{'runs':>5}{'mean':>9}{'95% CI':>18}{'std':>7}"
            f"{'signal':>9}{'best seen':>10}{'evals':>8}{'distinct':>9}"
        )
        for strat, g in part.groupby("strategy", sort=False):
            lo, hi = bootstrap_ci(g["final_reported"].to_numpy())
            lines.append(
                f"{strat:<28}{len(g):>5}{g['final_reported'].mean():>9.3f}"
                f"{f'[{lo:.3f}, {hi:.3f}]':>18}{g['final_reported'].std():>7.3f}"
                f"{g['final_signal'].mean():>9.3f}{g['best_reported_seen'].mean():>10.3f}"
                f"{g['evaluations'].mean():>8.0f}{g['distinct'].mean():>9.0f}"
            )
    return "\n".join(lines)
