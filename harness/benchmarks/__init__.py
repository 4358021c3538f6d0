"""Benchmarks and their registry (entry point group ``nash.benchmarks``).

Every benchmark is a :class:`~harness.benchmarks.base.Benchmark`; the harness looks them up here
by name (or by an accepted alias, or ``"package.module:Class"``) and keeps one instance per
process, since loading a table is the expensive part. A third-party package registers a class or
factory under ``[project.entry-points."nash.benchmarks"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.registry import Registry

if TYPE_CHECKING:
    from harness.benchmarks.base import Benchmark

BENCHMARKS: Registry[Benchmark] = Registry("benchmark", "nash.benchmarks")


def _nb201() -> Benchmark:
    from harness.benchmarks.builtin import NB201Benchmark

    return NB201Benchmark()


def _nb101_30k() -> Benchmark:
    from harness.benchmarks.builtin import NB101SampleBenchmark

    return NB101SampleBenchmark()


def _nb101_surrogate() -> Benchmark:
    from harness.benchmarks.builtin import NB101SurrogateBenchmark

    return NB101SurrogateBenchmark()


BENCHMARKS.add(
    "nb201",
    _nb201,
    "NAS-Bench-201: 15,625 cells x cifar10/cifar100/ImageNet16-120, HW-NAS-Bench costs, "
    "zero-cost scores (Dong & Yang 2020)",
)
BENCHMARKS.add(
    "nb101-30k",
    _nb101_30k,
    "NAS-Bench-101, the real 30,001-cell sample, validation only (Ying et al. 2019)",
    aliases=("nb101",),
)
BENCHMARKS.add(
    "nb101-surrogate",
    _nb101_surrogate,
    "NAS-Bench-101 completed by an XGBoost surrogate (SURROGATE-BASED)",
)


def _nbgraph() -> Benchmark:
    from harness.benchmarks.nbgraph import NBGraphBenchmark

    return NBGraphBenchmark()


def _nbgraph_proteins() -> Benchmark:
    from harness.benchmarks.nbgraph import NBGraphProteinsBenchmark

    return NBGraphProteinsBenchmark()


def _analognas() -> Benchmark:
    from harness.benchmarks.analognas import AnalogNASBenchmark

    return AnalogNASBenchmark()


BENCHMARKS.add(
    "nbgraph",
    _nbgraph,
    "NAS-Bench-Graph: 26,206 GNN cells x 8 graph datasets (Qin et al. 2022)",
    aliases=("nas-bench-graph",),
)
BENCHMARKS.add(
    "nbgraph-proteins",
    _nbgraph_proteins,
    "NAS-Bench-Graph on ogbn-proteins: 2,021 cells of its own 5-op space, ROC-AUC",
    aliases=("nas-bench-graph-proteins",),
)
BENCHMARKS.add(
    "analognas",
    _analognas,
    "AnalogNAS-Bench: NB201 cells on CIFAR-10 under analog in-memory computing, TEST split only",
    aliases=("analog-nasbench", "analognas-bench"),
)

_INSTANCES: dict[str, Benchmark] = {}


def get_benchmark(name: str, **params: Any) -> Benchmark:
    """The process-wide instance of a registered benchmark (aliases map to the one name)."""
    from harness.benchmarks.base import Benchmark
    from harness.errors import ConfigError

    entry = BENCHMARKS.get(name)
    key = entry.name if not params else f"{entry.name}:{sorted(params.items())}"
    bench = _INSTANCES.get(key)
    if bench is None:
        bench = entry.create(**params)
        if not isinstance(bench, Benchmark):
            raise ConfigError(
                f"benchmark {name!r} ({entry.description}) did not produce a "
                f"harness.benchmarks.base.Benchmark but {type(bench).__name__}"
            )
        _INSTANCES[key] = bench
    return bench


def canonical_name(name: str) -> str:
    """The one name of a benchmark given any accepted spelling (unknown names unchanged)."""
    try:
        return BENCHMARKS.get(name).name if ":" not in name else name
    except Exception:
        return name
