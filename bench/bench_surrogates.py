"""Benchmark of the surrogates and of one NAS-EA-FA V2 run.

Run: ``python bench/bench_surrogates.py [--quick]``; prints Markdown for bench/RESULTS.md.

1. Training-set sizes the reference study's NAS-EA-FA V2 actually reaches (thesis preset on its
   NB201 genome: 50 cells per round, each with its isomorphic augmentations), measured by running
   it; then fit / predict time of ``xgb`` at those sizes and at 100 / 1,000 / 10,000 rows, and of
   ``gcn`` at 50 / 250 / 500 graphs (the GCN variant trains on the cells, not on augmentations)
   and 1,000 graphs. Predict time is for 100 rows (one surrogate-scored generation) and for
   1,000 rows.
2. Kendall tau / Spearman on NB201 cifar10 val_acc@200 (seed means): every built-in surrogate
   trained on n random cells, scored on 2,000 held-out cells, 3 seeds.
3. Wall time of one NAS-EA-FA V2 thesis run (P=100, K=30, H=20, G=10, T=10) with XGBoost, on
   the study genome and on native NB201, and with the GCN on the study genome.

Timings depend on the machine's load (2 shared cores): the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _data(kind: str, ids: np.ndarray) -> Any:
    from harness.spaces import nb201

    space = nb201.NB201Space()
    rows = [space.encode(nb201.arch_of_index(int(i)), kind) for i in ids]
    return rows if kind == "graph" else np.asarray(rows, dtype=np.float32)


def _val() -> np.ndarray:
    from harness.benchmarks import nb201 as tables

    return np.asarray(tables.load().column("cifar10", "val_acc@200"), dtype=np.float64)


def _timed(fn: Any, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def study_training_sizes() -> list[int]:
    """Rows in the thesis run's training set after each round (study genome, seed 0)."""
    from harness.evaluators.tabular import TabularEvaluator
    from harness.records import Observation
    from harness.spaces.nb201_genome import NB201StudyGenomeSpace
    from harness.strategies import create

    space = NB201StudyGenomeSpace()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = create("nas_ea_fa_v2_thesis", space, seed=0)
    sizes = []
    rnd = 0
    while not s.finished:
        a = s.ask()
        s.tell(Observation(a, ev.evaluate(a).signal))
        if s.round != rnd:
            rnd = s.round
            sizes.append(s.training_set_size())
    return sizes


def fit_predict_times(
    name: str, kind: str, sizes: list[int]
) -> list[tuple[int, float, float, float]]:
    from harness import surrogates

    val = _val()
    rng = np.random.default_rng(0)
    out = []
    for n in sizes:
        ids = rng.integers(0, len(val), size=n)  # with replacement: augmented sets repeat cells
        X, y = _data(kind, ids), val[ids]
        Xp = _data(kind, rng.integers(0, len(val), size=1000))
        model = surrogates.create(name, seed=0)
        fit_s = _timed(lambda m=model, X=X, y=y: m.fit(X, y))
        p100 = _timed(lambda m=model, Xp=Xp: m.predict(Xp[:100]), repeats=3)
        p1000 = _timed(lambda m=model, Xp=Xp: m.predict(Xp), repeats=3)
        out.append((n, fit_s, p100, p1000))
    return out


def rank_quality(names: list[str], ns: list[int], seeds: int) -> dict[tuple[str, int], Any]:
    from scipy.stats import kendalltau, spearmanr

    from harness import surrogates

    val = _val()
    res: dict[tuple[str, int], Any] = {}
    for name in names:
        kind = (
            "graph" if surrogates.input_kind_of(surrogates.create(name)) == "graph" else "onehot"
        )
        for n in ns:
            taus, rhos, fits = [], [], []
            for seed in range(seeds):
                perm = np.random.default_rng(seed).permutation(len(val))
                tr, te = perm[:n], perm[n : n + 2000]
                model = surrogates.create(name, seed=seed)
                Xtr, Xte = _data(kind, tr), _data(kind, te)
                t0 = time.perf_counter()
                model.fit(Xtr, val[tr])
                fits.append(time.perf_counter() - t0)
                p = model.predict(Xte)
                taus.append(float(kendalltau(p, val[te])[0]))
                rhos.append(float(spearmanr(p, val[te])[0]))
            res[(name, n)] = (
                statistics.mean(taus),
                statistics.stdev(taus) if seeds > 1 else 0.0,
                statistics.mean(rhos),
                statistics.mean(fits),
            )
    return res


def thesis_run(space_name: str, surrogate: str) -> tuple[float, float, float, int, int]:
    """(wall s, best val, its test, evaluations, distinct cells) of one preset run, seed 0."""
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search
    from harness.spaces.nb201 import NB201Space
    from harness.spaces.nb201_genome import NB201StudyGenomeSpace
    from harness.strategies import create

    space: Any = (
        NB201StudyGenomeSpace() if space_name == "study" else NB201Space(mutation="per_edge")
    )
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    name = "nas_ea_fa_v2_thesis" if surrogate == "xgb" else "nas_ea_fa_v2_thesis_gcn"
    s = create(name, space, seed=0)
    t0 = time.perf_counter()
    res = run_search(s, ev, Budget(evaluations=10_000), count_repeats=True)
    wall = time.perf_counter() - t0
    last = res.trials[-1]
    return wall, last.incumbent_signal, last.incumbent_reported, last.cum_evals, last.cum_distinct


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer sizes and seeds, no GCN run")
    args = p.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)\n")

    sizes = study_training_sizes()
    print(
        "### Training-set rows of the study's NAS-EA-FA V2 (thesis preset, study genome, seed 0)"
    )
    print("after rounds 1..10: " + ", ".join(f"{n:,}" for n in sizes) + "\n")

    xgb_sizes = sorted(
        {100, 1000, sizes[0], sizes[len(sizes) // 2], sizes[-1]}
        | (set() if args.quick else {10_000})
    )
    gcn_sizes = [50, 250, 500] if args.quick else [50, 250, 500, 1000]
    print("### Fit / predict time (seconds, best of 3 for predict)\n")
    print("| surrogate | training rows | fit | predict 100 | predict 1,000 |")
    print("|---|---|---|---|---|")
    for name, kind, ss in (("xgb", "adjacency", xgb_sizes), ("gcn", "graph", gcn_sizes)):
        for n, f, p1, p2 in fit_predict_times(name, kind, ss):
            print(f"| {name} | {n:,} | {f:.2f} | {p1:.4f} | {p2:.4f} |")
    print()

    names = ["xgb", "random_forest", "mlp", "gcn", "gcn_classifier"]
    ns = [100, 300] if args.quick else [50, 100, 300, 1000]
    seeds = 2 if args.quick else 3
    q = rank_quality(names, ns, seeds)
    print(f"### Rank quality on NB201 cifar10 val_acc@200 (2,000 held-out cells, {seeds} seeds)\n")
    print("| surrogate | n train | Kendall tau (mean ± sd) | Spearman | fit s |")
    print("|---|---|---|---|---|")
    for (name, n), (tau, sd, rho, fit) in q.items():
        print(f"| {name} | {n} | {tau:.3f} ± {sd:.3f} | {rho:.3f} | {fit:.2f} |")
    print()

    runs = [("study", "xgb"), ("native", "xgb")] + ([] if args.quick else [("study", "gcn")])
    print("### One NAS-EA-FA V2 thesis run (P=100, K=30, H=20, G=10, T=10; seed 0, cifar10)\n")
    print("| space | surrogate | wall s | best val | its test | evaluations | distinct cells |")
    print("|---|---|---|---|---|---|---|")
    for sp, sur in runs:
        wall, bv, bt, ne, nd = thesis_run(sp, sur)
        print(f"| {sp} | {sur} | {wall:.1f} | {bv:.2f} | {bt:.2f} | {ne} | {nd} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
