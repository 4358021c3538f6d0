"""The built-in benchmarks (NB201, the NB101 30k sample, the NB101 surrogate).

They wrap the columnar table loaders of :mod:`harness.benchmarks.nb201` and
:mod:`harness.benchmarks.nb101`; what each metric means (role, direction, unit, fidelity) is
declared here once, and everything else in the harness reads it from here.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.benchmarks.base import Benchmark, Metric, Provenance, check_keys_found
from harness.errors import ConfigError, NotInBenchmark

if TYPE_CHECKING:
    from harness.evaluators._base import Evaluator

_AT = re.compile(r"@(\d+)$")


def _fidelity_of(metric: str) -> int | None:
    m = _AT.search(metric)
    return int(m.group(1)) if m else None


def _provenance(name: str, citation: str) -> Provenance:
    from harness.benchmarks import registry

    spec = registry.get(name)
    return Provenance(
        source=getattr(spec, "source", "") or "",
        licence=getattr(spec, "licence", "") or getattr(spec, "license", "") or "",
        citation=citation,
        files={f.path: f.sha256 for f in spec.files},
    )


class NB201Benchmark(Benchmark):
    """NAS-Bench-201 (Dong & Yang 2020) with HW-NAS-Bench costs and published zero-cost scores."""

    name = "nb201"
    description = (
        "NAS-Bench-201: 15,625 cells, cifar10 / cifar100 / ImageNet16-120, 12 and 200 epochs"
    )
    datasets = ("cifar10", "cifar100", "imagenet16_120")
    space = "nb201"
    compatible_spaces = ("nb201-study-genome",)
    fidelities = (12, 200)
    naswot_table = "space"
    fidelity_meaning = (
        "training epochs; 12 and 200 are separate trainings (the 12-epoch runs use their own "
        "learning-rate schedule), so a 200-epoch result does not continue a 12-epoch one"
    )
    continues_training = False
    seed_policy = "none"  # seed means only; a declared noise model (noise_sigma) may be added

    @functools.cached_property
    def _tables(self) -> Any:
        from harness.benchmarks import nb201

        return nb201.load()

    @functools.cache  # noqa: B019 - benchmarks are process-wide singletons
    def metrics(self, dataset: str) -> list[Metric]:
        from harness.benchmarks.nb201 import DESCRIPTIONS

        ds = self.dataset(dataset)
        out = []
        for c in self._tables.columns:
            if c.dataset != ds:
                continue
            name = c.metric
            direction, unit = "max", ""
            if "acc" in name:
                unit = "%"
            elif name.startswith("hw_") and name.endswith("latency"):
                direction, unit = "min", "ms"
            elif name.startswith("hw_") and name.endswith("energy"):
                direction, unit = "min", "mJ"
            elif name.endswith("_time_s"):
                direction, unit = "min", "s"
            elif c.role == "info":
                direction = "min"  # sizes: smaller is cheaper
            out.append(
                Metric(
                    name,
                    c.role,
                    direction,
                    unit,
                    _fidelity_of(name) if c.role in ("signal", "report") else None,
                    DESCRIPTIONS.get(name, ""),
                )
            )
        return out

    def key_of(self, cell: Hashable) -> Hashable:
        from harness.spaces import nb201

        return nb201.index_of(cell)  # type: ignore[arg-type]

    def cell_of(self, key: Hashable) -> Hashable:
        from harness.spaces import nb201

        return nb201.arch_of_index(int(key))  # type: ignore[call-overload]

    def keys(self, dataset: str) -> Sequence[Hashable]:
        from harness.spaces import nb201

        return range(nb201.N_CELLS)

    def value(self, dataset: str, metric: str, key: Hashable) -> float:
        self.metric(dataset, metric)
        i = int(key)  # type: ignore[call-overload]
        if not 0 <= i < 15625:
            raise NotInBenchmark(f"NB201 index {i} is outside 0..15624")
        return float(self._tables.value(self.dataset(dataset), metric, i))

    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        ds = self.dataset(dataset)
        self.metric(ds, metric)
        idx = np.asarray(keys, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= 15625):
            bad = idx[(idx < 0) | (idx >= 15625)][0]
            raise NotInBenchmark(f"NB201 index {int(bad)} is outside 0..15624")
        return np.asarray(self._tables.column(ds, metric), dtype=np.float64)[idx]

    def column(self, dataset: str, metric: str) -> np.ndarray:
        ds = self.dataset(dataset)
        self.metric(ds, metric)
        return np.asarray(self._tables.column(ds, metric), dtype=np.float64)

    def report_metric(self, dataset: str) -> str:
        return "test_acc@200"

    def parse(self, text: str) -> Hashable:
        from harness.spaces import nb201

        return nb201.index_of(nb201.parse(text))

    def cell_info(self, key: Hashable) -> dict[str, Any]:
        from harness.spaces import nb201

        arch = nb201.arch_of_index(int(key))  # type: ignore[call-overload]
        return {
            "index": int(key),  # type: ignore[call-overload]
            "arch_str": nb201.arch_to_str(arch),
            "naslib_op_indices": list(nb201.to_naslib(arch)),
            "unique_str": nb201.NB201Space().canonical(arch),
            "output_connected": nb201.output_connected(arch),
        }

    def row(self, key: Hashable) -> dict[str, dict[str, float]]:
        return self._tables.row(int(key))  # type: ignore[call-overload]

    def report_label(self, dataset: str) -> str:
        return "200-epoch test accuracy (seed mean)"

    def default_fidelity(self, dataset: str) -> int | None:
        # cifar100 / ImageNet16-120 have no 200-epoch validation: the NB201 paper's 12 epochs
        return max(self.signal_fidelities(dataset), default=None)

    def provenance(self) -> Provenance:
        return _provenance(
            "nb201",
            "Dong & Yang, NAS-Bench-201, ICLR 2020; Li et al., HW-NAS-Bench, ICLR 2021; "
            "Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022",
        )

    def network(self, cell: Hashable, dataset: str, **kwargs: Any) -> Any:
        from harness.models import build_network

        return build_network("nb201", cell, **kwargs)


class NB101SampleBenchmark(Benchmark):
    """The shipped 30,001-cell NAS-Bench-101 sample (Ying et al. 2019): validation only."""

    name = "nb101-30k"
    aliases: tuple[str, ...] = ("nb101",)
    description = (
        "NAS-Bench-101, the real 30,001-cell sample: validation accuracy at 4/12/36/108 epochs"
    )
    datasets = ("cifar10",)
    space = "nb101-30k-pool"
    compatible_spaces: tuple[str, ...] = ("nb101",)
    fidelities: tuple[int, ...] = (4, 12, 36, 108)
    fidelity_meaning = (
        "training epochs; each fidelity is a separate training with its own schedule, not a "
        "point on one learning curve, so no fidelity continues another"
    )
    continues_training = False
    seed_policy = "none"  # one training repeat per cell in the shipped sample
    has_test = False
    cost_hint = 4.0  # NB101 hashing in every mutation
    naswot_table = "sample"

    @functools.cached_property
    def _table(self) -> Any:
        from harness.benchmarks import nb101

        return nb101.load()

    @functools.cache  # noqa: B019
    def metrics(self, dataset: str) -> list[Metric]:
        self.dataset(dataset)
        one = "validation accuracy of ONE training repeat"
        out = [
            Metric(f"val_acc@{f}", "signal", "max", "%", f, f"{f}-epoch {one}")
            for f in self.fidelities
        ]
        out.append(
            Metric("train_time_s@108", "info", "min", "s", 108, "recorded 108-epoch training s")
        )
        out.append(Metric("params", "info", "min", "", None, "trainable parameters"))
        return out

    def key_of(self, cell: Hashable) -> Hashable:
        h = cell.hash  # type: ignore[attr-defined]
        if h not in self._table:
            self._table.row_of(h)  # raises NotInBenchmark with the explanation
        return h

    def cell_of(self, key: Hashable) -> Hashable:
        from harness.spaces.nb101_enum import load_nb101_30k_specs

        return load_nb101_30k_specs().cell(str(key))

    def keys(self, dataset: str) -> Sequence[Hashable]:
        return self._table.hashes

    def value(self, dataset: str, metric: str, key: Hashable) -> float:
        self.metric(dataset, metric)
        return self._table.value(metric, str(key))

    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        self.metric(dataset, metric)
        row = self._table._row
        rows = np.fromiter((row.get(str(k), -1) for k in keys), dtype=np.int64, count=len(keys))
        if rows.size and rows.min() < 0:
            check_keys_found(self.name, keys, rows)
        return np.asarray(self._table.column(metric), dtype=np.float64)[rows]

    def column(self, dataset: str, metric: str) -> np.ndarray:
        self.metric(dataset, metric)
        return np.asarray(self._table.column(metric), dtype=np.float64)

    def report_label(self, dataset: str) -> str:
        return "108-epoch VALIDATION accuracy (the shipped NB101 data has no test)"

    query_note = (
        "validation accuracy of one training repeat (percent); the shipped NB101 data has no "
        "test accuracy"
    )

    def parse(self, text: str) -> Hashable:
        from harness.spaces.nb101 import NB101Space

        t = text.strip()
        if len(t) == 32 and all(c in "0123456789abcdef" for c in t):
            return self.key_of(_HashOnly(t))
        return self.key_of(NB101Space().from_str(t))

    def cell_info(self, key: Hashable) -> dict[str, Any]:
        from harness.errors import NashError
        from harness.spaces.nb101 import NB101Space

        try:
            spec: str | None = NB101Space().to_str(self.cell_of(key))  # type: ignore[arg-type]
        except (NashError, OSError):
            spec = None
        return {"hash": str(key), "spec": spec}

    def row(self, key: Hashable) -> dict[str, dict[str, float]]:
        return {"cifar10": self._table.row(str(key))}

    def provenance(self) -> Provenance:
        return _provenance(
            "nb101-30k", "Ying et al., NAS-Bench-101, ICML 2019 (30k-record sample)"
        )

    def network(self, cell: Hashable, dataset: str, **kwargs: Any) -> Any:
        from harness.models import build_network

        return build_network("nb101", cell, **kwargs)


class _HashOnly:
    """A cell known only by its official hash (``nash query nb101-30k <hash>``)."""

    def __init__(self, h: str) -> None:
        self.hash = h


class NB101SurrogateBenchmark(NB101SampleBenchmark):
    """All 423,624 NB101 cells: real records where sampled, XGBoost predictions elsewhere."""

    name = "nb101-surrogate"
    aliases = ()
    description = (
        "NAS-Bench-101 completed by a surrogate (SURROGATE-BASED): 30k real records, XGBoost "
        "predictions for the other cells"
    )
    space = "nb101"
    compatible_spaces = ()
    fidelities = (108,)
    surrogate_based = True
    naswot_table = ""  # its cells are all of NB101; the committed table is the sample's
    optimum_known = False  # not computed over 423,624 predictions: regret is NaN, not a guess

    @functools.cache  # noqa: B019
    def metrics(self, dataset: str) -> list[Metric]:
        self.dataset(dataset)
        return [
            Metric("val_acc@108", "signal", "max", "%", 108, "108-epoch validation (surrogate)"),
            Metric("train_time_s@108", "info", "min", "s", 108, "108-epoch training s"),
        ]

    def key_of(self, cell: Hashable) -> Hashable:
        return cell  # any valid NB101 cell

    def value(self, dataset: str, metric: str, key: Hashable) -> float:
        return float(self.values(dataset, metric, [key])[0])

    def values(self, dataset: str, metric: str, keys: Sequence[Hashable]) -> np.ndarray:
        self.metric(dataset, metric)
        ev = self._evaluator
        res = ev.evaluate_many(list(keys))
        if metric == "val_acc@108":
            return np.array([r.signal for r in res], dtype=np.float64)
        return np.array([r.cost.train_s for r in res], dtype=np.float64)

    def keys(self, dataset: str) -> Sequence[Hashable]:
        """Every NB101 cell (423,624; enumerated once and cached: bench/RESULTS.md has the
        cost)."""
        from harness.spaces.nb101_enum import load_nb101_space

        table = load_nb101_space()
        return [table.cell_at(i) for i in range(len(table))]

    def optimum(self, dataset: str, metric: str) -> tuple[float, list[Hashable]]:
        return math.nan, []

    @functools.cached_property
    def _evaluator(self) -> Any:
        from harness.evaluators.surrogate_benchmark import make_nb101_surrogate_evaluator

        return make_nb101_surrogate_evaluator(seed=0)

    def evaluator(self, dataset: str, **kwargs: Any) -> Evaluator | None:
        from harness.evaluators.surrogate_benchmark import make_nb101_surrogate_evaluator

        extra = {k: v for k, v in kwargs.items() if k not in ("space",) and v}
        if extra or dataset not in self.datasets:
            raise ConfigError(
                f"{self.name} is a surrogate table of NB101 cifar10 validation accuracy: it "
                f"takes no evaluator settings ({', '.join(sorted(extra))}) and only dataset "
                "cifar10"
            )
        return make_nb101_surrogate_evaluator(space=kwargs.get("space"), seed=0)

    def provenance(self) -> Provenance:
        p = super().provenance()
        note = "surrogate: XGBoost fitted on the 30k records"
        return Provenance(p.source, p.licence, p.citation, p.files, note)
