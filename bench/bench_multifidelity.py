"""Per-run overhead of BOHB (and the other multi-fidelity strategies) on the shipped tables.

Run: ``python bench/bench_multifidelity.py``; prints Markdown for bench/RESULTS.md.

Each configuration runs in a fresh Python process (its peak resident memory, ``ru_maxrss``, is
its own) on NB201 cifar10 (rungs 12/200) and NB101 on the real 30,001-cell pool (rungs
4/12/36/108), one seed, for 150 queries and for 150 full-evaluation equivalents (the budget of
the multi-fidelity baselines). Measured: the run's wall time, the strategy's share of it (inside
``ask``/``tell``: BOHB's density fits and candidate scoring happen there), BOHB's model-based
samples and their mean seconds, and peak memory. Hyperband is the model-free reference: the
same brackets without densities. Timings depend on the load of the 2 shared cores.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STRATEGIES = ("hyperband", "bohb")
BENCHES = ("NB201", "NB101-30k")
BUDGETS = {"150 queries": {"queries": 150}, "150 full evals": {"evaluations": 150}}


def one(name: str, bench: str, budget: str) -> dict[str, Any]:
    import numpy as np

    from harness import strategies
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search
    from harness.spaces.nb101_pool import NB101PoolSpace
    from harness.spaces.nb201 import NB201Space

    space: Any = NB201Space() if bench == "NB201" else NB101PoolSpace()
    ev = TabularEvaluator("nb201" if bench == "NB201" else "nb101-30k", "cifar10", space=space)
    s = strategies.create(name, space, seed=np.random.SeedSequence([0]))
    inside, model_s = [0.0], [0.0]
    ask, tell = s.ask, s.tell

    def timed_ask() -> Any:
        t = time.perf_counter()
        n0 = getattr(s, "n_model_samples", 0)
        out = ask()
        dt = time.perf_counter() - t
        inside[0] += dt
        if getattr(s, "n_model_samples", 0) > n0:
            model_s[0] += dt
        return out

    def timed_tell(obs: Any) -> None:
        t = time.perf_counter()
        tell(obs)
        inside[0] += time.perf_counter() - t

    s.ask, s.tell = timed_ask, timed_tell  # type: ignore[method-assign]
    t0 = time.perf_counter()
    res = run_search(s, ev, Budget(**BUDGETS[budget]))
    wall = time.perf_counter() - t0
    n_model = getattr(s, "n_model_samples", 0)
    return {
        "strategy": name,
        "bench": bench,
        "budget": budget,
        "queries": len(res.trials),
        "cum_cost": res.trials[-1].cum_cost,
        "wall_s": wall,
        "strategy_s": inside[0],
        "model_samples": n_model,
        "per_model_sample_ms": 1e3 * model_s[0] / n_model if n_model else float("nan"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], sys.argv[3], sys.argv[4])))
        return
    rows = []
    for bench in BENCHES:
        for budget in BUDGETS:
            for name in STRATEGIES:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", name, bench, budget],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)\n")
    print("| benchmark | budget | strategy | queries | cost (full evals) | run s | in strategy s |"
          " model samples | ms / model sample | peak RSS MB |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['bench']} | {r['budget']} | {r['strategy']} | {r['queries']} | "
            f"{r['cum_cost']:.1f} | {r['wall_s']:.2f} | {r['strategy_s']:.2f} | "
            f"{r['model_samples']} | {r['per_model_sample_ms']:.1f} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
