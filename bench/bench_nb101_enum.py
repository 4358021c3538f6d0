"""Benchmark of the NB101 enumeration and of the official hash vs the batched one.

Run: ``python bench/bench_nb101_enum.py [--write]``. With ``--write`` the figures replace the
"NB101 enumeration" section of bench/RESULTS.md (appended when absent). Each enumeration runs in
a fresh interpreter so that its peak memory (``ru_maxrss`` of the process and of its worker
processes) is its own. Timings are measurements on this machine, not tests; the load average is
printed because other work on a 2-core machine slows them down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS.md"
MARK_BEGIN = "<!-- bench_nb101_enum:begin -->"
MARK_END = "<!-- bench_nb101_enum:end -->"


def one_enumeration(workers: int) -> dict[str, float]:
    """Enumerate in this process (called in a child interpreter) and report time and memory."""
    from harness.spaces import nb101_enum

    t0 = time.perf_counter()
    c0 = time.process_time()
    arrays = nb101_enum.enumerate_space(workers=workers)
    wall = time.perf_counter() - t0
    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "workers": workers,
        "cells": len(arrays["hash"]),
        "wall_s": wall,
        "cpu_s": time.process_time() - c0 + kids.ru_utime + kids.ru_stime,
        "peak_rss_mb": self_ru.ru_maxrss / 1024,
        "peak_rss_worker_mb": kids.ru_maxrss / 1024,
    }


def run_child(workers: int) -> dict[str, float]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from bench.bench_nb101_enum import one_enumeration;"
        "print(json.dumps(one_enumeration(int(sys.argv[2]))))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(workers)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def hash_speed() -> dict[str, float]:
    """Per-cell time of graph_util.hash_module vs hash_batch on the same 7-vertex cells."""
    from nasbench_pytorch.model import graph_util

    from harness.spaces import nb101_enum

    mats, labels = nb101_enum._classes(7)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(mats), size=2000, replace=False)
    specs = [(mats[i].astype(np.int64), [-1, *labels[i].tolist(), -2]) for i in pick]
    # CPU time of this single-threaded process: robust to other work on a shared machine
    t = time.process_time()
    official = [graph_util.hash_module(m, lab) for m, lab in specs]
    official_s = (time.process_time() - t) / len(specs)
    t = time.process_time()
    small = nb101_enum.hash_batch(mats[pick], labels[pick])
    small_s = (time.process_time() - t) / len(pick)
    assert [h.decode() for h in small] == official
    t = time.process_time()
    nb101_enum.hash_batch(mats, labels)
    all_s = (time.process_time() - t) / len(mats)
    tracemalloc.start()
    nb101_enum.hash_batch(mats[:50_000], labels[:50_000])
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "official_us": official_s * 1e6,
        "batch_2000_us": small_s * 1e6,
        "batch_all7_us": all_s * 1e6,
        "n7": len(mats),
        "traced_peak_50k_mb": traced_peak,
    }


def cache_load() -> float:
    """Median time to load the enumeration cache in a fresh interpreter (cache built first)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NASH_CACHE_DIR": tmp}
        code = (
            "import time, sys; sys.path.insert(0, sys.argv[1]);"
            "from harness.spaces import nb101_enum as e; t=time.perf_counter();"
            "e.load_nb101_space(); print(time.perf_counter()-t)"
        )
        args = [sys.executable, "-c", code, str(ROOT)]
        subprocess.run(args, env=env, check=True, capture_output=True, cwd=ROOT)  # builds
        times = [
            float(
                subprocess.run(
                    args, env=env, check=True, capture_output=True, text=True, cwd=ROOT
                ).stdout
            )
            for _ in range(3)
        ]
    return statistics.median(times)


def render(enum_runs: list[dict[str, float]], speed: dict[str, float], load_s: float) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        MARK_BEGIN,
        "## NB101 enumeration",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average before the run {os.getloadavg()[0]:.1f}; "
        "`python bench/bench_nb101_enum.py --write`.",
        "",
        "Whole space (every class of 2..7 vertices, canonical representative, official hash; "
        "fresh process each):",
        "",
        "| workers | cells | wall | CPU (all processes) | peak RSS main / worker |",
        "|---|---|---|---|---|",
    ]
    for r in enum_runs:
        lines.append(
            f"| {r['workers']:.0f} | {r['cells']:,.0f} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s"
            f" | {r['peak_rss_mb']:.0f} MB / {r['peak_rss_worker_mb']:.0f} MB |"
        )
    ratio = speed["official_us"] / speed["batch_all7_us"]
    lines += [
        "",
        "Reference: the straightforward enumeration with the official "
        "Python hash, 284 s wall on 2 cores. Where the load average exceeds the core count, "
        "other jobs shared the machine: the CPU column is then the fairer figure.",
        "",
        "| hash of one 7-vertex cell | CPU time per cell |",
        "|---|---|",
        f"| official `graph_util.hash_module` (2,000 cells) | {speed['official_us']:.0f} µs |",
        f"| `nb101_enum.hash_batch`, batch of the same 2,000 | {speed['batch_2000_us']:.0f} µs |",
        f"| `nb101_enum.hash_batch`, all {speed['n7']:,.0f} 7-vertex classes in one batch | "
        f"{speed['batch_all7_us']:.0f} µs ({ratio:.1f}x faster) |",
        "",
        f"tracemalloc peak of `hash_batch` on 50,000 cells: {speed['traced_peak_50k_mb']:.0f} MB. "
        f"Loading the cached enumeration (`load_nb101_space`, fresh process): "
        f"{load_s * 1000:.0f} ms.",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        tail = rest.split(MARK_END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    p.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = p.parse_args()
    runs = []
    for w in args.workers:
        r = run_child(w)
        print(json.dumps(r))
        runs.append(r)
    speed = hash_speed()
    print(json.dumps(speed))
    load_s = cache_load()
    print(f"cache load {load_s * 1000:.0f} ms")
    section = render(runs, speed, load_s)
    print(section)
    if args.write:
        write_section(section)


if __name__ == "__main__":
    main()
