"""``run_search``: the only search loop in the harness.

It asks the strategy, evaluates through the evaluator, tells the strategy an Observation (no test
metric) and records one :class:`Trial` per query. Repeated queries (evolution re-proposes them):
a query of a (cell, fidelity, training seed) already evaluated in this run is answered from the
run's cache and costs nothing (a real harness would not retrain it), unless ``count_repeats``
charges it as the reference study did. Both counts are in every row, so every verdict can be
given under both accountings.

A strategy may choose the fidelity of each query (:class:`~harness.strategies._base.Proposal`);
what that costs, and when a cell continues from a lower fidelity, is in
:mod:`harness.runner.fidelity`. Every row carries ``cost_frac`` (full-evaluation equivalents
charged) and ``cum_cost``; an ``evaluations`` budget counts ``cum_cost``. The incumbent is the
best signal at the run's full fidelity (lower-fidelity signals are not comparable with it).
"""

from __future__ import annotations

import io
import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, overload

import numpy as np

from harness.errors import ConfigError
from harness.evaluators._base import Evaluator
from harness.records import EvalResult, Observation
from harness.runner import fidelity as fid
from harness.runner.executors import Executor, SimulatedExecutor
from harness.strategies._base import Strategy, unwrap


@dataclass(frozen=True, slots=True)
class Budget:
    """When a run stops: the first limit reached. At least one limit must be set.

    ``evaluations``: charged full-evaluation equivalents (repeats free unless
    ``count_repeats``; a lower-fidelity evaluation is a fraction, :mod:`harness.runner.fidelity`);
    ``distinct``: distinct cells evaluated; ``train_s``: charged training seconds (only where the
    benchmark records them, or real training measures them); ``wall_s``: wall-clock seconds;
    ``queries``: all queries including free repeats (also a safety cap: a converged evolution
    with free repeats would otherwise never spend its budget).
    """

    evaluations: float | None = None
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
        if self.evaluations is not None and tally.cost >= self.evaluations - _EPS:
            return "evaluations"
        if self.distinct is not None and len(tally.distinct) >= self.distinct:
            return "distinct"
        if self.train_s is not None and tally.train_s >= self.train_s:
            return "train_s"
        if self.wall_s is not None and tally.wall_s >= self.wall_s:
            return "wall_s"
        return None

    def default_query_cap(self) -> int:
        """The safety cap on queries when none is set (see the class doc)."""
        base = self.evaluations or self.distinct or 10_000
        return self.queries or int(max(100 * base, 100_000))


#: the layout of stored trial rows; a run written in another layout is recomputed, not misread
#: (2: the reported metric's value is ``reported``, not ``test``; ``score_s`` apart from
#: ``measured_s``)
ROWS_FORMAT = 2


@dataclass(frozen=True, slots=True)
class Trial:
    """One query of a run, as stored (the reported metric is here, for reporting only).

    ``reported`` holds the value of the run's reported metric (its name in the run manifest's
    ``evaluator.report_metric``); ``train_s`` / ``score_s`` are seconds on record, charged;
    ``measured_s`` the seconds this machine spent.
    """

    step: int
    arch: str
    cell: str
    arch_key: str
    signal: float
    val: float
    reported: float
    fidelity: int | None
    eval_seed: int
    repeat: bool
    charged_full: int
    charged_proxy: int
    train_s: float
    score_s: float
    measured_s: float
    cum_evals: int
    cum_queries: int
    cum_distinct: int
    cum_train_s: float
    cum_score_s: float
    cum_measured_s: float
    wall_s: float
    status: str
    reason: str
    incumbent_signal: float
    incumbent_reported: float
    incumbent_step: int
    phase: str = "search"
    extras: dict[str, float] = field(default_factory=dict)
    #: the run's evaluation clock when the result arrived: simulated seconds (recorded training
    #: times, ``workers`` in parallel) or, on Ray, measured seconds since the run started
    clock_s: float = math.nan
    #: the worker slot that evaluated it (-1: answered from the run's cache; final phase: -1)
    worker: int = -1
    #: full-evaluation equivalents charged for this query (harness.runner.fidelity) and their sum
    cost_frac: float = math.nan
    cum_cost: float = math.nan
    #: the lower fidelity this evaluation continued from (-1: trained from scratch)
    resumed_from: int = -1

    def to_row(self) -> dict[str, Any]:
        """The stored row: every field but ``extras``, then the extras under their columns."""
        row = {name: getattr(self, name) for name in ROW_FIELDS}
        row.update(_extra_columns(self.extras))
        return row


#: the row columns of a Trial, in stored order (the extras follow, see :func:`_extra_columns`)
ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Trial) if f.name != "extras")


def _extra_columns(extras: Mapping[str, float]) -> dict[str, float]:
    # objective values keep their own column name (obj_<metric>); other extras get x_
    return {(k if k.startswith("obj_") else f"x_{k}"): v for k, v in extras.items()}


class TrialLog(Sequence[Trial]):
    """A run's trials as rows of plain values, turned into columns when stored.

    Why: building a :class:`Trial` per query and converting it with ``dataclasses.asdict`` took
    most of a cheap run's time. The loop appends one tuple of the row's values (in
    :data:`ROW_FIELDS` order) and the query's extras; :meth:`to_frame` gives the stored columns
    (the same values and dtypes as a frame of ``Trial.to_row`` dicts), and indexing or iterating
    still gives :class:`Trial` objects, built on demand, for the code that reads them.
    """

    __slots__ = ("_extras", "_rows")

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._extras: list[Mapping[str, float]] = []

    def append(self, row: tuple[Any, ...], extras: Mapping[str, float]) -> None:
        self._rows.append(row)
        self._extras.append(extras)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> Trial: ...
    @overload
    def __getitem__(self, i: slice) -> list[Trial]: ...
    def __getitem__(self, i: int | slice) -> Trial | list[Trial]:
        if isinstance(i, slice):
            return [self._trial(j) for j in range(*i.indices(len(self._rows)))]
        if i < 0:
            i += len(self._rows)
        if not 0 <= i < len(self._rows):
            raise IndexError("trial index out of range")
        return self._trial(i)

    def __iter__(self) -> Iterator[Trial]:
        return (self._trial(j) for j in range(len(self._rows)))

    def _trial(self, j: int) -> Trial:
        return Trial(
            **dict(zip(ROW_FIELDS, self._rows[j], strict=True)), extras=dict(self._extras[j])
        )

    def column(self, name: str) -> list[Any]:
        """One stored column's values, in query order (without building Trials)."""
        if name in ROW_FIELDS:
            k = ROW_FIELDS.index(name)
            return [r[k] for r in self._rows]
        return [_extra_columns(e).get(name, math.nan) for e in self._extras]

    def columns(self) -> dict[str, list[Any]]:
        """The stored columns in order: the row fields, then each extras column in order of
        first appearance (NaN where a query lacks it), as a frame of row dicts has them."""
        if not self._rows:
            return {}
        cols: dict[str, list[Any]] = {
            name: list(values)
            for name, values in zip(ROW_FIELDS, zip(*self._rows, strict=True), strict=True)
        }
        renamed = [_extra_columns(e) if e else {} for e in self._extras]
        names: dict[str, None] = {}
        for e in renamed:
            names.update(dict.fromkeys(e))
        for name in names:
            cols[name] = [e.get(name, math.nan) for e in renamed]
        return cols

    def to_frame(self) -> Any:
        """The stored rows as a pandas DataFrame (see :meth:`columns`)."""
        import pandas as pd

        return pd.DataFrame(self.columns()) if self._rows else pd.DataFrame([])

    def to_parquet(self, leading: Mapping[str, Any] | None = None) -> bytes:
        """The stored rows as Parquet bytes, ``leading`` constant columns first.

        Why: building a pandas frame only to hand it to pyarrow cost a cheap run more than its
        search (about 5 ms per run); pyarrow reads the column lists directly. Read back, the
        columns have the values and dtypes the pandas path gave (NaN stored as null, as pandas
        stores it); a test compares the two on real runs.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = self.columns()
        if not cols:  # no queries: the frame path keeps the empty layout readers expect
            import pandas as pd

            empty = pd.DataFrame([])
            head = pd.DataFrame(dict(leading or {}), index=empty.index)
            frame = pd.concat([head, empty], axis=1)
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            return buf.getvalue()
        n = len(self._rows)
        arrays = {k: _arrow([v] * n) for k, v in (leading or {}).items()}
        arrays.update({k: _arrow(v) for k, v in cols.items()})
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table(arrays), sink)
        return bytes(sink.getvalue().to_pybytes())


def _arrow(values: list[Any]) -> Any:
    """One column as pyarrow stores it from pandas: a float column stays double even when all
    NaN, and its NaN are nulls."""
    import pyarrow as pa

    a = pa.array(values)
    if pa.types.is_floating(a.type):
        a = pa.array(np.asarray(values, dtype=np.float64), from_pandas=True)
    return a


@dataclass
class RunResult:
    trials: TrialLog
    stopped_by: str
    recommendation: Hashable | None
    #: the fidelity cost model of a multi-fidelity run (empty otherwise), for its manifest
    accounting: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> Trial | None:
        return self.trials[-1] if self.trials else None


class _Tally:
    """Cumulative costs and the incumbent of one run; turns each evaluation into a Trial."""

    def __init__(self, space: Any, clock: Callable[[], float]) -> None:
        self.space, self.clock, self.t0 = space, clock, clock()
        self.trials = TrialLog()
        self.n_rows = 0
        self.distinct: set[str] = set()
        self.evals = 0
        self.cost = 0.0
        self.train_s = 0.0
        self.score_s = 0.0
        self.measured_s = 0.0
        self.wall_s = 0.0
        self.inc_signal, self.inc_reported, self.inc_step = -math.inf, math.nan, -1

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
        clock_s: float = math.nan,
        worker: int = -1,
        frac: float = 1.0,
        resumed: tuple[int, float] | None = None,
        full: bool = True,
    ) -> tuple[Any, ...]:
        """Record one query and return its row's values (in :data:`ROW_FIELDS` order).

        ``frac`` is the fraction of a full evaluation its fidelity costs, ``resumed`` the
        (fidelity, train_s) it continued from, ``full`` whether it was at the run's full
        fidelity (only those update the incumbent)."""
        step = self.n_rows
        self.n_rows += 1
        c_full = res.cost.n_full if charge else 0
        c_proxy = res.cost.n_proxy if charge else 0
        train_s = res.cost.train_s if charge else 0.0
        measured_s = res.cost.measured_s if charge else 0.0
        score_s = res.cost.score_s if charge else 0.0
        if resumed is not None and charge and math.isfinite(resumed[1]):
            train_s = max(train_s - resumed[1], 0.0)
        cost_frac = frac * c_full
        self.evals += c_full
        self.cost += cost_frac
        if math.isfinite(train_s):
            self.train_s += train_s
        self.measured_s += measured_s
        if math.isfinite(score_s):
            self.score_s += score_s
        if phase == "search":
            self.distinct.add(key)
            if full and res.ok and res.signal > self.inc_signal:
                self.inc_signal, self.inc_reported, self.inc_step = res.signal, res.reported, step
        self.wall_s = self.clock() - self.t0
        # the values in ROW_FIELDS order (a test checks the order against Trial's fields)
        row = (
            step,
            self.space.to_str(arch),
            self.space.cell_str(arch),
            key,
            res.signal,
            res.val,
            res.reported,
            res.fidelity,
            eval_seed,
            repeat,
            c_full,
            c_proxy,
            train_s,
            score_s,
            measured_s,
            self.evals,
            step + 1,
            len(self.distinct),
            self.train_s,
            self.score_s,
            self.measured_s,
            self.wall_s,
            res.status,
            res.reason,
            self.inc_signal,
            # the final phase reports the trained answer's own test accuracy
            res.reported if phase == "final" else self.inc_reported,
            self.inc_step,
            phase,
            clock_s,
            worker,
            cost_frac,
            self.cost,
            resumed[0] if resumed is not None else -1,
        )
        self.trials.append(row, res.extras)
        return row


def _check_budget(budget: Budget, evaluator: Evaluator) -> None:
    if budget.train_s is not None and not evaluator.records_train_time:
        raise ConfigError(
            f"a budget in training seconds needs recorded training times, which "
            f"{evaluator.describe().get('benchmark', type(evaluator).__name__)} does not have "
            "(the shipped NB201 tables record none); use an evaluations budget instead"
        )


def _fits(budget: Budget, spent: float, pending: Mapping[Any, Any], q: Any) -> bool:
    """Whether an evaluation costing ``q.charged_frac`` full evaluations fits the budget."""
    if budget.evaluations is None:
        return True
    in_flight = sum(p.q.charged_frac for p in pending.values())
    return spent + in_flight + q.charged_frac <= budget.evaluations + _EPS


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
    workers: int = 1,
    executor: Executor | None = None,
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
        workers: evaluations in flight at once (asynchronous search, as in Real et al.): the
            strategy asks whenever a worker is free and is told results as they complete. Only
            strategies with ``supports_async`` accept more than one. Without an ``executor``
            the asynchrony is simulated on the recorded training times (deterministic).
        executor: where evaluations run (:mod:`harness.runner.executors`); default a
            :class:`SimulatedExecutor` with ``workers`` slots.

    With one worker this is the plain sequential loop: ask, evaluate, record, tell. The budget
    counts completed evaluations; no more evaluations are started than the budget has left, and
    when a completion reaches a limit the evaluations still in flight are cancelled.
    """
    _check_budget(budget, evaluator)
    if query_seeds < 1:
        raise ConfigError(f"query_seeds must be >= 1, got {query_seeds}")
    full_f = fidelity if fidelity is not None else evaluator.default_fidelity
    if strategy.multi_fidelity:
        evaluator = _bind_multi_fidelity(strategy, evaluator, budget, full_f, workers, executor)
    resumable = fid.continues(evaluator)
    if executor is None:
        executor = SimulatedExecutor(evaluator, workers)
    workers = executor.workers
    check_async(strategy, workers)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    space = strategy.space
    cache: dict[tuple[str, int | None, int], EvalResult] = {}
    pending: dict[int, _Pending] = {}  # ticket -> evaluation in flight
    by_query: dict[tuple[str, int | None, int], _Pending] = {}
    tally = _Tally(space, clock)
    cap = budget.default_query_cap()
    n_asked = 0
    stopped_by: str | None = None  # set when no further evaluation may start
    halted = False  # a limit was reached: in-flight evaluations are cancelled
    # (cell, training seed) -> highest fidelity trained so far and its training seconds, for
    # evaluators whose lower fidelities continue into higher ones
    trained: dict[tuple[str, int], tuple[int, float]] = {}

    def finish(
        arch: Hashable,
        key: str,
        res: EvalResult,
        qseed: int,
        *,
        repeat: bool,
        clock_s: float,
        worker: int,
        q: _Query,
    ) -> str | None:
        tally.record(
            arch,
            key,
            res,
            eval_seed=qseed,
            repeat=repeat,
            charge=not repeat or count_repeats,
            clock_s=clock_s,
            worker=worker,
            frac=q.frac if repeat else q.charged_frac,
            resumed=None if repeat else q.resumed,
            full=q.fidelity == full_f,
        )
        if on_trial is not None:
            on_trial(tally.trials[-1])
        strategy.tell(
            Observation(
                arch=arch,
                signal=res.signal,
                # a chosen fidelity is told back as asked, even for a failed evaluation
                fidelity=q.fidelity if q.explicit else res.fidelity,
                ok=res.ok,
                objectives=res.objectives,
                violation=res.violation,
            )
        )
        return budget.reached(tally)

    def room() -> bool:
        """May another evaluation start without overrunning the budget?"""
        if budget.evaluations is not None:
            in_flight = sum(p.q.charged_frac for p in pending.values()) if pending else 0.0
            if tally.cost + in_flight >= budget.evaluations - _EPS:
                return False
        if budget.distinct is not None:
            if not pending:  # (no copy of the distinct set per query)
                return len(tally.distinct) < budget.distinct
            keys = tally.distinct | {p.key for p in pending.values()}
            return len(keys) < budget.distinct
        return True

    # proposals asked at once, told one by one (one worker: each is told before the next starts)
    batched = strategy.batched and workers == 1 and not strategy.multi_fidelity

    def _want() -> int:
        """Proposals worth asking at once: no more than the queries and evaluations left (each
        query of a batched run costs one or nothing), so no proposal is drawn only to be
        dropped; a batch is a run of single asks, so its size changes no row."""
        n = cap - n_asked
        if budget.evaluations is not None:
            n = min(n, max(1, math.ceil(budget.evaluations - tally.cost - _EPS)))
        return n

    batch: deque[Any] = deque()
    clock_now = 0.0
    while not halted:
        while stopped_by is None and len(pending) < workers and room():
            if strategy.finished:
                stopped_by = "strategy finished"
                break
            if n_asked >= cap:
                stopped_by = "queries"
                break
            if not batch:
                batch.extend(strategy.ask_batch(_want()) if batched else (strategy.ask(),))
            arch, asked_f = unwrap(batch.popleft())
            n_asked += 1
            key = space.canonical(arch)
            f = full_f if asked_f is None else _checked_fidelity(asked_f, evaluator, full_f)
            qseed = int(rng.integers(query_seeds)) if query_seeds > 1 else 0
            ck = (key, f, qseed)
            q = _Query(f, asked_f is not None, fid.cost_fraction(f, full_f))
            if ck in cache:  # answered from the run's cache, at once
                stop = finish(
                    arch, key, cache[ck], qseed, repeat=True, clock_s=clock_now, worker=-1, q=q
                )
                if stop:
                    stopped_by, halted = stop, True
            elif ck in by_query:  # the same query is in flight: share its result
                by_query[ck].followers.append(arch)
            else:
                prev = trained.get((key, qseed)) if resumable else None
                if prev is not None and f is not None and prev[0] < f:
                    q.resumed = prev
                    q.charged_frac = q.frac - fid.cost_fraction(prev[0], full_f)
                if not _fits(budget, tally.cost, pending, q):
                    # a multi-fidelity proposal costlier than what is left: the run stops here
                    # rather than overrun the budget it is compared at
                    stopped_by = "evaluations"
                    break
                ticket = n_asked
                pending[ticket] = by_query[ck] = _Pending(arch, key, ck, qseed, q)
                executor.submit(ticket, arch, f, qseed)
        if halted or not pending:
            break
        done = executor.next_done()
        clock_now = done.clock_s
        p = pending.pop(done.ticket)
        del by_query[p.ck]
        cache[p.ck] = done.result
        f_done = p.q.fidelity
        if resumable and done.result.ok and f_done is not None:
            best = trained.get((p.key, p.qseed))
            if best is None or best[0] < f_done:
                trained[(p.key, p.qseed)] = (f_done, done.result.cost.train_s)
        stop = finish(
            p.arch,
            p.key,
            done.result,
            p.qseed,
            repeat=False,
            clock_s=clock_now,
            worker=done.worker,
            q=p.q,
        )
        for arch in p.followers:
            stop = stop or finish(
                arch,
                p.key,
                done.result,
                p.qseed,
                repeat=True,
                clock_s=clock_now,
                worker=done.worker,
                q=p.q,
            )
        if stop:
            stopped_by, halted = stop, True
    if pending:
        executor.cancel_all()
    if stopped_by is None:
        stopped_by = budget.reached(tally) or "budget"
    rec = strategy.recommend()
    if final_evaluator is not None and rec is not None:
        res = final_evaluator.evaluate(rec)
        tally.record(
            rec, space.canonical(rec), res, eval_seed=0, repeat=False, charge=True, phase="final"
        )
    acct = fid.accounting(evaluator, full_f) if strategy.multi_fidelity else {}
    return RunResult(
        trials=tally.trials, stopped_by=stopped_by, recommendation=rec, accounting=acct
    )


_EPS = 1e-9  # budgets in full-evaluation equivalents are sums of fractions


@dataclass(slots=True)
class _Query:
    """One query's fidelity and what it costs (``charged_frac`` < ``frac`` when continued)."""

    fidelity: int | None
    explicit: bool
    frac: float
    charged_frac: float = math.nan
    resumed: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        if math.isnan(self.charged_frac):
            self.charged_frac = self.frac


@dataclass(slots=True)
class _Pending:
    arch: Hashable
    key: str
    ck: tuple[str, int | None, int]
    qseed: int
    q: _Query
    followers: list[Hashable] = field(default_factory=list)


def _checked_fidelity(f: int, evaluator: Evaluator, full: int | None) -> int:
    """A fidelity a strategy chose, refused clearly when the benchmark lacks it."""
    name = evaluator.describe().get("benchmark", type(evaluator).__name__)
    if full is None or f not in evaluator.fidelities:
        offered = ", ".join(map(str, sorted(evaluator.fidelities))) or "none"
        raise ConfigError(
            f"a strategy proposed fidelity {f!r}, which {name} does not have (fidelities: "
            f"{offered}); choose one of those"
        )
    if f > full:
        raise ConfigError(
            f"a strategy proposed fidelity {f} above the run's full fidelity {full} on {name}; "
            f"set the benchmark's fidelity to {f} or propose at most {full}"
        )
    return f


def _bind_multi_fidelity(
    strategy: Strategy,
    evaluator: Evaluator,
    budget: Budget,
    full: int | None,
    workers: int,
    executor: Executor | None,
) -> Evaluator:
    """Check a multi-fidelity search can run here; tell the strategy the fidelities offered.

    Returns the evaluator to use: wrapped in :class:`~harness.runner.fidelity.ModelledTimes`
    where the benchmark records training times only at the full fidelity.
    """
    name = evaluator.describe().get("benchmark", type(evaluator).__name__)
    if full is None or not evaluator.fidelities:
        raise ConfigError(
            f"strategy {strategy.name!r} chooses fidelities, but {name} has none here (a "
            "zero-cost signal or a benchmark without epochs); use a validation-accuracy signal"
        )
    offered = tuple(sorted(f for f in evaluator.fidelities if f <= full))
    strategy.bind_fidelities(offered, full)
    lowest = min(getattr(strategy, "rungs", offered))
    if budget.evaluations is not None and budget.evaluations < fid.cost_fraction(lowest, full):
        raise ConfigError(
            f"budget evaluations = {budget.evaluations} is smaller than one evaluation at the "
            f"lowest fidelity {lowest} ({fid.cost_fraction(lowest, full):.4g} full evaluations "
            f"at {full} epochs); raise the budget"
        )
    # workers > 1 without recorded times: refused by the simulated executor's own check
    if evaluator.records_train_time and executor is None:
        return fid.ModelledTimes(evaluator, full)
    return evaluator


def check_async(strategy: Strategy, workers: int) -> None:
    """More than one worker needs a strategy that proposes before every result is back."""
    if workers > 1 and not strategy.supports_async:
        raise ConfigError(
            f"strategy {strategy.name!r} needs each result before its next proposal, so it "
            f"cannot use {workers} asynchronous workers; strategies that can: "
            f"{', '.join(async_strategy_names())}"
        )


def async_strategy_names() -> list[str]:
    """Registered strategies that accept more than one worker (for error messages)."""
    from harness.strategies import STRATEGIES

    return sorted(
        e.name for e in STRATEGIES if getattr(e.factory, "supports_async", False) is True
    )
