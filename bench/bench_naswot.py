"""NASWOT scoring benchmark: seconds per NB201 / NB101 cell, peak memory, agreement figures.

Run: ``python bench/bench_naswot.py [--write] [--n-cells 60] [--threads 1 2]``. With ``--write``
the figures replace the "NASWOT scoring" section of bench/RESULTS.md. Measurements, not tests:
the 2-core machine is shared, so the load average is printed beside them.

What is measured per cell (batch 128 CIFAR-10 images, CPU): building the seeded network and one
scoring pass (:func:`harness.evaluators.zero_cost.score_cell`), after one warm-up cell.
Agreement: Spearman of our scores with NAS-Bench-Suite-Zero's ``nwot`` column on random cells
it covers, and of both with the cifar10 200-epoch validation accuracy (seed mean) and the
cifar10 200-epoch test accuracy.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MARK_BEGIN = "<!-- bench_naswot:begin -->"
MARK_END = "<!-- bench_naswot:end -->"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--write", action="store_true")
    p.add_argument("--n-cells", type=int, default=60)
    p.add_argument("--n-nb101", type=int, default=3)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()

    from scipy.stats import kendalltau, spearmanr

    from harness.benchmarks import nb201 as tables
    from harness.data import load_images
    from harness.evaluators.zero_cost import score_cell
    from harness.spaces import nb201
    from harness.spaces.nb101 import NB101Space

    load_before = os.getloadavg()[0]
    x = load_images("cifar10", 128)
    t = tables.load()
    nwot = np.asarray(t.column("cifar10", "zc_nwot"))
    val = np.asarray(t.column("cifar10", "val_acc@200"))
    test = np.asarray(t.column("cifar10", "test_acc@200"))
    idx = np.random.default_rng(1).choice(np.flatnonzero(np.isfinite(nwot)), args.n_cells, False)
    score_cell("nb201", nb201.arch_of_index(6111), x)  # warm-up

    per_thread: dict[int, list[float]] = {}
    scores = np.empty(len(idx))
    for th in args.threads:
        secs = []
        for k, i in enumerate(idx):
            r = score_cell("nb201", nb201.arch_of_index(int(i)), x, num_threads=th)
            secs.append(r.seconds)
            scores[k] = r.score
        per_thread[th] = secs
        print(f"nb201 threads={th}: median {statistics.median(secs):.3f} s/cell", flush=True)
    best = [score_cell("nb201", nb201.arch_of_index(6111), x, num_threads=th).seconds
            for th in args.threads]  # fmt: skip

    space101 = NB101Space()
    rng = np.random.default_rng(0)
    nb101_secs = []
    for _ in range(args.n_nb101):
        cell = space101.sample(rng)
        nb101_secs.append(score_cell("nb101", cell, x, num_threads=max(args.threads)).seconds)
    print(f"nb101: median {statistics.median(nb101_secs):.2f} s/cell", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rho = {
        "ours vs published nwot": spearmanr(scores, nwot[idx])[0],
        "ours vs cifar10 val_acc@200": spearmanr(scores, val[idx])[0],
        "published nwot vs cifar10 val_acc@200": spearmanr(nwot[idx], val[idx])[0],
        "ours vs cifar10 test_acc@200": spearmanr(scores, test[idx])[0],
        "published nwot vs cifar10 test_acc@200": spearmanr(nwot[idx], test[idx])[0],
    }
    tau = kendalltau(scores, nwot[idx])[0]
    load_after = os.getloadavg()[0]

    lines = [
        MARK_BEGIN,
        "## NASWOT scoring",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, load average {load_before:.1f} before / {load_after:.1f} "
        f"after; `python bench/bench_naswot.py --write`. Batch 128 CIFAR-10 images, CPU, "
        "seconds = build the seeded network + one scoring pass.",
        "",
        "| what | threads | median | mean | max |",
        "|---|---|---|---|---|",
    ]
    for th, secs in per_thread.items():
        lines.append(
            f"| NB201 cell ({len(secs)} random cells covered by `zc_nwot`) | {th} | "
            f"{statistics.median(secs):.3f} s | {statistics.mean(secs):.3f} s | "
            f"{max(secs):.3f} s |"
        )
    for th, s in zip(args.threads, best, strict=True):
        lines.append(f"| NB201 best cell 6111 (5 convs per cell) | {th} | {s:.3f} s | | |")
    lines.append(
        f"| NB101 cell ({len(nb101_secs)} random cells, 128-channel stem) | "
        f"{max(args.threads)} | {statistics.median(nb101_secs):.2f} s | "
        f"{statistics.mean(nb101_secs):.2f} s | {max(nb101_secs):.2f} s |"
    )
    lines += [
        "",
        f"Peak RSS of the benchmark process: {peak_mb:.0f} MB.",
        "",
        f"Agreement on {len(idx)} random cells (Spearman; Kendall tau ours vs published "
        f"{tau:.3f}):",
        "",
        "| pair | Spearman |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.3f} |" for k, v in rho.items()]
    lines += ["", MARK_END]
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
