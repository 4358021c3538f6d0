"""``run_search``: the only search loop in the harness.

It asks the strategy, evaluates through the evaluator, tells the strategy an Observation (no test
metric) and records one :class:`Trial` per query. Repeated queries follow DESIGN.md section 4:
a query of a (cell, fidelity, training seed) already evaluated in this run is answered from the
run's cache and costs nothing (a real harness would not retrain it), unless ``count_repeats``
charges it as the reference study did. Both counts are in every row, so every verdict can be
given under both accountings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.errors import ConfigError, NashError
from harness.evaluators._base import Evaluator
from harness.records import STATUS_FAILED, Cost, EvalResult, Observation
from harness.strategies._base import Strategy


@dataclass(frozen=True, slots=True)
class Budget:
    """When a run stops: the first limit reached. At least one limit must be set.

    ``evaluations``: charged full evaluations (repeats free unless ``count_repeats``);
    ``distinct``: distinct cells evaluated; ``train_s``: charged training seconds (only where the
    benchmark records them, or real training measures them); ``wall_s``: wall-clock seconds;
    ``queries``: all queries including free repeats (also a safety cap: a converged evolution
    with free repeats would otherwise never spend its budget).
    """

    evaluations: int | None = None
    distinct: int | None = None
    train_s: float | None = None
    wall_s: float | None = None
    queries: int | None = None

    def __post_init__(self) -> None:
        vals = {k: v for k, v in asdict(self).items() if v is not None}
        for k, v in vals.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ConfigError(f"budget {k} must be a positive number, got {v!r}")
        if not vals:
            raise ConfigError(
                "a budget needs at least one limit: evaluations, distinct, train_s, wall_s "
                "or queries"
            )

    def reached(self, tally: _Tally) -> str | None:
        """The name of the first limit reached, or None."""
        if self.evaluations is not None and tally.evals >= self.evaluations:
            return "evaluations"
        if self.distinct is not None and len(tally.distinct) >= self.distinct:
            return "distinct"
        if self.train_s is not None and tally.train_s >= self.train_s:
            return "train_s"
        if self.wall_s is not None and tally.wall_s >= self.wall_s:
            return "wall_s"
        return None

    def default_query_cap(self) -> int:
        base = self.evaluations or self.distinct or 10_000
        return self.queries or int(max(100 * base, 100_000))


@dataclass(frozen=True, slots=True)
class Trial:
    """One query of a run, as stored (the test metric is here, for reporting only)."""

    step: int
    arch: str
    cell: str
    arch_key: str
    signal: float
    val: float
    test: float
    fidelity: int | None
    eval_seed: int
    repeat: bool
    charged_full: int
    charged_proxy: int
    train_s: float
    measured_s: float
    cum_evals: int
    cum_queries: int
    cum_distinct: int
    cum_train_s: float
    cum_measured_s: float
    wall_s: float
    status: str
    reason: str
    incumbent_signal: float
    incumbent_test: float
    incumbent_step: int
    phase: str = "search"
    extras: dict[str, float] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        extras = row.pop("extras")
        row.update({f"x_{k}": v for k, v in extras.items()})
        return row


@dataclass
class RunResult:
    trials: list[Trial]
    stopped_by: str
    recommendation: Hashable | None

    @property
    def final(self) -> Trial | None:
        return self.trials[-1] if self.trials else None


class _Tally:
    """Cumulative costs and the incumbent of one run; turns each evaluation into a Trial."""

    def __init__(self, space: Any, clock: Callable[[], float]) -> None:
        self.space, self.clock, self.t0 = space, clock, clock()
        self.trials: list[Trial] = []
        self.distinct: set[str] = set()
        self.evals = 0
        self.train_s = 0.0
        self.measured_s = 0.0
        self.wall_s = 0.0
        self.inc_signal, self.inc_test, self.inc_step = -math.inf, math.nan, -1

    def record(
        self,
        arch: Hashable,
        key: str,
        res: EvalResult,
        *,
        eval_seed: int,
        repeat: bool,
        charge: bool,
        phase: str = "search",
    ) -> Trial:
        step = len(self.trials)
        c_full = res.cost.n_full if charge else 0
        c_proxy = res.cost.n_proxy if charge else 0
        train_s = res.cost.train_s if charge else 0.0
        measured_s = res.cost.measured_s if charge else 0.0
        self.evals += c_full
        if math.isfinite(train_s):
            self.train_s += train_s
        self.measured_s += measured_s
        if phase == "search":
            self.distinct.add(key)
            if res.ok and res.signal > self.inc_signal:
                self.inc_signal, self.inc_test, self.inc_step = res.signal, res.test, step
        self.wall_s = self.clock() - self.t0
        trial = Trial(
            step=step,
            arch=self.space.to_str(arch),
            cell=self.space.cell_str(arch),
            arch_key=key,
            signal=res.signal,
            val=res.val,
            test=res.test,
            fidelity=res.fidelity,
            eval_seed=eval_seed,
            repeat=repeat,
            charged_full=c_full,
            charged_proxy=c_proxy,
            train_s=train_s,
            measured_s=measured_s,
            cum_evals=self.evals,
            cum_queries=step + 1,
            cum_distinct=len(self.distinct),
            cum_train_s=self.train_s,
            cum_measured_s=self.measured_s,
            wall_s=self.wall_s,
            status=res.status,
            reason=res.reason,
            incumbent_signal=self.inc_signal,
            # the final phase reports the trained answer's own test accuracy
            incumbent_test=res.test if phase == "final" else self.inc_test,
            incumbent_step=self.inc_step,
            phase=phase,
            extras=dict(res.extras),
        )
        self.trials.append(trial)
        return trial


def _check_budget(budget: Budget, evaluator: Evaluator) -> None:
    if budget.train_s is not None and not evaluator.records_train_time:
        raise ConfigError(
            f"a budget in training seconds needs recorded training times, which "
            f"{evaluator.describe().get('benchmark', type(evaluator).__name__)} does not have "
            "(the shipped NB201 tables record none); use an evaluations budget instead"
        )


def run_search(
    strategy: Strategy,
    evaluator: Evaluator,
    budget: Budget,
    *,
    seed: int = 0,
    count_repeats: bool = False,
    fidelity: int | None = None,
    query_seeds: int = 1,
    on_trial: Callable[[Trial], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    final_evaluator: Evaluator | None = None,
) -> RunResult:
    """Run one search until the budget is spent or the strategy is finished.

    Args:
        seed: seeds the loop's own generator (only used to draw training seeds when
            ``query_seeds > 1``); the strategy has its own generator.
        final_evaluator: evaluates the strategy's recommendation once after the search (one
            training, always charged), recorded as a trial with ``phase="final"``. This is how a
            zero-cost search pays for the accuracy of the cell it picks.
        count_repeats: charge repeated queries (the reference study's accounting).
        query_seeds: each query trains with a seed drawn uniformly from ``range(query_seeds)``
            (NB201 has 3 training seeds; with the noise model this imitates "one random seed per
            query"). 1 = always seed 0, so a repeat is always a cache hit.
    """
    _check_budget(budget, evaluator)
    if query_seeds < 1:
        raise ConfigError(f"query_seeds must be >= 1, got {query_seeds}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    space = strategy.space
    cache: dict[tuple[str, int | None, int], EvalResult] = {}
    tally = _Tally(space, clock)
    stopped_by = "queries"
    for _ in range(budget.default_query_cap()):
        if strategy.finished:
            stopped_by = "strategy finished"
            break
        arch = strategy.ask()
        key = space.canonical(arch)
        f = fidelity if fidelity is not None else evaluator.default_fidelity
        qseed = int(rng.integers(query_seeds)) if query_seeds > 1 else 0
        ck = (key, f, qseed)
        hit = cache.get(ck)
        if hit is None:
            try:
                res = evaluator.evaluate(arch, fidelity=f, seed=qseed)
            except NashError:
                raise  # a configuration mistake (e.g. a cell outside the benchmark): stop
            except Exception as e:  # a failed evaluation is recorded; the search goes on
                res = EvalResult(
                    signal=math.nan, cost=Cost(), status=STATUS_FAILED, reason=repr(e)
                )
            cache[ck] = res
        else:
            res = hit
        trial = tally.record(
            arch,
            key,
            res,
            eval_seed=qseed,
            repeat=hit is not None,
            charge=hit is None or count_repeats,
        )
        if on_trial is not None:
            on_trial(trial)
        strategy.tell(Observation(arch=arch, signal=res.signal, fidelity=res.fidelity, ok=res.ok))
        stop = budget.reached(tally)
        if stop:
            stopped_by = stop
            break
    rec = strategy.recommend()
    if final_evaluator is not None and rec is not None:
        res = final_evaluator.evaluate(rec)
        tally.record(
            rec, space.canonical(rec), res, eval_seed=0, repeat=False, charge=True, phase="final"
        )
    trials = tally.trials
    return RunResult(trials=trials, stopped_by=stopped_by, recommendation=rec)
