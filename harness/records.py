"""Immutable records passed between evaluators, the run loop, strategies and storage.

The split between :class:`EvalResult` and :class:`Observation` is the project's guarantee that
test accuracy never reaches a search strategy: a strategy's ``tell`` receives Observations, which
have no test field at all. Only the run loop sees an EvalResult, and it copies the reported
metric (the benchmark's ``report_metric``: test accuracy where the benchmark has one, the
validation accuracy on NB101, which ships none) into the stored rows for reporting.

Sign convention: ``signal`` is *maximised* (validation accuracy in percent, or a zero-cost
score). NAS papers speak in accuracies; a single convention avoids sign bugs.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

Arch = Hashable
"""An architecture as a search space represents it (hashable, immutable)."""

STATUS_OK = "ok"
STATUS_FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Cost:
    """What one evaluation cost.

    Recorded and measured seconds are kept apart, because a cached answer costs the machine
    nothing now but stands for work that was paid for once. ``n_full`` counts full evaluations
    (trainings) charged, ``n_proxy`` zero-cost scorings; ``train_s`` is the training time on
    record (the benchmark's, or the training cache's; NaN where none is recorded, as for NB201's
    shipped tables); ``score_s`` the seconds a zero-cost score took when it was computed (now,
    or as recorded in a score table or cache; NaN where unknown); ``measured_s`` the seconds this
    call spent on this machine (0 for an answer read from a table or cache).
    """

    n_full: int = 0
    n_proxy: int = 0
    train_s: float = math.nan
    measured_s: float = 0.0
    score_s: float = math.nan


@dataclass(frozen=True, slots=True)
class EvalResult:
    """The result of one evaluation. Only the run loop and reporting code read ``reported``.

    ``reported`` is the value of the benchmark's reported metric (its name is in the
    evaluator's ``describe()["report_metric"]``, e.g. ``test_acc@200``, or ``val_acc@108`` on
    NB101), so that a column called "test" never holds validation accuracy.
    """

    signal: float
    cost: Cost
    fidelity: int | None = None
    val: float = math.nan
    reported: float = math.nan
    status: str = STATUS_OK
    reason: str = ""
    extras: Mapping[str, float] = field(default_factory=dict)
    #: search objectives (see :mod:`harness.evaluators.objectives`), each oriented so that
    #: larger is better (minimised metrics negated); empty for single-objective runs
    objectives: tuple[float, ...] = ()
    #: how far the declared constraints are exceeded (0: feasible), in units of each bound
    violation: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK and math.isfinite(self.signal)


@dataclass(frozen=True, slots=True)
class Observation:
    """What a strategy is told about an architecture it asked for. No test metric, by design."""

    arch: Any
    signal: float
    fidelity: int | None = None
    ok: bool = True
    #: the objective vector, larger is better in every component (empty: one objective)
    objectives: tuple[float, ...] = ()
    #: constraint violation (0: feasible)
    violation: float = 0.0
