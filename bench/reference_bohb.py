"""Reference BOHB runs with hpbandster on the NB201 tables, for comparison with the project's BOHB.

Why: the project's BOHB (``harness`` strategy ``bohb``) is its own implementation. To tell
implementation differences from protocol differences in the NB201 Table 5 BOHB row, this script
runs the public reference implementation, hpbandster's BOHB, the way the NB201 paper's code ran it
(AutoDL-Projects ``exps/algos/BOHB.py`` and ``scripts-search/algos/BOHB.sh``): eta = 3,
min_budget = 12, max_budget = 200, num_samples = 4, random_fraction = 0, bandwidth_factor = 3,
min_bandwidth = 0.3; a ConfigSpace of 6 categorical edges over the 5 NB201 ops; one worker that
ignores the budget and returns loss = 100 - (12-epoch cifar10 validation accuracy, seed mean, the
project's Table 5 search signal). The budgets only change the schedule.

Stopping rule (instead of the paper's 12,000 simulated seconds): a fixed number of worker calls
(``--count calls``, default, the paper's way of charging: every call costs, promotions included) or
of distinct cells (``--count distinct``, the project's way: a repeated cell is free). The
optimizer runs one Hyperband iteration at a time (with one worker hpbandster runs strictly
sequentially, so this equals one ``run(n)`` call) and stops after the iteration in which the
budget is reached; calls beyond it get loss 100, as the paper's worker does once its time is
spent. With eta = 3 and budgets 22.2 / 66.7 / 200 the brackets have 13, 4 and 3 calls, so 100
calls are exactly 15 iterations.

``--cutoff-spread W`` moves the cutoff of seed s to limit - W//2 + (s mod W) (W = 20: 90..109
calls, one full cycle of the three brackets), so that, as under the paper's time budget, it can
fall inside a bracket, whose later promotions then get loss 100.

Two answers per run: hpbandster's own incumbent (``Result.get_incumbent_id``: the lowest loss among
configurations evaluated at max_budget = 200, what the paper reported) and the best configuration
among all evaluated (the project's answer rule). Each is reported as the 200-epoch test accuracy of
that cell on cifar10, cifar100 and ImageNet16-120 (the paper searched cifar10 only).

The tables are read with pandas directly from ``$NASH_DATA_DIR/nb201`` (nothing from the project).
With ``--compare DIR`` the script also reads the project's run.json files under DIR (cifar10 runs)
and prints a two-sided Mann-Whitney U test of the final test accuracies.

Needs hpbandster, which is NOT a project dependency: use a separate venv. hpbandster 0.7.4 does
not run with ConfigSpace >= 1.0 (configurations then hold ``numpy.str_`` values, which Pyro4's
serpent serializer rejects, and the first job never reaches the worker), so pin the last 0.x
ConfigSpace and the numpy it was built for::

    python3.11 -m venv /tmp/hpb && /tmp/hpb/bin/pip install hpbandster numpy pandas pyarrow
    /tmp/hpb/bin/pip install ConfigSpace==0.7.1 "numpy<2" "pandas<3" "pyarrow<21"
    NASH_DATA_DIR=/work/shared/benchmarks_data nice -n 10 /tmp/hpb/bin/python \\
        bench/reference_bohb.py --seeds 50 --out /tmp/ref_bohb_calls.csv \\
        --compare reports/baselines/runs/base_nb201_table5_bohb/nb201-cifar10

Each run starts its own Pyro4 nameserver on a free local port with its own run_id and shuts it
down (and the worker) before the next run. ``REF_LOG=DEBUG`` shows hpbandster's own log. With one
worker the runs are deterministic for a seed (checked: seeds 0 and 1 give the same cells twice).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")  # NB201 order
EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")  # official string order
DATASETS = ("cifar10", "cifar100", "imagenet16_120")
BIG_LOSS = 100.0


def load_tables(data_dir: Path) -> tuple[dict[str, int], np.ndarray, pd.DataFrame]:
    """arch_str -> index, 12-epoch cifar10 validation (by index), 200-epoch test table."""
    test = pd.read_csv(data_dir / "nb201" / "nb201_test_acc_200ep.csv", index_col="nb201_index")
    ep12 = pd.read_csv(data_dir / "nb201" / "nb201_acc_12ep.csv", index_col="nb201_index")
    assert (test.index == np.arange(15625)).all() and (ep12.index == np.arange(15625)).all()
    arch2idx = {a: int(i) for i, a in test["arch_str"].items()}
    val12 = ep12["cifar10_val"].to_numpy(dtype=float)
    return arch2idx, val12, test


def config_to_arch(config: dict[str, Any]) -> str:
    c = {k: str(v) for k, v in config.items()}
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*(c[e] for e in EDGES))


def make_space(seed: int) -> Any:
    import ConfigSpace

    cs = ConfigSpace.ConfigurationSpace(seed=seed)
    cs.add_hyperparameters([ConfigSpace.CategoricalHyperparameter(e, list(OPS)) for e in EDGES])
    return cs


def one_run(
    seed: int, limit: int, count: str, arch2idx: dict[str, int], val12: np.ndarray, max_iter: int
) -> dict[str, Any]:
    import hpbandster.core.nameserver as hpns
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers.bohb import BOHB

    class TableWorker(Worker):
        """The paper's worker: ignores the budget, returns 100 - 12-epoch validation accuracy."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.calls: list[tuple[int, float, float]] = []  # (index, budget, val) within budget
            self.n_calls = 0
            self.seen: set[int] = set()
            self.spent = 0

        def compute(self, config: dict[str, Any], budget: float, **kwargs: Any) -> dict[str, Any]:
            idx = arch2idx[config_to_arch(config)]
            self.n_calls += 1
            cost = 1 if (count == "calls" or idx not in self.seen) else 0
            if self.spent + cost > limit:
                return {"loss": BIG_LOSS, "info": {"index": idx, "over_budget": True}}
            self.spent += cost
            self.seen.add(idx)
            self.calls.append((idx, float(budget), float(val12[idx])))
            return {"loss": 100.0 - float(val12[idx]), "info": {"index": idx}}

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (hpbandster's BOHB draws from the global numpy RNG)
    run_id = f"nb201ref-{count}-{seed}"
    ns = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=0)
    ns_host, ns_port = ns.start()
    worker = TableWorker(nameserver=ns_host, nameserver_port=ns_port, run_id=run_id, id=0)
    worker.run(background=True)
    bohb = BOHB(
        configspace=make_space(seed),
        run_id=run_id,
        eta=3,
        min_budget=12,
        max_budget=200,
        nameserver=ns_host,
        nameserver_port=ns_port,
        num_samples=4,
        random_fraction=0.0,
        bandwidth_factor=3,
        min_bandwidth=0.3,
        ping_interval=10,
    )
    t0 = time.time()
    n_iter = 0
    try:
        while worker.spent < limit and n_iter < max_iter:
            result = bohb.run(n_iterations=1, min_n_workers=1)
            n_iter += 1
    finally:
        bohb.shutdown(shutdown_workers=True)
        ns.shutdown()
    wall = time.time() - t0

    id2conf = result.get_id2config_mapping()
    inc_id = result.get_incumbent_id()
    inc_arch = config_to_arch(id2conf[inc_id]["config"])
    runs = result.get_all_runs()
    at_max = [r for r in runs if r.budget == 200 and r.loss is not None and r.loss < BIG_LOSS]
    picks = [v["config_info"].get("model_based_pick", False) for v in id2conf.values()]
    # project's rule: best 12-epoch validation among evaluated cells (first one on ties)
    best = max(range(len(worker.calls)), key=lambda i: (worker.calls[i][2], -i))
    return {
        "seed": seed,
        "count": count,
        "limit": limit,
        "iterations": n_iter,
        "worker_calls": worker.n_calls,
        "calls_in_budget": len(worker.calls),
        "distinct_cells": len(worker.seen),
        "configs_sampled": len(id2conf),
        "model_based_picks": int(sum(picks)),
        "evals_at_200_in_budget": len(at_max),
        "inc_index": arch2idx[inc_arch],
        "inc_val12": float(val12[arch2idx[inc_arch]]),
        "inc_loss": float(result.data[inc_id].results[200]["loss"]),
        "best_index": worker.calls[best][0],
        "best_val12": worker.calls[best][2],
        "wall_s": wall,
    }


def add_reported(df: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    for rule in ("inc", "best"):
        for ds in DATASETS:
            df[f"{rule}_{ds}_test"] = test[f"{ds}_test"].to_numpy()[df[f"{rule}_index"]]
    return df


def project_runs(runs_dir: Path, arch2idx: dict[str, int], test: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for f in sorted(runs_dir.rglob("run.json")):
        r = json.loads(f.read_text())
        idx = arch2idx[r["recommendation"]]
        row = {"seed": r["config"]["seed"], "reported": r["final_incumbent_reported"]}
        row.update({f"{ds}_test": float(test[f"{ds}_test"].iloc[idx]) for ds in DATASETS})
        rows.append(row)
    return pd.DataFrame(rows)


def compare(ref: pd.DataFrame, ours: pd.DataFrame) -> None:
    from scipy.stats import mannwhitneyu

    assert np.allclose(ours["reported"], ours["cifar10_test"], atol=1e-4)
    print(f"\nproject runs: {len(ours)}; reference runs: {len(ref)}")
    for ds in DATASETS:
        o = ours[f"{ds}_test"]
        print(f"{ds}: ours {o.mean():.2f} ± {o.std(ddof=1):.2f}")
        for rule, name in (("inc", "hpbandster incumbent"), ("best", "best evaluated")):
            x = ref[f"{rule}_{ds}_test"]
            p = mannwhitneyu(o, x, alternative="two-sided").pvalue
            print(f"  ref {name}: {x.mean():.2f} ± {x.std(ddof=1):.2f}  MWU p vs ours = {p:.3g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50, help="runs with seeds 0..N-1")
    ap.add_argument("--limit", type=int, default=100, help="evaluation budget")
    ap.add_argument("--count", choices=("calls", "distinct"), default="calls")
    ap.add_argument(
        "--cutoff-spread",
        type=int,
        default=0,
        help="W > 0: seed s stops at limit - W//2 + (s %% W), so the cutoff falls anywhere in a "
        "bracket (like the paper's time budget) instead of at a bracket's end",
    )
    ap.add_argument("--max-iterations", type=int, default=200, help="safety cap on brackets")
    ap.add_argument("--out", type=Path, default=Path("reference_bohb_runs.csv"))
    ap.add_argument("--compare", type=Path, help="project run directory (cifar10 runs)")
    ap.add_argument("--data-dir", type=Path, default=os.environ.get("NASH_DATA_DIR"))
    args = ap.parse_args()
    if args.data_dir is None:
        sys.exit("set NASH_DATA_DIR or pass --data-dir")
    logging.basicConfig(level=getattr(logging, os.environ.get("REF_LOG", "ERROR")))
    for name in ("hpbandster", "Pyro4"):
        logging.getLogger(name).setLevel(getattr(logging, os.environ.get("REF_LOG", "ERROR")))

    arch2idx, val12, test = load_tables(Path(args.data_dir))
    pkgs = ("hpbandster", "ConfigSpace", "statsmodels", "Pyro4", "serpent", "numpy", "scipy")
    print("versions:", {p: metadata.version(p) for p in pkgs}, "python", sys.version.split()[0])
    rows = []
    for seed in range(args.seeds):
        spread = args.cutoff_spread
        limit = args.limit - spread // 2 + seed % spread if spread > 0 else args.limit
        r = one_run(seed, limit, args.count, arch2idx, val12, args.max_iterations)
        rows.append(r)
        print(
            f"seed {seed}: limit {limit} calls {r['worker_calls']} distinct {r['distinct_cells']} "
            f"at200 {r['evals_at_200_in_budget']} inc {r['inc_index']} best {r['best_index']} "
            f"{r['wall_s']:.1f}s",
            flush=True,
        )
    df = add_reported(pd.DataFrame(rows), test)
    df.to_csv(args.out, index=False)
    print(f"wrote {args.out}")
    for rule in ("inc", "best"):
        x = df[f"{rule}_cifar10_test"]
        print(f"{rule}: cifar10 test {x.mean():.2f} ± {x.std(ddof=1):.2f}")
    if args.compare is not None:
        compare(df, project_runs(args.compare, arch2idx, test))


if __name__ == "__main__":
    main()
