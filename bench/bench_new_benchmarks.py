"""NAS-Bench-Graph and AnalogNAS-Bench: our cached tables against the packages' own readers.

Run: ``python bench/bench_new_benchmarks.py [--write]``. With ``--write`` the figures replace the
"NAS-Bench-Graph and AnalogNAS-Bench" section of bench/RESULTS.md (appended the first time).
Measured in one run on this machine, both readers side by side, so the ratios share conditions:

- cold load: a fresh interpreter, import + load + the first value (our cache already built);
  the one-time conversion into the cache is timed separately (fresh cache directory);
- one lookup: a genotype to its value (the package: ``Arch(...).valid_hash()`` then the dict;
  ours: the space's key then ``Benchmark.value``), median per call over many;
- all cells: every key's value at once (the package: a dict comprehension; ours: ``values``).
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
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MARK_BEGIN = "<!-- bench_new_benchmarks:begin -->"
MARK_END = "<!-- bench_new_benchmarks:end -->"


def median_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t) / number)
    return statistics.median(out)


def fresh(code: str, env: dict[str, str] | None = None, repeat: int = 3) -> float:
    """Median wall seconds printed by ``code`` run in fresh interpreters."""
    out = []
    for _ in range(repeat):
        r = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
        out.append(float(r.stdout.split()[-1]))
    return statistics.median(out)


T0 = "import time; t0 = time.perf_counter()\n"
END = "print(time.perf_counter() - t0)\n"


def nbgraph_rows(ds: str) -> list[tuple[str, float, float]]:
    from nas_bench_graph import Arch, light_read

    from harness.benchmarks import nbgraph
    from harness.spaces.nbgraph import OPS, NBGraphSpace

    metric = "val_rocauc" if ds == "proteins" else "val_acc"
    space = NBGraphSpace("proteins" if ds == "proteins" else "main")
    cls = "NBGraphProteinsBenchmark" if ds == "proteins" else "NBGraphBenchmark"
    ours = getattr(nbgraph, cls)()
    first = int(space.all_keys()[0])
    ours.values(ds, metric, [first])  # warm: cache built and mapped

    cold_off = fresh(T0 + f"from nas_bench_graph import light_read, Arch\nb = light_read({ds!r})\n"
                     "k = next(iter(b)); b[k]['valid_perf']\n" + END)  # fmt: skip
    cold_ours = fresh(
        T0 + f"from harness.benchmarks.nbgraph import {cls}\n"
        f"b = {cls}(); b.value({ds!r}, {metric!r}, {first})\n" + END
    )
    official = light_read(ds)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(2000)]
    pkg = [(list(a[:4]), [OPS[o] for o in a[4:]]) for a in archs]
    it = iter(range(10**9))

    def one_official() -> None:
        i = next(it) % len(pkg)
        official[Arch(pkg[i][0], pkg[i][1]).valid_hash()]["valid_perf"]

    def one_ours() -> None:
        i = next(it) % len(archs)
        ours.value(ds, metric, ours.key_of(archs[i]))

    one_off = median_time(one_official, number=2000)
    one_us = median_time(one_ours, number=2000)
    keys = list(official)
    all_off = median_time(lambda: [official[k]["valid_perf"] for k in keys])
    all_us = median_time(lambda: ours.values(ds, metric, keys))
    n_arch = len(archs)
    hash_off = median_time(lambda: [Arch(lk, o).valid_hash() for lk, o in pkg]) / n_arch
    hash_us = median_time(lambda: space.keys_of(archs)) / n_arch
    return [
        (f"{ds}: cold load (fresh interpreter, first value)", cold_off, cold_ours),
        (f"{ds}: one lookup, genotype -> value", one_off, one_us),
        (f"{ds}: genotype -> key, per genotype (batch of 2,000)", hash_off, hash_us),
        (f"{ds}: all {len(keys):,} keys' values", all_off, all_us),
    ]


def analog_rows() -> list[tuple[str, float, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from analognasbench import AnalogNASBench

    from harness.benchmarks.analognas import AnalogNASBenchmark, key_of_naslib

    ours = AnalogNASBenchmark()
    ours.value("cifar10", "analog_acc", 0)
    cold_off = fresh(
        T0 + "from analognasbench import AnalogNASBench\nb = AnalogNASBench()\n"
        "b.query_metric((0, 0, 0, 4, 3, 2), 'analog_accuracy')\n" + END
    )
    cold_ours = fresh(
        T0 + "from harness.benchmarks.analognas import AnalogNASBenchmark, key_of_naslib\n"
        "AnalogNASBenchmark().value('cifar10', 'analog_acc', key_of_naslib((0, 0, 0, 4, 3, 2)))\n"
        + END
    )
    official = AnalogNASBench()
    tuples = official.list_available_architectures()
    it = iter(range(10**9))

    def one_official() -> None:
        official.query_metric(tuples[next(it) % len(tuples)], "analog_accuracy")

    def one_ours() -> None:
        ours.value("cifar10", "analog_acc", key_of_naslib(tuples[next(it) % len(tuples)]))

    idx = [key_of_naslib(t) for t in tuples]
    return [
        ("cold load (fresh interpreter, first value)", cold_off, cold_ours),
        (
            "one lookup, op tuple -> value",
            median_time(one_official, number=5000),
            median_time(one_ours, number=5000),
        ),
        (
            "all 15,625 cells' values",
            median_time(lambda: [official.query_metric(t, "analog_accuracy") for t in tuples]),
            median_time(lambda: ours.values("cifar10", "analog_acc", idx)),
        ),
    ]


def conversion_seconds() -> tuple[float, float]:
    """One-time conversion into an empty cache directory (fresh interpreter each)."""
    with tempfile.TemporaryDirectory() as d:
        nbg = fresh(
            T0 + "from harness.benchmarks import nbgraph\n"
            "for ds in nbgraph.DATASETS: nbgraph.load(ds)\n" + END,
            env={"NASH_CACHE_DIR": d},
            repeat=1,
        )
    with tempfile.TemporaryDirectory() as d:
        anb = fresh(
            T0 + "from harness.benchmarks import analognas\nanalognas.load()\n" + END,
            env={"NASH_CACHE_DIR": d},
            repeat=1,
        )
    return nbg, anb


def fmt(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} µs"


def table(rows: list[tuple[str, float, float]], reader: str) -> list[str]:
    out = [f"| what | {reader} | ours | ratio (theirs / ours) |", "|---|---|---|---|"]
    for what, theirs, ours in rows:
        out.append(f"| {what} | {fmt(theirs)} | {fmt(ours)} | {theirs / ours:.1f}x |")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--write", action="store_true")
    p.add_argument("--datasets", default="cora,proteins,arxiv")
    args = p.parse_args()
    load = os.getloadavg()[0]
    rows: list[tuple[str, float, float]] = []
    for ds in args.datasets.split(","):
        rows += nbgraph_rows(ds)
    arows = analog_rows()
    conv_nbg, conv_anb = conversion_seconds()
    lines = [
        MARK_BEGIN,
        "## NAS-Bench-Graph and AnalogNAS-Bench (`python bench/bench_new_benchmarks.py`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average before the run {load:.1f}. Both readers in "
        'the same run; medians. "Theirs" is the package\'s own reader (NAS-Bench-Graph: '
        "`light_read` + `Arch.valid_hash`; AnalogNAS-Bench: `AnalogNASBench().query_metric`).",
        "",
        "NAS-Bench-Graph:",
        "",
        *table(rows, "nas-bench-graph reader"),
        "",
        "AnalogNAS-Bench:",
        "",
        *table(arows, "analog-nasbench reader"),
        "",
        f"One-time conversion into the cache (fresh directory): NAS-Bench-Graph, all 9 datasets "
        f"{fmt(conv_nbg)} (includes computing the 157,464-genotype key table with the package's "
        f"hash); AnalogNAS-Bench {fmt(conv_anb)}. Later loads verify the package files' sha256 "
        "through the memoised checksums and memory-map the arrays. One lookup is dominated by "
        "Python call overhead on both sides; the vectorised lookup is where the columnar cache "
        "pays. NAS-Bench-Graph's cold load is slower than the package's: its light file is a 2 MB "
        "pickle that unpickles in about 0.1 s, while ours pays the harness imports (the plug-in "
        "registry imports importlib.metadata, about 0.15 s) and the once-per-process integrity "
        "check of the cache, not the data.",
        MARK_END,
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        cur = path.read_text()
        if MARK_BEGIN in cur and MARK_END in cur:
            a, rest = cur.split(MARK_BEGIN, 1)
            _, b = rest.split(MARK_END, 1)
            new = a + text + b
        else:
            new = cur.rstrip("\n") + "\n\n" + text + "\n"
        path.write_text(new)


if __name__ == "__main__":
    main()
