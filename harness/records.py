"""Immutable records passed between evaluators, the run loop, strategies and storage.

The split between :class:`EvalResult` and :class:`Observation` is the project's guarantee that
test accuracy never reaches a search strategy: a strategy's ``tell`` receives Observations, which
have no test field at all. Only the run loop sees an EvalResult, and it copies the test metric
into the stored rows for reporting.

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

    ``n_full`` counts full evaluations (trainings) charged, ``n_proxy`` zero-cost scorings;
    ``train_s`` is the training time the benchmark recorded (NaN where it recorded none, as for
    NB201's shipped tables), ``measured_s`` seconds measured on this machine (real training or
    scoring).
    """

    n_full: int = 0
    n_proxy: int = 0
    train_s: float = math.nan
    measured_s: float = 0.0


@dataclass(frozen=True, slots=True)
class EvalResult:
    """The result of one evaluation. Only the run loop and reporting code read ``test``."""

    signal: float
    cost: Cost
    fidelity: int | None = None
    val: float = math.nan
    test: float = math.nan
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
