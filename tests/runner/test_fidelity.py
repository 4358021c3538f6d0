"""Fidelity chosen by the strategy: accounting, continuation, bad input, unchanged old rows."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from harness import strategies
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.loop import Budget, run_search
from harness.spaces.nb101_pool import NB101PoolSpace

# Digests of the rows (columns that existed before fidelity proposals) of runs computed with the
# loop as it was before them: plain strategies must give exactly the same rows.
_COLS = ["step", "arch", "signal", "fidelity", "repeat", "charged_full", "cum_evals",
         "cum_queries", "cum_distinct", "cum_train_s", "incumbent_signal", "incumbent_test",
         "clock_s", "worker"]  # fmt: skip
_GOLDEN = {
    ("nb201", "cifar10", None, "random_search", 1): "b568f25bfb047f89",
    ("nb201", "cifar10", None, "aging_evolution", 1): "0f8d079963880463",
    ("nb201", "cifar10", None, "local_search", 1): "296c553171868fde",
    ("nb201", "cifar10", None, "reinforce", 1): "7e1740d49eaa0351",
    ("nb201", "cifar100", 12, "aging_evolution", 1): "9559170ab709b04f",
    ("nb101-30k", "cifar10", None, "random_search", 1): "b6b78381c0b1af85",
    ("nb101-30k", "cifar10", None, "aging_evolution_nb101", 4): "f5225a47b9b59f2c",
}


@pytest.mark.parametrize("case", sorted(_GOLDEN, key=str), ids=lambda c: f"{c[0]}-{c[3]}")
def test_plain_strategies_give_the_rows_they_gave_before(case):
    bench, ds, f, name, workers = case
    space = NB101PoolSpace() if bench != "nb201" else None
    ev = TabularEvaluator(bench, ds, fidelity=f, space=space)
    s = strategies.create(name, ev.space, seed=np.random.SeedSequence([7]))
    res = run_search(s, ev, Budget(evaluations=60), workers=workers)
    rows = [[repr(t.to_row()[c]) for c in _COLS] for t in res.trials]
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16] == _GOLDEN[case]
    # the new columns: one full evaluation per charged query
    assert all(t.cost_frac == t.charged_full for t in res.trials)
    assert res.trials[-1].cum_cost == res.trials[-1].cum_evals
