"""``nash dev zero-cost``: the low-level command line that computes the NB201 score table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ConfigError, InvalidArchitecture
from harness.evaluators.zero_cost.tables import compute_nb201_table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="nash dev zero-cost",
        description="Compute the committed NB201 NASWOT score table (resumable).",
    )
    p.add_argument("--compute-nb201", action="store_true", required=True)
    p.add_argument("--images", default="cifar10")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scope", default="classes", choices=("classes", "all"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    try:
        t = compute_nb201_table(
            images=args.images,
            batch_size=args.batch_size,
            seed=args.seed,
            num_threads=args.threads,
            scope=args.scope,
            limit=args.limit,
            max_seconds=args.max_seconds,
            path=args.out,
        )
    except (ConfigError, InvalidArchitecture) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{t.path}: {len(t.rows)} cells, {t.meta.get('n_classes')} classes")
    return 0
