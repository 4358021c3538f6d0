"""Search objectives and constraints as data: a wrapper that adds the objective vector.

A run may declare several objectives (each a benchmark metric with a direction, e.g. cifar10
validation accuracy up and edge-GPU latency down) and constraints (latency <= 5 ms). Why a
wrapper around the run's evaluator rather than a new evaluator: the search signal, its noise
model, fidelity and cost accounting stay exactly those of the wrapped evaluator, and any
evaluator gains objectives the same way. The wrapper reads the objective metrics from the
benchmark's tables (whole columns, indexed once per query; the objective that is the search
signal takes the signal's own value, noise and training seed included) and adds to each
EvalResult

- ``objectives``: the vector told to strategies, every component oriented so that larger is
  better (minimised metrics negated, the harness's one sign convention);
- ``violation``: the summed relative excess over the constraint bounds (0 = feasible);
- ``extras``: the raw metric values as ``obj_<metric>`` (stored as row columns of that name) and
  ``violation``, for the analysis.

Test-split metrics are refused as objectives and as constraints (they would leak test data into
the search); cost columns (latency, energy, parameters) are legitimate objectives. A cost is
never negative, so negative values in a cost (``info``) column are read as missing: HW-NAS-Bench
writes -1 where it has no measurement (Edge TPU latency of 4,699 NB201 cells). A cell without a
value of some objective is a failed evaluation for the search and is absent from the true front.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from harness.errors import ConfigError, NashError
from harness.evaluators._base import Evaluator
from harness.records import EvalResult

DIRECTIONS = ("max", "min")
#: roles whose metrics may be searched on as objectives (test-split "report" metrics may not)
OBJECTIVE_ROLES = ("signal", "proxy", "info")


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str

    @property
    def sign(self) -> float:
        """+1 for maximised, -1 for minimised metrics: ``sign * value`` is larger-is-better."""
        return 1.0 if self.direction == "max" else -1.0


@dataclass(frozen=True)
class Constraint:
    metric: str
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class ObjectiveSet:
    """What a run declares: objectives, constraints and the hypervolume reference point.

    ``reference_point`` is in raw metric units (one value per objective) and must be worse than
    every cell of the benchmark in every objective, so that hypervolumes of any run are
    comparable with the true front's; None: the nadir of the whole table plus 1 % of each range.
    """

    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    reference_point: tuple[float, ...] | None = None

    def __bool__(self) -> bool:
        return bool(self.objectives or self.constraints)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(o.metric for o in self.objectives)

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(o.direction for o in self.objectives)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objectives": [
                {"metric": o.metric, "direction": o.direction} for o in self.objectives
            ],
            "constraints": [
                {
                    k: v
                    for k, v in (("metric", c.metric), ("max", c.max), ("min", c.min))
                    if v is not None
                }
                for c in self.constraints
            ],
            "reference_point": list(self.reference_point) if self.reference_point else None,
        }


def _number(where: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ConfigError(f"{where} must be a finite number, got {v!r}")
    return float(v)


def parse_objective_set(where: str, table: Mapping[str, Any]) -> ObjectiveSet:
    """Read ``objectives``, ``constraints`` and ``reference_point`` of a TOML table (type checks).

    Whether the metrics exist and may be searched is checked against the benchmark in
    :func:`resolve` (it needs the dataset).
    """
    objs: list[Objective] = []
    raw = table.get("objectives", [])
    if not isinstance(raw, list):
        raise ConfigError(
            f'{where} objectives must be a list, e.g. objectives = [{{ metric = "val_acc@200", '
            'direction = "max" }, { metric = "hw_edgegpu_latency", direction = "min" }]'
        )
    for i, o in enumerate(raw):
        w = f"{where} objectives[{i}]"
        if not isinstance(o, dict) or set(o) - {"metric", "direction"} or "metric" not in o:
            raise ConfigError(
                f'{w} must be {{ metric = "...", direction = "max" | "min" }}, got {o!r}'
            )
        if not isinstance(o["metric"], str) or not o["metric"]:
            raise ConfigError(f"{w} metric must be a metric name, got {o['metric']!r}")
        d = o.get("direction")
        if d not in DIRECTIONS:
            raise ConfigError(f'{w} direction must be "max" or "min", got {d!r}')
        objs.append(Objective(o["metric"], str(d)))
    if len({o.metric for o in objs}) != len(objs):
        raise ConfigError(f"{where} objectives repeat a metric: {[o.metric for o in objs]}")
    cons: list[Constraint] = []
    raw = table.get("constraints", [])
    if not isinstance(raw, list):
        raise ConfigError(
            f"{where} constraints must be a list, e.g. constraints = [{{ metric = "
            '"hw_edgegpu_latency", max = 5.0 }]'
        )
    for i, c in enumerate(raw):
        w = f"{where} constraints[{i}]"
        if not isinstance(c, dict) or set(c) - {"metric", "max", "min"} or "metric" not in c:
            raise ConfigError(
                f'{w} must be {{ metric = "...", max = <bound> }} (or min), got {c!r}'
            )
        if "max" not in c and "min" not in c:
            raise ConfigError(f"{w} needs a bound: max = ... and/or min = ...")
        if not isinstance(c["metric"], str) or not c["metric"]:
            raise ConfigError(f"{w} metric must be a metric name, got {c['metric']!r}")
        hi = _number(f"{w} max", c["max"]) if "max" in c else None
        lo = _number(f"{w} min", c["min"]) if "min" in c else None
        if hi is not None and lo is not None and lo > hi:
            raise ConfigError(f"{w}: min {lo} is above max {hi}")
        cons.append(Constraint(c["metric"], max=hi, min=lo))
    ref = table.get("reference_point")
    refp: tuple[float, ...] | None = None
    if ref is not None:
        if not objs:
            raise ConfigError(f"{where} reference_point needs objectives")
        if not isinstance(ref, list) or len(ref) != len(objs):
            raise ConfigError(
                f"{where} reference_point must list one number per objective ({len(objs)}), "
                f"got {ref!r}"
            )
        refp = tuple(_number(f"{where} reference_point[{i}]", v) for i, v in enumerate(ref))
    return ObjectiveSet(tuple(objs), tuple(cons), refp)


# -- the benchmark's tables --------------------------------------------------------------------
class _Table:
    """Whole metric columns of one benchmark dataset (the Benchmark interface), and the row of
    an architecture in them."""

    def __init__(self, benchmark: str, dataset: str) -> None:
        from harness.benchmarks import get_benchmark

        self.benchmark = benchmark
        self._bench = get_benchmark(benchmark)
        self.dataset = self._bench.dataset(dataset)
        keys = self._bench.keys(self.dataset)
        self._rows: dict[Hashable, int] | None = (
            None
            if isinstance(keys, range) and keys.start == 0 and keys.step == 1
            else {k: i for i, k in enumerate(keys)}
        )
        self._names = list(self._bench.metric_names(self.dataset))

    def names(self) -> list[str]:
        return self._names

    def role(self, metric: str) -> str:
        self._check(metric)
        return str(self._bench.metric(self.dataset, metric).role)

    def _check(self, metric: str) -> None:
        if metric not in self._names:
            import difflib

            close = difflib.get_close_matches(metric, self._names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{self.benchmark} has no metric {metric!r} for dataset {self.dataset}{hint}; "
                f"its metrics: {', '.join(self._names)}"
            )

    def column(self, metric: str) -> np.ndarray:
        self._check(metric)
        return np.asarray(self._bench.column(self.dataset, metric), dtype=np.float64)

    def row_of(self, space: Any, arch: Hashable) -> int:
        key = self._bench.lookup_key(space, arch)
        return int(key) if self._rows is None else self._rows[key]  # type: ignore[call-overload]


def _check_searchable(table: _Table, metric: str, what: str) -> None:
    role = table.role(metric)
    if role not in OBJECTIVE_ROLES:
        allowed = [m for m in table.names() if table.role(m) in OBJECTIVE_ROLES]
        raise ConfigError(
            f"cannot use {table.benchmark} {table.dataset} metric {metric!r} as {what}: it is "
            "TEST-split data (report only; searching on it leaks test data). Metrics allowed: "
            f"{', '.join(allowed)}"
        )


def _cleaned(table: _Table, metric: str) -> np.ndarray:
    """The column with negative costs (missing-measurement markers) read as NaN."""
    col = table.column(metric).copy()
    if table.role(metric) == "info":
        col[col < 0] = np.nan
    return col


@dataclass(frozen=True)
class ResolvedObjectives:
    """An objective set checked against a benchmark dataset, with its whole-space columns."""

    spec: ObjectiveSet
    benchmark: str
    dataset: str
    #: [n_objectives, n_cells] raw values over the whole benchmark (NaN where missing)
    values: np.ndarray
    #: [n_constraints, n_cells] raw values of the constrained metrics
    constraint_values: np.ndarray
    reference_point: tuple[float, ...]
    #: best value of each objective over the benchmark (raw units): the ideal point
    ideal: tuple[float, ...]
    table: Any = field(repr=False, default=None)

    @property
    def signs(self) -> np.ndarray:
        return np.array([o.sign for o in self.spec.objectives])

    def oriented_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(ideal, reference) with every objective oriented larger-is-better."""
        s = self.signs
        return s * np.array(self.ideal), s * np.array(self.reference_point)


def resolve(spec: ObjectiveSet, benchmark: str, dataset: str) -> ResolvedObjectives:
    """Check an objective set against the benchmark; one clear error per mistake."""
    table = _Table(benchmark, dataset)
    cols = []
    for o in spec.objectives:
        _check_searchable(table, o.metric, "an objective")
        col = _cleaned(table, o.metric)
        if not np.isfinite(col).any():
            raise ConfigError(
                f"{benchmark} has no values of {o.metric!r} for dataset {table.dataset}; pick "
                "another objective"
            )
        cols.append(col)
    ccols = []
    for c in spec.constraints:
        _check_searchable(table, c.metric, "a constraint")
        ccols.append(_cleaned(table, c.metric))
    n = len((cols or ccols)[0]) if (cols or ccols) else 0
    values = np.stack(cols) if cols else np.empty((0, n))
    cvals = np.stack(ccols) if ccols else np.empty((0, n))
    ideal: list[float] = []
    worst: list[float] = []
    for o, col in zip(spec.objectives, values, strict=True):
        lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
        ideal.append(hi if o.direction == "max" else lo)
        margin = 0.01 * (hi - lo) if hi > lo else 1.0
        worst.append(lo - margin if o.direction == "max" else hi + margin)
    ref = spec.reference_point
    if ref is None:
        ref = tuple(worst)
    else:
        for o, r, col in zip(spec.objectives, ref, values, strict=True):
            bad = np.nanmin(col) < r if o.direction == "max" else np.nanmax(col) > r
            if bad:
                edge = float(np.nanmin(col) if o.direction == "max" else np.nanmax(col))
                need = "<" if o.direction == "max" else ">"
                raise ConfigError(
                    f"reference_point {r} for {o.metric!r} ({o.direction}) does not bound the "
                    f"data: {benchmark} {table.dataset} has cells at {edge:g}, so the point must "
                    f"be {need} {edge:g} (a reference point must be worse than every cell, or "
                    "hypervolumes are not comparable)"
                )
    return ResolvedObjectives(
        spec, benchmark, table.dataset, values, cvals, tuple(ref), tuple(ideal), table
    )


def violation(constraints: Sequence[Constraint], values: np.ndarray) -> np.ndarray:
    """Summed relative excess over the bounds (0 = feasible); NaN values count as infinite.

    ``values``: [n_constraints, n] raw values. The excess is divided by ``max(|bound|, 1)`` so
    constraints in different units add up sensibly.
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[1] if v.ndim == 2 else 0
    out = np.zeros(n)
    for c, col in zip(constraints, v, strict=True):
        if c.max is not None:
            out += np.maximum(col - c.max, 0.0) / max(abs(c.max), 1.0)
        if c.min is not None:
            out += np.maximum(c.min - col, 0.0) / max(abs(c.min), 1.0)
        out[~np.isfinite(col)] = np.inf
    return out


class ObjectiveEvaluator(Evaluator):
    """Wrap an evaluator: add the declared objectives and constraint violation to each result."""

    def __init__(self, inner: Evaluator, resolved: ResolvedObjectives) -> None:
        self.inner, self.resolved = inner, resolved
        self.space = inner.space
        self.records_train_time = inner.records_train_time
        self.default_fidelity = inner.default_fidelity
        self.fidelities = inner.fidelities
        self.is_proxy = inner.is_proxy
        self._signs = resolved.signs
        self._names = [f"obj_{o.metric}" for o in resolved.spec.objectives]
        self._metrics = [o.metric for o in resolved.spec.objectives]

    def __getattr__(self, name: str) -> Any:  # e.g. report_metric, query_log of the inner one
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def lookup(self, archs: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
        """Raw objective values [n, n_objectives] and violations [n] of many architectures."""
        table = self.resolved.table
        rows = np.array([table.row_of(self.space, a) for a in archs], dtype=np.int64)
        raw = self.resolved.values[:, rows].T
        viol = violation(self.resolved.spec.constraints, self.resolved.constraint_values[:, rows])
        return raw, viol

    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        res = self.inner.evaluate(arch, fidelity=fidelity, seed=seed)
        raw, viol = self.lookup([arch])
        vals = raw[0].copy()
        # the objective that is the search signal takes the value the search saw (its noise
        # model, its training seed's value), not the table's seed mean
        signal_metric = getattr(self.inner, "signal_metric", None)
        if res.ok and callable(signal_metric):
            name = signal_metric(fidelity if fidelity is not None else self.default_fidelity)
            for i, m in enumerate(self._metrics):
                if m == name:
                    vals[i] = res.signal
        extras = dict(res.extras)
        extras.update({n: float(v) for n, v in zip(self._names, vals, strict=True)})
        extras["violation"] = float(viol[0])
        oriented = tuple(float(x) for x in self._signs * vals)
        status, reason = res.status, res.reason
        if res.ok and not all(math.isfinite(x) for x in oriented):
            missing = [
                n[4:] for n, v in zip(self._names, vals, strict=True) if not math.isfinite(v)
            ]
            status, reason = "failed", f"no {', '.join(missing)} value for this cell"
        return replace(
            res,
            objectives=oriented,
            violation=float(viol[0]),
            extras=extras,
            status=status,
            reason=reason,
        )

    def describe(self) -> dict[str, Any]:
        d = dict(self.inner.describe())
        d["objectives"] = self.resolved.spec.as_dict() | {
            "reference_point": list(self.resolved.reference_point),
            "ideal": list(self.resolved.ideal),
        }
        return d


def wrap(
    evaluator: Evaluator, spec: ObjectiveSet, benchmark: str, dataset: str
) -> ObjectiveEvaluator:
    """The evaluator with ``spec``'s objectives added (checked against the benchmark)."""
    if not spec:
        raise NashError("wrap() needs at least one objective or constraint")
    return ObjectiveEvaluator(evaluator, resolve(spec, benchmark, dataset))


# -- experiment integration -------------------------------------------------------------------
_KEYS = ("objectives", "constraints", "reference_point")


def parse_benchmark_table(where: str, table: Mapping[str, Any]) -> dict[str, Any] | None:
    """The objective set a ``[[benchmark]]`` declares, as plain data (None: declares none)."""
    if not any(k in table for k in _KEYS):
        return None
    spec = parse_objective_set(where, table)
    if not spec:
        raise ConfigError(f"{where} declares a reference_point but no objectives or constraints")
    return spec.as_dict()


def parse_strategy_table(where: str, table: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The constraints a ``[[strategy]]`` declares in place of its benchmark's (None: none)."""
    if "constraints" not in table:
        return None
    return parse_objective_set(where, {"constraints": table["constraints"]}).as_dict()[
        "constraints"
    ]


def from_dict(d: Mapping[str, Any]) -> ObjectiveSet:
    return ObjectiveSet(
        tuple(Objective(o["metric"], o["direction"]) for o in d.get("objectives", [])),
        tuple(
            Constraint(c["metric"], max=c.get("max"), min=c.get("min"))
            for c in d.get("constraints", [])
        ),
        tuple(d["reference_point"]) if d.get("reference_point") else None,
    )


def apply_to_run(bench: Any, strat: Any, evaluator: Evaluator, strategy: Any) -> tuple[Any, Any]:
    """(evaluator, strategy) of a run with its declared objectives and constraints.

    ``bench`` / ``strat`` are the run's BenchmarkSpec and StrategySpec; a strategy's
    ``constraints`` replace the benchmark's. Returns them unchanged when nothing is declared.
    """
    from harness.strategies.multi_objective import adapt

    d = dict(bench.objectives or {})
    if strat.constraints is not None:
        d["constraints"] = strat.constraints
    spec = from_dict(d)
    if not spec:
        return evaluator, strategy
    resolved = resolve(spec, bench.name, bench.dataset)
    return ObjectiveEvaluator(evaluator, resolved), adapt(strategy, resolved)
