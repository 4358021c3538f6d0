"""Queries until a run's incumbent SIGNAL reaches a target taken from the benchmark's own data.

Why beside ``nash report``: its acceleration table targets the baseline's 25 % quantile of the
*reported* metric; on these benchmarks the validation-selected incumbent's test value moves up
and down as the incumbent changes (arxiv: the validation optimum's test accuracy, 71.95, is
below random search's 25 % quantile), so "first reaches" there mixes search speed with
validation/test disagreement. This table asks the search question directly: how many charged
queries until the incumbent's signal is within the data's top 1 % / top 0.1 % / at the optimum
(quantiles over every cell of the dataset), per run; the median is inf when fewer than half of
the runs get there within the budget.

Run: ``python reports/new-benchmarks/signal_targets.py reports/runs/new_nbgraph ...``; writes
``signal_targets.csv`` and prints a markdown table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from harness.benchmarks import get_benchmark

LEVELS = (("top 1%", 0.99), ("top 0.1%", 0.999), ("optimum", 1.0))


def main(dirs: list[str]) -> None:
    rows = []
    for d in dirs:
        for p in sorted(Path(d).glob("*/*/seed=*/trials.parquet")):
            t = pd.read_parquet(
                p, columns=["benchmark", "bench_label", "dataset", "strategy_label", "seed",
                            "cum_queries", "incumbent_signal"],
            )  # fmt: skip
            b = get_benchmark(str(t["benchmark"].iloc[0]))
            ds = str(t["dataset"].iloc[0])
            col = b.column(ds, b.signal_metric(ds))
            for name, q in LEVELS:
                target = float(np.max(col)) if q == 1.0 else float(np.quantile(col, q))
                hit = t.loc[t["incumbent_signal"] >= target - 1e-9, "cum_queries"]
                rows.append({
                    "setting": t["bench_label"].iloc[0], "strategy": t["strategy_label"].iloc[0],
                    "seed": int(t["seed"].iloc[0]), "target": name, "target_value": target,
                    "queries": float(hit.min()) if len(hit) else np.inf,
                })  # fmt: skip
    df = pd.DataFrame(rows)
    out = Path(__file__).with_name("signal_targets.csv")
    df.to_csv(out, index=False)
    g = df.groupby(["setting", "target", "strategy"], sort=True)
    summary = g.agg(
        target_value=("target_value", "first"),
        reached=("queries", lambda s: f"{int(np.isfinite(s).sum())}/{len(s)}"),
        median_queries=("queries", "median"),
    ).reset_index()
    print("| setting | target | signal value | strategy | runs reaching | median queries |")
    print("|---|---|---|---|---|---|")
    order = {n: i for i, (n, _) in enumerate(LEVELS)}
    summary = summary.sort_values(
        ["setting", "target"], key=lambda s: s.map(order) if s.name == "target" else s
    )
    for r in summary.itertuples():
        med = "∞" if not np.isfinite(r.median_queries) else f"{r.median_queries:.0f}"
        print(
            f"| {r.setting} | {r.target} | {r.target_value:.2f} | {r.strategy} | "
            f"{r.reached} | {med} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
