"""Benchmarks of the data layer and the run loop against their performance targets.

Run: ``python bench/bench_foundation.py [--write]``. With ``--write`` the figures replace the
"Foundation and run loop" section of bench/RESULTS.md. Timings are medians of repeats on this
machine; they are measurements, not tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MARK_BEGIN = "<!-- bench_foundation:begin -->"
MARK_END = "<!-- bench_foundation:end -->"


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def cold_load() -> tuple[float, float]:
    """(import + load, load only) in fresh interpreters, cache already built."""
    code = (
        "import time; t0=time.perf_counter();"
        "from harness.benchmarks import nb201 as m; t1=time.perf_counter();"
        "m.load(); t2=time.perf_counter(); print(t2-t0, t2-t1)"
    )
    totals, loads = [], []
    for _ in range(5):
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        a, b = map(float, r.stdout.split())
        totals.append(a)
        loads.append(b)
    return statistics.median(totals), statistics.median(loads)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--write", action="store_true")
    args = p.parse_args()
    from harness.benchmarks import nb201 as t201
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.config import parse_experiment
    from harness.runner.experiment import run_experiment
    from harness.runner.loop import Budget, run_search
    from harness.spaces import nb201
    from harness.strategies import STRATEGIES, create

    t201.build_cache()
    lines: list[str] = []
    total, load_only = cold_load()
    lines.append(
        f"| NB201 tables cold load (fresh process, import + load) | {total * 1e3:.0f} ms "
        "| < 500 ms |"
    )
    lines.append(
        f"| NB201 tables load only (checksums memoised, mmap) | {load_only * 1e3:.0f} ms | |"
    )

    t = t201.load()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, nb201.N_CELLS, size=100_000)
    col = t.column("cifar10", "val_acc@200")

    def raw_queries() -> None:
        v = t.value
        for i in idx[:20_000]:
            v("cifar10", "val_acc@200", int(i))

    per_q = median_time(raw_queries, 3) / 20_000
    lines.append(f"| one table query `value(ds, metric, index)` | {per_q * 1e6:.2f} µs | < 5 µs |")

    archs = [nb201.arch_of_index(int(i)) for i in idx[:20_000]]

    def evals() -> None:
        ev = TabularEvaluator("nb201", "cifar10")
        for a in archs:
            ev.evaluate(a)

    per_e = median_time(evals, 3) / 20_000
    lines.append(
        f"| one `TabularEvaluator.evaluate(arch)` (tuple -> index -> EvalResult, query log) | "
        f"{per_e * 1e6:.2f} µs | |"
    )
    all_idx = np.arange(nb201.N_CELLS)
    codes = nb201.all_indices_codes()
    index_of_code = nb201._order()[1]

    def vectorised() -> None:
        _ = col[index_of_code[codes[all_idx]]]
        _ = t.column("cifar10", "test_acc@200")[all_idx]

    vec = median_time(vectorised, 20)
    lines.append(
        f"| vectorised lookup of all 15,625 cells (val + test) | {vec * 1e3:.3f} ms | < 5 ms |"
    )

    # the official API on the official-format sample (3 cells), same process
    from harness.benchmarks.registry import find

    sample = find("nats_format_sample/NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2")
    if sample is not None:
        from nats_bench import create as nats_create

        t0 = time.perf_counter()
        api = nats_create(str(sample.parent), "tss", fast_mode=True, verbose=False)
        t_api = time.perf_counter() - t0
        first = []
        for i in (0, 11, 284):
            t0 = time.perf_counter()
            api.get_more_info(i, "cifar10-valid", hp="200", is_random=False)
            first.append(time.perf_counter() - t0)
        again = median_time(
            lambda: api.get_more_info(11, "cifar10-valid", hp="200", is_random=False), 20
        )
        lines.append(f"| official `nats_bench.create` on the sample | {t_api * 1e3:.0f} ms | |")
        lines.append(
            f"| official `get_more_info` first touch of a cell (median of 3) | "
            f"{statistics.median(first) * 1e3:.1f} ms | ratio to ours: "
            f"{statistics.median(first) / per_e:,.0f}x |"
        )
        lines.append(
            f"| official `get_more_info` repeated query | {again * 1e6:.0f} µs | ratio to ours: "
            f"{again / per_e:,.0f}x |"
        )

    # run-loop overhead per evaluation, per strategy (NB201 cifar10, 1,000 charged evaluations)
    small = {"genetic": {"population_size": 50}, "genetic_study": {"population_size": 50}}
    lines.append("")
    lines.append("| strategy (NB201 cifar10) | 1,000 evaluations | per query |")
    lines.append("|---|---|---|")
    space = nb201.NB201Space()
    for name in STRATEGIES.names():
        if name.startswith(("nas_ea_fa", "neural_predictor", "naswot")):
            continue  # surrogate/zero-cost strategies: see their own benchmarks

        def one(name: str = name) -> int:
            s = create(name, space, seed=1, **small.get(name, {}))
            res = run_search(s, TabularEvaluator("nb201", "cifar10"), Budget(evaluations=1000))
            return len(res.trials)

        n_q = one()
        dt = median_time(one, 3)
        lines.append(f"| {name} | {dt * 1e3:.0f} ms | {dt / n_q * 1e6:.0f} µs ({n_q} queries) |")

    # a 100-run grid on all cores
    with tempfile.TemporaryDirectory() as d:
        exp = parse_experiment(
            {
                "name": "grid",
                "seeds": 50,
                "budget": {"evaluations": 150},
                "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
                "strategy": [{"name": "aging_evolution"}, {"name": "random_search"}],
            }
        )
        t0 = time.perf_counter()
        run_experiment(exp, d, workers=os.cpu_count(), progress=False)
        grid = time.perf_counter() - t0
    lines.append("")
    lines.append(
        f"100-run grid (2 strategies x 50 seeds x 150 evaluations, {os.cpu_count()} workers, "
        f"Parquet + manifest per run): {grid:.1f} s"
    )
    header = (
        f"## Foundation and run loop\n\nMachine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        f"`python bench/bench_foundation.py --write`.\n\n"
        "| what | measured | target |\n|---|---|---|\n"
    )
    text = header + "\n".join(lines) + "\n"
    print(text)
    if args.write:
        res = ROOT / "bench" / "RESULTS.md"
        old = res.read_text() if res.exists() else "# Benchmark results\n"
        block = f"{MARK_BEGIN}\n{text}{MARK_END}"
        if MARK_BEGIN in old:
            pre, rest = old.split(MARK_BEGIN, 1)
            post = rest.split(MARK_END, 1)[1]
            new = pre + block + post
        else:
            new = old.rstrip() + "\n\n" + block + "\n"
        res.write_text(new)


if __name__ == "__main__":
    main()
