"""What an evaluation at a chosen fidelity costs, and when a cell may continue to a higher one.

A strategy may propose a cell together with a fidelity (:class:`~harness.strategies._base.
Proposal`). The run loop charges it in two currencies, both written in every row:

- **full-evaluation equivalents** (``cost_frac``, cumulative ``cum_cost``; what an
  ``evaluations`` budget counts): an evaluation at ``f`` epochs costs ``f / F`` of one at the
  run's full fidelity ``F`` (the run's ``fidelity`` or the evaluator's default). Training cost is
  taken to grow linearly with epochs; that is a declared model, not a measurement.
- **training seconds** (``train_s``, what a ``train_s`` budget and the simulated asynchronous
  clock use): the seconds the benchmark recorded for that fidelity where it has them. The shipped
  NB101 table records training time only at 108 epochs, so a lower fidelity of a table that
  records times is charged ``f / F`` of the cell's recorded full-fidelity time (the same linear
  model), and the row says so (``x_train_s_modelled = 1``). NB201's shipped tables record no
  times at all (seconds stay NaN there).

**Continuation.** Training a cell at 12 epochs and then at 36 costs the difference only where the
benchmark's lower fidelity is a prefix of the higher one's training (a learning curve). An
evaluator says so with ``continues_fidelities = True``. Neither shipped benchmark does: NB101's
4/12/36/108 epochs are separate trainings, each with its own cosine schedule, and NB201's 12 and
200 epochs are separate schedules too, so each evaluation there is charged in full.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from harness.evaluators._base import Evaluator
from harness.records import EvalResult

COST_MODEL = "linear in epochs: an evaluation at f epochs costs f / F full evaluations"


def continues(evaluator: Evaluator) -> bool:
    """Whether ``evaluator`` declares lower fidelities to be prefixes of higher ones."""
    return getattr(evaluator, "continues_fidelities", False) is True


def cost_fraction(fidelity: int | None, full: int | None) -> float:
    """Full-evaluation equivalents of one evaluation at ``fidelity`` (see the module doc)."""
    if fidelity is None or full is None or fidelity == full:
        return 1.0
    return fidelity / full


def accounting(evaluator: Evaluator, full: int | None) -> dict[str, Any]:
    """The cost model of a multi-fidelity run, for its manifest."""
    return {
        "full_fidelity": full,
        "cost_model": COST_MODEL.replace("F", str(full)),
        "train_s": "recorded where the benchmark has the fidelity's time, else f/F of the "
        "recorded full-fidelity time (x_train_s_modelled)"
        if evaluator.records_train_time
        else "not recorded by this benchmark",
        "continuation": "lower fidelities continue into higher ones: the difference is charged"
        if continues(evaluator)
        else "none: each fidelity is a separate training, charged in full",
    }


class ModelledTimes(Evaluator):
    """Wrap an evaluator that records training times only at the full fidelity.

    A result at a lower fidelity without a recorded time gets ``f / F`` of the cell's recorded
    full-fidelity time, so a seconds budget and the simulated asynchronous clock work for
    multi-fidelity searches; the row is marked ``x_train_s_modelled = 1``. For a table the extra
    full-fidelity query is a free lookup.
    """

    def __init__(self, inner: Evaluator, full: int) -> None:
        self.inner, self.full = inner, full
        self.space = inner.space
        self.records_train_time = inner.records_train_time
        self.default_fidelity = inner.default_fidelity
        self.fidelities = inner.fidelities
        self.is_proxy = inner.is_proxy
        self.continues_fidelities = continues(inner)

    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        res = self.inner.evaluate(arch, fidelity=fidelity, seed=seed)
        f = fidelity if fidelity is not None else self.default_fidelity
        if math.isfinite(res.cost.train_s) or f is None or f == self.full or not res.ok:
            return res
        t_full = self.inner.evaluate(arch, fidelity=self.full, seed=seed).cost.train_s
        if not math.isfinite(t_full):
            return res
        return replace(
            res,
            cost=replace(res.cost, train_s=t_full * f / self.full),
            extras={**res.extras, "train_s_modelled": 1.0},
        )

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()
