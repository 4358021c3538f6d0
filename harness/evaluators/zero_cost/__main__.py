"""``python -m harness.evaluators.zero_cost``: the same as ``nash dev zero-cost``."""

import os

from harness.evaluators.zero_cost.jobs import main

if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
