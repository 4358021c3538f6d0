"""Rows before and after a loop change: write a fixed set of runs, or compare two sets.

Why: a speed change to the run loop, the trial log or the genome operations must not change a
single stored value. ``--write DIR`` runs a fixed grid of direct ``run_search`` calls (every
strategy family the loop serves: the study GA, the native GA, aging evolution sequential and
asynchronous, random search, NAS-EA-FA V2 with XGBoost and GCN, the Neural Predictor, local
search, multi-fidelity; NB201 and the NB101-30k pool; ``count_repeats`` on and off; several
training seeds) and writes each run's rows as Parquet; ``--compare A B`` compares every
``*.parquet`` under A with the same path under B, on every column but the timings, values and
dtypes. It also compares two ``nash reproduce`` output directories.

Run: ``python bench/check_rows.py --write /tmp/rows_before`` (before the change), the same to
another directory after it, then ``python bench/check_rows.py --compare /tmp/rows_before
/tmp/rows_after``; exit status 1 on any difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: columns that measure this machine (they differ between any two runs)
TIMING_COLUMNS = frozenset({"wall_s", "measured_s", "cum_measured_s", "elapsed"})

#: (label, strategy, params, space, benchmark, fidelity, count_repeats, budget, workers, seeds)
GRID: list[tuple[str, str, dict[str, Any], str, str, int | None, bool, int, int, int]] = [
    ("ga_study_cr", "genetic_study", {}, "nb201-study-genome", "nb201", 200, True, 3000, 1, 1),
    ("ga_study", "genetic_study", {}, "nb201-study-genome", "nb201", 200, False, 1500, 1, 1),
    ("ga_native", "genetic", {}, "nb201", "nb201", None, False, 800, 1, 1),
    ("ga_native_qs3", "genetic", {}, "nb201", "nb201", None, True, 600, 1, 3),
    ("rea", "aging_evolution", {}, "nb201", "nb201", None, False, 400, 1, 1),
    ("rea_cr", "aging_evolution", {}, "nb201", "nb201", None, True, 400, 1, 1),
    (
        "rea_w4_nb101",
        "aging_evolution_nb101",
        {},
        "nb101-30k-pool",
        "nb101-30k",
        108,
        False,
        200,
        4,
        1,
    ),
    ("rs", "random_search", {}, "nb201", "nb201", None, False, 300, 1, 1),
    ("rs_dedup", "random_search", {"dedup": True}, "nb201", "nb201", None, False, 300, 1, 1),
    ("rs_nb101", "random_search", {}, "nb101-30k-pool", "nb101-30k", 108, False, 300, 1, 1),
    ("nasea_xgb", "nas_ea_fa_v2_thesis", {}, "nb201-study-genome", "nb201", 200, True, 300, 1, 1),
    (
        "nasea_gcn",
        "nas_ea_fa_v2_thesis_gcn",
        {},
        "nb201-study-genome",
        "nb201",
        200,
        True,
        200,
        1,
        1,
    ),
    ("np_nb201", "neural_predictor_nb201", {}, "nb201", "nb201", None, False, 100, 1, 1),
    ("ls", "local_search", {}, "nb201", "nb201", None, False, 300, 1, 1),
    ("hyperband", "hyperband", {}, "nb201", "nb201", 200, False, 60, 1, 1),
    ("asha_w4", "asha", {}, "nb101-30k-pool", "nb101-30k", 108, False, 60, 4, 1),
]


def write(out: Path) -> None:
    import numpy as np
    import pandas as pd

    from harness import strategies
    from harness.evaluators.tabular import TabularEvaluator
    from harness.runner.loop import Budget, run_search
    from harness.spaces import make_space

    for label, name, params, space_name, bench, fidelity, cr, budget, workers, qs in GRID:
        for seed in (0, 1):
            space = make_space(space_name, None)
            ev = TabularEvaluator(bench, "cifar10", space=space, fidelity=fidelity)
            s = strategies.create(name, space, seed=np.random.SeedSequence([seed]), **params)
            res = run_search(
                s,
                ev,
                Budget(evaluations=budget),
                seed=seed,
                count_repeats=cr,
                workers=workers,
                query_seeds=qs,
            )
            p = out / f"{label}_s{seed}.parquet"
            p.parent.mkdir(parents=True, exist_ok=True)
            lead = {"stopped_by": res.stopped_by, "recommendation": str(res.recommendation)}
            direct = getattr(res.trials, "to_parquet", None)  # the writer runs use now
            if direct is not None:
                p.write_bytes(direct(lead))
                df = pd.read_parquet(p)
            else:
                frame = getattr(res.trials, "to_frame", None)
                df = frame() if frame else pd.DataFrame([t.to_row() for t in res.trials])
                df = pd.concat([pd.DataFrame(lead, index=df.index), df], axis=1)
                df.to_parquet(p, index=False)
            print(f"{label} seed {seed}: {len(df)} rows, stopped by {res.stopped_by}")


def compare(a: Path, b: Path) -> int:
    import pandas as pd

    files = sorted(p.relative_to(a) for p in a.rglob("*.parquet"))
    if not files:
        print(f"no parquet files under {a}")
        return 1
    bad = 0
    for rel in files:
        pb = b / rel
        if not pb.is_file():
            print(f"MISSING {rel}")
            bad += 1
            continue
        da, db = pd.read_parquet(a / rel), pd.read_parquet(pb)
        # the same columns, in any order (this script once wrote its own two columns last)
        keep = sorted(c for c in da.columns if c not in TIMING_COLUMNS)
        if keep != sorted(c for c in db.columns if c not in TIMING_COLUMNS):
            print(f"COLUMNS {rel}: {list(da.columns)} != {list(db.columns)}")
            bad += 1
            continue
        try:
            pd.testing.assert_frame_equal(da[keep], db[keep], check_exact=True)
        except AssertionError as e:
            print(f"DIFF {rel}: {str(e)[:300]}")
            bad += 1
    print(f"{len(files)} files compared, {bad} differ")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path, metavar="DIR")
    g.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"))
    args = ap.parse_args()
    if args.write:
        write(args.write)
    else:
        sys.exit(compare(*args.compare))


if __name__ == "__main__":
    main()
