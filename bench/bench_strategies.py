"""Per-run overhead of the model-based strategies and of optuna's samplers.

Run: ``python bench/bench_strategies.py [--quick]``; prints Markdown for bench/RESULTS.md.

Each configuration runs in a fresh Python process (so its peak resident memory, ``ru_maxrss``,
is its own) on the shipped tables: NB201 cifar10 (native space) and NB101 on the real
30,001-cell pool (``nb101-30k-pool``), one seed. Measured: the run's wall time, the strategy's
share of it (time inside ``ask``/``tell``, where every model fit and acquisition happens; the
rest is table lookups and bookkeeping), per-iteration model-fit and acquisition seconds (BANANAS
and GP-BO record them; for optuna one ``ask`` is one sampler proposal), invalid proposals
(optuna on NB101) and peak memory. ``random_search`` is the reference: its run time is what a
suite spends without a model.

Timings depend on the machine's load (2 shared cores): the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: (label, registry name, parameters)
STRATEGIES: list[tuple[str, str, dict[str, Any]]] = [
    ("random_search", "random_search", {}),
    ("bananas", "bananas", {}),
    ("gp_bo (EI)", "gp_bo", {}),
    ("optuna TPE", "optuna", {"sampler": "tpe"}),
    ("optuna CMA-ES", "optuna", {"sampler": "cmaes"}),
    ("optuna QMC", "optuna", {"sampler": "qmc"}),
    ("optuna random", "optuna", {"sampler": "random"}),
    ("optuna GP", "optuna", {"sampler": "gp"}),
]
BENCHES = {"NB201": ("nb201", "nb201"), "NB101-30k": ("nb101-30k", "nb101-30k-pool")}


def one(label: str, bench: str, queries: int) -> dict[str, Any]:
    import numpy as np

    from harness import strategies
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search
    from harness.spaces import make_space

    name, params = next((n, p) for lab, n, p in STRATEGIES if lab == label)
    bench_name, space_name = BENCHES[bench]
    space = make_space(space_name, None)
    ev = TabularEvaluator(
        bench_name, "cifar10", space=space, fidelity=108 if bench != "NB201" else None
    )
    s = strategies.create(name, space, seed=np.random.SeedSequence([0]), **params)
    inside = [0.0]
    asks: list[float] = []
    ask, tell = s.ask, s.tell

    def timed_ask() -> Any:
        t0 = time.perf_counter()
        out = ask()
        asks.append(time.perf_counter() - t0)
        inside[0] += asks[-1]
        return out

    def timed_tell(obs: Any) -> None:
        t0 = time.perf_counter()
        tell(obs)
        inside[0] += time.perf_counter() - t0

    s.ask, s.tell = timed_ask, timed_tell  # type: ignore[method-assign]
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_search(s, ev, Budget(evaluations=queries))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    fit = getattr(s, "fit_s", None)
    acq = getattr(s, "acq_s", None)
    return {
        "label": label,
        "bench": bench,
        "evaluations": res.trials[-1].cum_evals,
        "queries": len(res.trials),
        "wall_s": wall,
        "cpu_s": cpu,
        "strategy_s": inside[0],
        "fit_s_per_iter": float(np.mean(fit)) if fit else None,
        "acq_s_per_iter": float(np.mean(acq)) if acq else None,
        "iterations": len(fit) if fit else None,
        "ask_s_mean": float(np.mean(asks)),
        "ask_s_max": float(np.max(asks)),
        "n_invalid": getattr(s, "n_invalid", None),
        "final_signal": res.trials[-1].incumbent_signal,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _fmt(v: Any, d: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{d}f}"
    return str(v)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="30 queries instead of 150")
    p.add_argument("--one", nargs=3, metavar=("LABEL", "BENCH", "QUERIES"), help=argparse.SUPPRESS)
    p.add_argument("--only", nargs="*", help="strategy labels to run (default: all)")
    p.add_argument(
        "--slow-queries",
        type=int,
        default=30,
        help="queries for the slow configurations (optuna on the NB101 pool)",
    )
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], int(args.one[2]))))
        return
    q = 30 if args.quick else 150
    rows = []
    for bench in BENCHES:
        for label, name, _ in STRATEGIES:
            if args.only and label not in args.only:
                continue
            if label == "optuna GP" and bench != "NB201":
                continue  # thousands of invalid NB101 proposals, each a GP proposal
            slow = name == "optuna" and bench != "NB201"
            n = min(q, args.slow_queries) if slow else q
            out = subprocess.run(
                [sys.executable, __file__, "--one", label, bench, str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 shared cores)\n")
    print(
        "| benchmark | strategy | evals | wall s | CPU s | in strategy s | fit s/iter "
        "| acq s/iter | iters | ask s mean / max | invalid | best val | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['bench']} | {r['label']} | {r['evaluations']} | {_fmt(r['wall_s'], 1)} "
            f"| {_fmt(r['cpu_s'], 1)} "
            f"| {_fmt(r['strategy_s'], 1)} | {_fmt(r['fit_s_per_iter'])} "
            f"| {_fmt(r['acq_s_per_iter'])} | {_fmt(r['iterations'])} "
            f"| {_fmt(r['ask_s_mean'])} / {_fmt(r['ask_s_max'], 2)} | {_fmt(r['n_invalid'])} "
            f"| {_fmt(r['final_signal'], 2)} | {_fmt(r['peak_rss_mb'], 0)} |"
        )


if __name__ == "__main__":
    main()
