"""The one benchmark abstraction every part of the harness consumes.

A benchmark is data about the cells of one registered search space: per dataset, a set of
metrics, each with a *role* (what it may be used for), a direction and a unit. The roles are what
keep test data out of searches, for every benchmark alike:

- ``signal``: validation accuracy (or another quantity measured without test data): a fitness;
- ``proxy``: a zero-cost score computed without labels: also a fitness, but no training;
- ``report``: test-split results, for reporting only; asking to search on one is an error;
- ``info``: costs and sizes (parameters, latency, training seconds).

The rest of the harness (the tabular evaluator, experiment building, ``nash query`` / ``list`` /
``predictors``, regret and acceleration targets in the analysis) reads only this interface, so a
user's benchmark runs everywhere a built-in does. Lookups are vectorised (``values`` takes an
array of keys) because strategies, surrogates and analyses ask for many cells at once.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import ConfigError, NashError, NotInBenchmark, unknown

if TYPE_CHECKING:
    from harness.evaluators._base import Evaluator
    from harness.spaces._base import SearchSpace

ROLES = ("signal", "proxy", "report", "info")
DIRECTIONS = ("max", "min")
#: the seed policies a benchmark can declare (what ``query_seeds > 1`` means on it)
SEED_POLICIES = ("real", "noise", "none")


@dataclass(frozen=True, slots=True)
class Metric:
    """One column of a benchmark for one dataset.

    ``fidelity`` is the training epochs the value belongs to (None for fidelity-free values such
    as parameter counts or zero-cost scores); ``seeds`` is how many real per-seed values exist
    (0: only a seed mean or a single training is recorded).
    """

    name: str
    role: str
    direction: str = "max"
    unit: str = ""
    fidelity: int | None = None
    description: str = ""
    seeds: int = 0

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"metric {self.name!r}: role {self.role!r} is not one of {ROLES}")
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"metric {self.name!r}: direction {self.direction!r} is not one of {DIRECTIONS}"
            )


@dataclass(frozen=True)
class Provenance:
    """Where a benchmark's numbers come from: enough to cite it and to check its files."""

    source: str
    licence: str
    citation: str
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    notes: str = ""


def canonical_dataset(name: str, datasets: Sequence[str]) -> str:
    """One spelling per dataset (``ImageNet16-120``, ``imagenet16-120``: ``imagenet16_120``)."""
    if name in datasets:
        return name
    folded = name.lower().replace("-", "_")
    for d in datasets:
        if d.lower().replace("-", "_") == folded:
            return d
    return name


class Benchmark(ABC):
    """Tabular (or surrogate) results for the cells of one search space.

    Subclasses set the class attributes and implement :meth:`metrics`, :meth:`key_of`,
    :meth:`values` and :meth:`keys`. Everything else (optima, signal checks, default fidelities,
    the report metric) is derived from the declared metrics, so it cannot disagree with the data.
    """

    #: the benchmark's one name (CLI, TOMLs, reports)
    name: str = "benchmark"
    #: older or alternative spellings accepted on input and mapped to ``name``
    aliases: tuple[str, ...] = ()
    description: str = ""
    datasets: tuple[str, ...] = ()
    #: the registered space whose cells this benchmark is keyed on (the default for searches)
    space: str = ""
    #: other registered spaces whose ``to_cell`` gives this benchmark's cells (e.g. genomes)
    compatible_spaces: tuple[str, ...] = ()
    #: training epochs with results, and what they mean
    fidelities: tuple[int, ...] = ()
    fidelity_meaning: str = ""
    #: whether a higher fidelity continues the training of a lower one (then only the difference
    #: is charged); False where each fidelity is a separate training with its own schedule
    continues_training: bool = False
    #: "real" (per-seed values), "noise" (a declared noise model) or "none" (one value per cell)
    seed_policy: str = "none"
    #: results predicted by a model rather than measured: reports label them
    surrogate_based: bool = False
    #: does ``test`` in reports hold test accuracy (False where only validation exists)
    has_test: bool = True
    #: False where the optimum is not computed (a surrogate over a huge space): regret is NaN
    optimum_known: bool = True
    #: relative cost of one run's space operations, for ordering a grid (longest first)
    cost_hint: float = 1.0
    #: which cells ``nash score`` puts in this benchmark's committed NASWOT score table:
    #: ``"space"`` (every cell of an index-keyed space, one per isomorphism class first),
    #: ``"sample"`` (the distinct cells of the shipped zero-cost sample, keyed by hash), or ""
    #: where none is kept (scores are then computed when asked for)
    naswot_table: str = ""

    # -- what subclasses provide -----------------------------------------------------------
    @abstractmethod
    def metrics(self, dataset: str) -> list[Metric]:
        """Every metric of ``dataset`` (validated name)."""

    @abstractmethod
    def key_of(self, cell: Hashable) -> Hashable:
        """The lookup key of a native cell of :attr:`space` (raises NotInBenchmark if absent)."""

    @abstractmethod
    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        """Values of ``metric`` for many keys at once (float64; NaN where the source has none)."""

    @abstractmethod
    def keys(self, dataset: str) -> Sequence[Hashable]:
        """Every key with results for ``dataset`` (the benchmark's cells)."""

    def provenance(self) -> Provenance:
        return Provenance(source="", licence="", citation="")

    def cell_of(self, key: Hashable) -> Hashable:
        """The native cell of a key (for ``nash query``, predictors and reports)."""
        raise NashError(f"benchmark {self.name} cannot map keys back to cells")

    def column(self, dataset: str, metric: str) -> np.ndarray:
        """``metric`` for all :meth:`keys` of ``dataset``, in that order."""
        return self.values(dataset, metric, list(self.keys(dataset)))

    def evaluator(self, dataset: str, **kwargs: Any) -> Evaluator | None:
        """A benchmark-specific evaluator, or None for the generic tabular one (most)."""
        return None

    def network(self, cell: Hashable, dataset: str, **kwargs: Any) -> Any:
        """A real PyTorch network of ``cell`` (zero-cost scoring, training); optional."""
        raise NashError(
            f"benchmark {self.name} has no network builder: zero-cost scoring and real training "
            "need one"
        )

    def seed_values(
        self, dataset: str, metric: str, keys: Sequence[Hashable], seed: int
    ) -> np.ndarray:
        """One real training seed's values (only where :attr:`seed_policy` is ``"real"``)."""
        raise NashError(f"benchmark {self.name} has no per-seed values")

    def parse(self, text: str) -> Hashable:
        """The key of a cell given as text (``nash query``): the space's string form by default."""
        from harness.spaces import make_space

        return self.key_of(make_space(self.space).from_str(text.strip()))

    def cell_info(self, key: Hashable) -> dict[str, Any]:
        """Identifying fields of a cell for ``nash query`` (key and string form by default)."""
        from harness.spaces import make_space

        info: dict[str, Any] = {"key": key if isinstance(key, int | str) else str(key)}
        try:
            info["cell"] = make_space(self.space).to_str(self.cell_of(key))
        except NashError:
            pass
        return info

    def row(self, key: Hashable) -> dict[str, dict[str, float]]:
        """Every metric of one cell, by dataset (NaN metrics omitted)."""
        out: dict[str, dict[str, float]] = {}
        for ds in self.datasets:
            vals = {}
            for m in self.metrics(ds):
                v = float(self.values(ds, m.name, [key])[0])
                if math.isfinite(v):
                    vals[m.name] = v
            out[ds] = vals
        return out

    #: a sentence printed under ``nash query`` (what the numbers are)
    query_note: str = ""

    # -- derived -----------------------------------------------------------------------------
    def dataset(self, name: str) -> str:
        """The canonical spelling of a dataset of this benchmark (error listing the valid ones)."""
        d = canonical_dataset(name, self.datasets)
        if d not in self.datasets:
            raise unknown(f"{self.name} dataset", name, self.datasets)
        return d

    def metric(self, dataset: str, name: str) -> Metric:
        memo = self.__dict__.setdefault("_metric_memo", {})
        hit = memo.get((dataset, name))
        if hit is not None:  # lookups check the metric on every call: keep it a dict probe
            return hit
        ms = self.metrics(self.dataset(dataset))
        for m in ms:
            if m.name == name:
                memo[(dataset, name)] = m
                return m
        raise unknown(f"{self.name} metric for {dataset}", name, [m.name for m in ms])

    def metric_names(self, dataset: str, role: str | None = None) -> list[str]:
        return [m.name for m in self.metrics(self.dataset(dataset)) if role in (None, m.role)]

    def value(self, dataset: str, metric: str, key: Hashable) -> float:
        return float(self.values(dataset, metric, [key])[0])

    def optimum(self, dataset: str, metric: str) -> tuple[float, list[Hashable]]:
        """The best value of a metric over the benchmark (from the data) and its keys."""
        m = self.metric(dataset, metric)
        col = np.asarray(self.column(dataset, metric), dtype=np.float64)
        if not np.isfinite(col).any():
            return math.nan, []
        best = float(np.nanmax(col) if m.direction == "max" else np.nanmin(col))
        ks = list(self.keys(dataset))
        return best, [ks[i] for i in np.flatnonzero(col == best)]

    def check_search_signal(self, dataset: str, metric: str) -> Metric:
        """Refuse test-split and cost columns as search signals, naming the allowed ones."""
        m = self.metric(dataset, metric)
        if m.role in ("signal", "proxy"):
            return m
        allowed = self.metric_names(dataset, "signal") + self.metric_names(dataset, "proxy")
        why = (
            "it is TEST-split data (report only; searching on it leaks test data)"
            if m.role == "report"
            else "it is a cost/size column, not a fitness"
        )
        raise NashError(
            f"cannot search on {self.name} {dataset} metric {metric!r}: {why}. "
            f"Search signals for {dataset}: {', '.join(allowed) or 'none'}"
        )

    def signal_metric(self, dataset: str, fidelity: int | None = None) -> str:
        """The validation signal at ``fidelity`` (default: the highest with a signal)."""
        sig = [m for m in self.metrics(self.dataset(dataset)) if m.role == "signal"]
        if not sig:
            raise NashError(f"benchmark {self.name} declares no signal metric for {dataset}")
        if fidelity is None:
            with_f = [m for m in sig if m.fidelity is not None]
            return max(with_f, key=lambda m: m.fidelity or 0).name if with_f else sig[0].name
        for m in sig:
            if m.fidelity == fidelity:
                return m.name
        have = sorted({m.fidelity for m in sig if m.fidelity is not None})
        raise NashError(
            f"{self.name} has no {fidelity}-epoch validation signal for {dataset} "
            f"(fidelities with a signal: {', '.join(map(str, have)) or 'none'})"
        )

    def default_fidelity(self, dataset: str) -> int | None:
        return self.metric(dataset, self.signal_metric(dataset)).fidelity

    def signal_fidelities(self, dataset: str) -> tuple[int, ...]:
        return tuple(
            sorted(
                {
                    m.fidelity
                    for m in self.metrics(self.dataset(dataset))
                    if m.role == "signal" and m.fidelity is not None
                }
            )
        )

    def report_metric(self, dataset: str) -> str:
        """What a run reports: the highest-fidelity test metric, else the highest signal."""
        ms = self.metrics(self.dataset(dataset))
        rep = [m for m in ms if m.role == "report" and m.direction == "max" and m.seeds >= 0]
        primary = [m for m in rep if m.name.startswith("test_acc")]
        pool = primary or []
        if pool:
            return max(pool, key=lambda m: m.fidelity or 0).name
        return self.signal_metric(dataset)

    def report_label(self, dataset: str) -> str:
        m = self.metric(dataset, self.report_metric(dataset))
        return m.description or m.name

    def train_time_metric(self, dataset: str, fidelity: int | None) -> str | None:
        """The info metric holding recorded training seconds at ``fidelity``, if any."""
        for m in self.metrics(self.dataset(dataset)):
            if m.role == "info" and m.unit == "s" and m.name.startswith("train_time"):
                if m.fidelity == fidelity:
                    return m.name
        return None

    def records_train_time(self, dataset: str) -> bool:
        return any(
            self.train_time_metric(dataset, f) is not None for f in self.signal_fidelities(dataset)
        )

    def lookup_key(self, space: SearchSpace[Any], arch: Hashable) -> Hashable:
        """The key of an architecture given in ``space``'s representation."""
        return self.key_of(space.to_cell(arch))

    def describe(self) -> dict[str, Any]:
        p = self.provenance()
        return {
            "name": self.name,
            "space": self.space,
            "datasets": list(self.datasets),
            "fidelities": list(self.fidelities),
            "seed_policy": self.seed_policy,
            "surrogate_based": self.surrogate_based,
            "source": p.source,
            "licence": p.licence,
            "citation": p.citation,
            "files": p.files,
        }


def check_keys_found(bench: str, keys: Sequence[Hashable], rows: np.ndarray) -> None:
    """Raise NotInBenchmark for the first key whose row is -1 (helper for table lookups)."""
    bad = np.flatnonzero(rows < 0)
    if bad.size:
        raise NotInBenchmark(f"cell {keys[int(bad[0])]!r} is not in benchmark {bench}")
