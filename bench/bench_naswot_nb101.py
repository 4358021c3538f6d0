"""NB101 NASWOT benchmark: seconds and peak memory per cell at batch 128 (CPU).

Run: ``python bench/bench_naswot_nb101.py [--write] [--n-cells 8] [--threads 1]``. With
``--write`` the figures replace the "NASWOT on NB101" section of bench/RESULTS.md.
Measurements, not tests: the 2-core machine is shared, so the load average and the CPU time
(less sensitive to other processes than the wall time) are printed beside the wall time.

Cells: ``--n-cells`` of the 292 distinct cells of the shipped zc500 sample, at evenly spaced
quantiles of their parameter count (smallest to largest). Each cell is scored in a fresh child
process (``multiprocessing`` spawn) so its peak memory is its own: the peak RSS of the child
after scoring, minus its RSS after importing torch and loading the images (the scoring's own
high-water mark). Per cell: wall and CPU seconds of
:func:`harness.evaluators.zero_cost.score_cell` (build the seeded network + one forward pass +
kernel), and of building the network alone. The committed table's own per-cell seconds (all
292 cells, measured while it was computed) are summarised beside them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARK_BEGIN = "<!-- bench_naswot_nb101:begin -->"
MARK_END = "<!-- bench_naswot_nb101:end -->"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover


def _one(h: str, threads: int, q: Any) -> None:
    import torch

    from harness.benchmarks.nb101 import zc500_cells
    from harness.data import load_images
    from harness.evaluators.zero_cost import score_cell
    from harness.models import build_network, count_parameters
    from harness.spaces.nb101 import canonical_form

    torch.set_num_threads(threads)
    cell = zc500_cells()[h]
    x = load_images("cifar10", 128)
    base = max(_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    c0, t0 = time.process_time(), time.perf_counter()
    r = score_cell("nb101", cell, x, num_threads=threads)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t1 = time.perf_counter()
    net = build_network("nb101", canonical_form(cell), 10, seed=0)
    build = time.perf_counter() - t1
    q.put(
        {
            "hash": h,
            "params_m": count_parameters(net) / 1e6,
            "vertices": canonical_form(cell).num_vertices,
            "n_relus": r.n_relus,
            "wall_s": wall,
            "cpu_s": cpu,
            "build_s": build,
            "peak_mb": peak,
            "scoring_peak_mb": peak - base,
            "score": r.score,
        }
    )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--write", action="store_true")
    p.add_argument("--n-cells", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    import numpy as np

    from harness.benchmarks.nb101 import zc500_frame
    from harness.evaluators.zero_cost import HashScoreTable, nb101_table_path

    df = zc500_frame().drop_duplicates("nb101_hash").sort_values("params", kind="stable")
    pos = np.unique(np.round(np.linspace(0, len(df) - 1, args.n_cells)).astype(int))
    hashes = list(df["nb101_hash"].iloc[pos])
    load_before = os.getloadavg()[0]
    ctx = mp.get_context("spawn")
    rows = []
    for h in hashes:
        q = ctx.Queue()
        proc = ctx.Process(target=_one, args=(h, args.threads, q))
        proc.start()
        rows.append(q.get())
        proc.join()
        r = rows[-1]
        print(
            f"{h[:8]} {r['params_m']:.2f}M: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, "
            f"build {r['build_s']:.2f} s, scoring peak +{r['scoring_peak_mb']:.0f} MB",
            flush=True,
        )
    load_after = os.getloadavg()[0]
    table = nb101_table_path()
    tmeta = json.loads(table.with_suffix(".json").read_text()) if table.exists() else {}
    tsecs = [r[1] for r in HashScoreTable.read(table).rows.values()] if table.exists() else []

    def med(k: str) -> float:
        return statistics.median(r[k] for r in rows)

    lines = [
        MARK_BEGIN,
        "## NASWOT on NB101 (batch 128)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, load average {load_before:.1f} before / "
        f"{load_after:.1f} after; `python bench/bench_naswot_nb101.py --write`. CPU, "
        f"{args.threads} torch thread(s), 128 CIFAR-10 images; each cell in a fresh process; "
        "cells at evenly spaced quantiles of parameter count among the 292 zc500 cells.",
        "",
        "| cell | params | vertices | ReLUs | wall s | CPU s | of which build s | peak RSS | "
        "scoring peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['hash'][:8]}` | {r['params_m']:.2f} M | {r['vertices']} | {r['n_relus']} | "
            f"{r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['build_s']:.2f} | "
            f"{r['peak_mb']:.0f} MB | +{r['scoring_peak_mb']:.0f} MB |"
        )
    lines += [
        f"| **median** | | | | {med('wall_s'):.2f} | {med('cpu_s'):.2f} | "
        f"{med('build_s'):.2f} | {med('peak_mb'):.0f} MB | +{med('scoring_peak_mb'):.0f} MB |",
        "",
    ]
    if tsecs:
        lines += [
            f"The committed table (`{table.name}`, {len(tsecs)} cells, "
            f"{tmeta.get('num_threads')} thread, computed beside another scoring job): median "
            f"{statistics.median(tsecs):.2f} s, mean {statistics.mean(tsecs):.2f} s, max "
            f"{max(tsecs):.2f} s per cell; wall time {tmeta.get('wall_s')} s in all.",
            "",
        ]
    lines.append(MARK_END)
    section = "\n".join(lines)
    print(section)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        text = path.read_text() if path.exists() else "# Benchmark results\n"
        if MARK_BEGIN in text:
            head, rest = text.split(MARK_BEGIN, 1)
            text = head + section + rest.split(MARK_END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
