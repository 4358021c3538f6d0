"""Fit / predict time and peak memory of every surrogate at 100 / 1,000 / 10,000 training cells.

Run: ``python bench/bench_predictors.py [--quick]``; prints Markdown for bench/RESULTS.md.

Why a subprocess per setting: peak memory is a process high-water mark (``ru_maxrss``), and the
native allocations of xgboost and torch are invisible to ``tracemalloc``. Each setting runs in a
fresh interpreter that loads the data, encodes the cells and warms the imports, then records
``ru_maxrss`` (the baseline), fits, predicts, and reports

- ``peak RSS MB``: the process's peak resident set (data, libraries and model);
- ``+MB``: its growth during fit + predict (what the model adds on top of data and libraries;
  0 when it fits inside memory the baseline already touched).

``tracemalloc`` is not used: it sees no native allocation (xgboost, torch) and tracing every
Python allocation slowed the torch training loops 10-20x, which would falsify the fit times.

Data: NB201 cifar10 ``val_acc@200``; training cells drawn without replacement from all 15,625
(seed 0); vector surrogates on ``onehot``, GCNs on ``graph``. Augmentation (where it applies):
NAS-EA-FA's ``augment="class"`` on native NB201 -- every told cell adds the encodings of all cells
of its isomorphism class (repeats included, as the strategy does), 36 rows per cell on average.
On NB101 the encodings are computed on the canonical form, so they are isomorphism-invariant
and augmentation does not apply. Predict = 1,000 held-out cells, best of 3.

Settings expected to run for many minutes on 2 shared cores are skipped and listed (GCN and MLP
fit time grows with rows x epochs: 100 epochs over 360k augmented rows is hours).
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SURROGATES = ("xgb", "random_forest", "mlp", "gcn")
SIZES = (100, 1000, 10_000)
#: (surrogate, augmented) -> largest number of training CELLS run (the rest is skipped)
CAPS = {
    ("mlp", True): 1000,
    ("gcn", False): 10_000,
    ("gcn", True): 100,
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def one(name: str, n: int, augment: bool) -> dict[str, Any]:
    """Run one setting in this process and return its measurements."""
    from analysis.predictors import _warm_imports
    from harness import surrogates
    from harness.benchmarks import nb201 as tables
    from harness.spaces import nb201

    space = nb201.NB201Space()
    val = np.asarray(tables.load().column("cifar10", "val_acc@200"), dtype=np.float64)
    kind = "graph" if surrogates.input_kind_of(surrogates.create(name)) == "graph" else "onehot"
    rng = np.random.default_rng(0)
    perm = rng.permutation(nb201.N_CELLS)
    train, test = perm[:n], perm[-1000:]
    if augment:
        from harness.strategies.nas_ea_fa import _nb201_classes

        classes = _nb201_classes()
        archs = [m for i in train for m in classes[space.canonical(nb201.arch_of_index(int(i)))]]
        y = np.concatenate(
            [
                np.full(len(classes[space.canonical(nb201.arch_of_index(int(i)))]), val[i])
                for i in train
            ]
        )
    else:
        archs = [nb201.arch_of_index(int(i)) for i in train]
        y = val[train]
    enc_cache: dict[tuple[int, ...], Any] = {}

    def enc(a: tuple[int, ...]) -> Any:
        if a not in enc_cache:
            enc_cache[a] = space.encode(a, kind)  # type: ignore[arg-type]
        return enc_cache[a]

    X: Any = [enc(a) for a in archs]
    Xp: Any = [space.encode(nb201.arch_of_index(int(i)), kind) for i in test]
    if kind != "graph":
        X, Xp = np.asarray(X, dtype=np.float32), np.asarray(Xp, dtype=np.float32)
    _warm_imports([name])
    # a throw-away fit on 8 rows: the first torch training of a process pays ~2 s of one-time
    # setup that is not the model's cost
    surrogates.create(name, seed=0).fit(X[:8], y[:8])
    model = surrogates.create(name, seed=0)
    base = _rss_mb()
    t0 = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - t0
    pred_s = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        model.predict(Xp)
        pred_s = min(pred_s, time.perf_counter() - t0)
    return {
        "surrogate": name,
        "encoding": kind,
        "cells": n,
        "augmented": augment,
        "rows": len(y),
        "fit_s": fit_s,
        "predict_1000_s": pred_s,
        "rss_base_mb": base,
        "rss_peak_mb": _rss_mb(),
        "rss_growth_mb": _rss_mb() - base,
    }


def _run_child(name: str, n: int, augment: bool, timeout: float) -> dict[str, Any] | str:
    cmd = [sys.executable, __file__, "--one", name, str(n), "1" if augment else "0"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if r.returncode != 0:
        return f"failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100 and 1,000 cells only")
    p.add_argument("--one", nargs=3, metavar=("NAME", "N", "AUG"), help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per setting")
    args = p.parse_args(argv)
    if args.one:
        name, n, aug = args.one
        print(json.dumps(one(name, int(n), aug == "1")))
        return 0
    sizes = SIZES[:2] if args.quick else SIZES
    t_all = time.perf_counter()
    rows, skipped = [], []
    for name in SURROGATES:
        for augment in (False, True):
            for n in sizes:
                cap = CAPS.get((name, augment))
                if cap is not None and n > cap:
                    skipped.append(f"{name} {'with' if augment else 'without'} augmentation "
                                   f"at {n:,} cells")  # fmt: skip
                    continue
                res = _run_child(name, n, augment, args.timeout)
                if isinstance(res, str):
                    skipped.append(f"{name} aug={augment} n={n}: {res}")
                    continue
                rows.append(res)
                print(f"{name} aug={augment} n={n}: fit {res['fit_s']:.2f}s", file=sys.stderr)
    load = os.getloadavg()
    print(
        f"Measured {time.strftime('%Y-%m-%d')}, load average {load[0]:.1f} at the end, "
        f"{(time.perf_counter() - t_all) / 60:.1f} min in all; 1 thread per model.\n"
    )
    print("| surrogate | encoding | cells | augmented rows | fit s | predict 1,000 s "
          "| peak RSS MB | +MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        aug = f"{r['rows']:,}" if r["augmented"] else "no"
        print(
            f"| {r['surrogate']} | {r['encoding']} | {r['cells']:,} | {aug} | {r['fit_s']:.2f} | "
            f"{r['predict_1000_s']:.4f} | {r['rss_peak_mb']:.0f} | {r['rss_growth_mb']:.0f} |"
        )
    if skipped:
        print("\nNot run: " + "; ".join(skipped) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
