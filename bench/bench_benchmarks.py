"""Benchmark plug-in layer: cold load, one lookup, and a vectorised lookup of all cells.

Run: ``python bench/bench_benchmarks.py`` (prints a Markdown table for bench/RESULTS.md). Every
registered benchmark is measured through the one interface the harness uses
(:class:`harness.benchmarks.base.Benchmark`), so the numbers include what that layer costs over
the raw tables. Medians of repeats; measurements, not tests.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def median_time(fn: Callable[[], object], repeat: int = 7) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def cold_load(name: str) -> float:
    """Seconds to import the harness and open the benchmark in a fresh interpreter (cached)."""
    code = (
        "import time; t=time.perf_counter();"
        "from harness.benchmarks import get_benchmark;"
        f"b=get_benchmark({name!r}); ds=b.datasets[0]; b.metrics(ds);"
        "b.value(ds, b.signal_metric(ds), list(b.keys(ds))[0]) if not b.surrogate_based else 0;"
        "print(time.perf_counter()-t)"
    )
    runs = []
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        r.check_returncode()
        runs.append(float(r.stdout.split()[-1]))
    return statistics.median(runs)


def lookups(bench: Any, ds: str, sig: str, keys: list[Any]) -> tuple[float, float]:
    """(one lookup, all ``keys`` at once) in seconds."""
    mid = keys[len(keys) // 2]
    one = median_time(lambda: bench.value(ds, sig, mid), repeat=200)
    many = median_time(lambda: bench.values(ds, sig, keys))
    return one, many


def main() -> None:
    from harness.benchmarks import BENCHMARKS, get_benchmark

    rows = []
    for name in BENCHMARKS.names():
        bench = get_benchmark(name)
        ds = bench.datasets[0]
        sig = bench.signal_metric(ds)
        if bench.surrogate_based:  # a model over 423,624 cells: time a 1,000-cell batch
            from harness.spaces import make_space

            space = make_space(bench.space)
            rng = np.random.default_rng(0)
            keys = [bench.key_of(space.to_cell(space.sample(rng))) for _ in range(1000)]
        else:
            keys = list(bench.keys(ds))
        one, many = lookups(bench, ds, sig, keys)
        rows.append((name, ds, len(keys), one * 1e6, many * 1e3, cold_load(name)))
    print("| benchmark | dataset | cells looked up | one lookup [us] | all at once [ms] "
          "| per cell [us] | cold load [s] |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, ds, n, one, many, cold in rows:
        print(f"| {name} | {ds} | {n:,} | {one:.1f} | {many:.2f} | {1e3 * many / n:.3f} "
              f"| {cold:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
