"""Per-evaluation overhead of the run loop, per strategy, on NB201 cifar10 (shipped tables).

Run: ``python bench/bench_loop.py [--seeds 500] [--repeats 3]``; prints Markdown for
bench/RESULTS.md. One process, one configuration at a time (side by side in one run).

Measured in CPU seconds (``time.process_time``; the machine is shared, so wall time mostly
measures the other users): one run of each strategy through ``run_search`` plus turning its
rows into the stored Parquet bytes (what a suite's worker does per run), the best of
``--repeats`` after a warm-up run; then ``--seeds`` seeds of every surrogate-free strategy back
to back at the NB201 paper's setting (100 evaluations, 12-epoch signal), the evaluator built
once per strategy; and the process's peak resident memory (``ru_maxrss``) after all of it,
which bounds a suite worker's. The load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: (label, strategy, space, fidelity, budget in evaluations, count_repeats)
PER_RUN: list[tuple[str, str, str, int, int, bool]] = [
    (
        "study GA (genome, P=100, 100 gens)",
        "genetic_study",
        "nb201-study-genome",
        200,
        20000,
        True,
    ),
    ("native GA", "genetic", "nb201", 200, 1000, False),
    ("aging evolution (P=10, S=3)", "aging_evolution", "nb201", 200, 1000, False),
    ("random search", "random_search", "nb201", 200, 1000, False),
    ("local search", "local_search", "nb201", 200, 1000, False),
    ("simulated annealing", "simulated_annealing", "nb201", 200, 1000, False),
    ("REINFORCE", "reinforce", "nb201", 200, 1000, False),
    ("Hyperband (12/200 epochs)", "hyperband", "nb201", 200, 150, False),
    (
        "NAS-EA-FA V2 (XGBoost, study genome)",
        "nas_ea_fa_v2_thesis",
        "nb201-study-genome",
        200,
        20000,
        True,
    ),
    ("Neural Predictor (NB201)", "neural_predictor_nb201", "nb201", 200, 150, False),
]
#: the surrogate-free strategies run for many seeds at the NB201 paper's setting
MANY_SEEDS = ["random_search", "aging_evolution", "genetic", "reinforce", "local_search"]
# (simulated annealing is left out: at 100 evaluations it re-proposes visited cells until the
# 100,000-query cap in most seeds, so its time is those free queries, shown per run above)


def _one(
    name: str, space_name: str, fidelity: int, budget: int, cr: bool, seed: int, ev: Any = None
) -> tuple[int, Any]:
    import numpy as np

    from harness import strategies
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search
    from harness.spaces import make_space

    space = make_space(space_name, None)
    if ev is None:
        ev = TabularEvaluator("nb201", "cifar10", space=space, fidelity=fidelity)
    s = strategies.create(name, space, seed=np.random.SeedSequence([seed]))
    res = run_search(s, ev, Budget(evaluations=budget), seed=seed, count_repeats=cr)
    return len(res.trials), res


def _stored(res: Any) -> int:
    import pandas as pd

    direct = getattr(res.trials, "to_parquet", None)  # Parquet straight from the columns
    if direct is not None:
        return len(direct())
    buf = io.BytesIO()
    frame = getattr(res.trials, "to_frame", None)  # before the columnar log: rows of Trials
    df = frame() if frame else pd.DataFrame([t.to_row() for t in res.trials])
    df.to_parquet(buf, index=False)
    return len(buf.getvalue())


def per_run(repeats: int) -> list[str]:
    out = [
        "| strategy (NB201 cifar10) | queries | CPU s per run (search + rows) | of which rows to "
        "Parquet | µs per query |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, name, space, fid, budget, cr in PER_RUN:
        _stored(_one(name, space, fid, budget, cr, 0)[1])  # warm: tables, imports, memos
        best, best_rows, n = float("inf"), 0.0, 0
        for r in range(repeats):
            t0 = time.process_time()
            n, res = _one(name, space, fid, budget, cr, r)
            t1 = time.process_time()
            _stored(res)
            t2 = time.process_time()
            if t2 - t0 < best:
                best, best_rows = t2 - t0, t2 - t1
        out.append(f"| {label} | {n:,} | {best:.3f} | {best_rows:.3f} | {1e6 * best / n:.1f} |")
    return out


def many_seeds(seeds: int) -> list[str]:
    from harness.evaluators.tabular import TabularEvaluator
    from harness.spaces import make_space

    out = [
        f"| strategy | {seeds} seeds x 100 evaluations (12-epoch signal): CPU s | queries |",
        "|---|---:|---:|",
    ]
    total = 0.0
    for name in MANY_SEEDS:
        ev = TabularEvaluator("nb201", "cifar10", space=make_space("nb201", None), fidelity=12)
        t0 = time.process_time()
        q = 0
        for seed in range(seeds):
            n, res = _one(name, "nb201", 12, 100, False, seed, ev)
            _stored(res)
            q += n
        dt = time.process_time() - t0
        total += dt
        out.append(f"| {name} | {dt:.2f} | {q:,} |")
    out.append(f"| all {len(MANY_SEEDS)} | {total:.2f} | |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load0 = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    lines = [*per_run(args.repeats), "", *many_seeds(args.seeds)]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load1 = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    print("\n".join(lines))
    print(
        f"\npeak resident memory of this process: {rss_mib:.0f} MiB; "
        f"load average {' '.join(load0)} at the start, {' '.join(load1)} at the end "
        f"({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
