"""Engines: Ray's overhead per task and a 1,000-run tabular grid on the local pool vs Ray.

Run: ``python bench/bench_ray.py [--write] [--runs 1000]``. Starts (and stops) a private local
Ray instance with as many CPUs as this machine has. With ``--write`` the figures replace the
``bench_ray`` section of bench/RESULTS.md. Also times simulated asynchronous aging evolution
(W workers on NB101's recorded training times), which needs no cluster.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK_BEGIN = "<!-- bench_ray:begin -->"
MARK_END = "<!-- bench_ray:end -->"


def _grid(n_runs: int) -> dict[str, object]:
    return {
        "name": "grid",
        "seeds": n_runs // 2,
        "budget": {"evaluations": 150},
        "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
        "strategy": [{"name": "aging_evolution"}, {"name": "random_search"}],
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--write", action="store_true")
    p.add_argument("--runs", type=int, default=1000)
    args = p.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from harness.runner.config import parse_experiment
    from harness.runner.engines import LocalEngine, RayEngine
    from harness.runner.experiment import run_experiments

    ncpu = os.cpu_count() or 1
    load = os.getloadavg()[0]
    lines: list[str] = []
    exp = parse_experiment(_grid(args.runs))
    n = len(exp.runs())
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run_experiments([exp], Path(d) / "local", progress=False, engine=LocalEngine(ncpu))
        t_local = time.perf_counter() - t0

        t0 = time.perf_counter()
        ray.init(num_cpus=ncpu, include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t0

        @ray.remote
        def noop(x: int) -> int:
            return x

        ray.get([noop.remote(i) for i in range(ncpu * 4)])  # start the workers
        per = []
        for _ in range(3):
            t0 = time.perf_counter()
            ray.get([noop.remote(i) for i in range(1000)])
            per.append((time.perf_counter() - t0) / 1000)
        seq = []
        for _ in range(200):
            t0 = time.perf_counter()
            ray.get(noop.remote(0))
            seq.append(time.perf_counter() - t0)
        with RayEngine() as eng:
            t0 = time.perf_counter()
            run_experiments([exp], Path(d) / "ray", progress=False, engine=eng)
            t_ray = time.perf_counter() - t0
        ray.shutdown()

    lines.append(f"| local Ray instance start (`ray.init`, {ncpu} CPUs) | {t_init:.1f} s |")
    lines.append(
        f"| empty task, round trip one at a time (median of 200) | "
        f"{statistics.median(seq) * 1e3:.2f} ms |"
    )
    lines.append(
        f"| empty task, throughput (1,000 submitted at once, median of 3) | "
        f"{statistics.median(per) * 1e6:.0f} µs per task |"
    )
    lines.append(
        f"| {n}-run tabular grid (NB201, AE + RS, 150 evaluations), local pool, {ncpu} workers "
        f"| {t_local:.1f} s ({n / t_local:.0f} runs/s) |"
    )
    lines.append(
        f"| the same grid on Ray ({ncpu} CPUs, driver writes results) | {t_ray:.1f} s "
        f"({n / t_ray:.0f} runs/s) |"
    )

    # simulated asynchronous workers (no cluster): cost of the event-driven loop
    import numpy as np

    from harness import strategies
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search
    from harness.spaces.nb101_pool import NB101PoolSpace

    space = NB101PoolSpace()
    ev = TabularEvaluator("nb101-30k", "cifar10", space=space)
    sim_rows = []
    for w in (1, 8, 64):
        st = strategies.create("aging_evolution_nb101", space, seed=np.random.SeedSequence([0, 0]))
        t0 = time.perf_counter()
        res = run_search(st, ev, Budget(evaluations=1000), workers=w)
        el = time.perf_counter() - t0
        clock_h = res.trials[-1].clock_s / 3600
        sim_rows.append(
            f"| {w} | {el * 1e3:.0f} ms | {clock_h:,.1f} h | "
            f"{res.trials[-1].incumbent_signal:.2f} |"
        )

    text = (
        f"## Engines: Ray vs the local pool\n\nMachine: "
        f"{platform.processor() or platform.machine()}, {ncpu} cores, Python "
        f"{platform.python_version()}, load average before the run {load:.1f}; "
        f"`python bench/bench_ray.py --write`.\n\n| what | measured |\n|---|---|\n"
        + "\n".join(lines)
        + "\n\nSimulated asynchronous aging evolution (NB101 30k pool, P=100, S=10, 1,000 "
        "evaluations, one seed): wall time of the whole run, and the simulated time to finish "
        "on the recorded 108-epoch training times. The wall time is the NB101 pool's mutation "
        "(redrawn until the child is one of the 30k cells, with the official hash) and free "
        "repeats, not the event loop.\n\n"
        "| workers | wall | simulated clock at the end | final best validation |\n"
        "|---|---|---|---|\n" + "\n".join(sim_rows) + "\n"
    )
    print(text)
    if args.write:
        res_md = ROOT / "bench" / "RESULTS.md"
        old = res_md.read_text()
        block = f"{MARK_BEGIN}\n{text}{MARK_END}"
        if MARK_BEGIN in old:
            pre, rest = old.split(MARK_BEGIN, 1)
            new = pre + block + rest.split(MARK_END, 1)[1]
        else:
            new = old.rstrip() + "\n\n" + block + "\n"
        res_md.write_text(new)


if __name__ == "__main__":
    main()
