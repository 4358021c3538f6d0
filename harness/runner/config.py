"""Experiment files: the schema of a TOML grid, its validation, and each run's identity.

A run's identity is its :meth:`RunSpec.config_hash` over :meth:`RunSpec.resolved`: results of a
changed configuration are never mixed with older ones, and settings that do not change a run's
rows (which seeds run, where evaluations are placed, defaults older runs did not record) are left
out so that older runs keep resuming.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.benchmarks import get_benchmark
from harness.benchmarks.base import canonical_dataset
from harness.errors import ConfigError
from harness.evaluators.objectives import parse_benchmark_table, parse_strategy_table
from harness.runner import validate as V
from harness.runner.components import build_run, plugin_versions
from harness.runner.loop import Budget

FORMAT_VERSION = 1
_BENCH_KEYS = {
    "proxy_dataset",
    "evaluator",
    "evaluator_params",
    "name",
    "label",
    "dataset",
    "signal",
    "fidelity",
    "space",
    "space_params",
    "noise_sigma",
    "noise_seed",
    "objectives",
    "constraints",
    "reference_point",
}
_STRAT_KEYS = {
    "constraints",
    "workers",
    "gpus_per_eval",
    "max_seeds",
    "signal",
    "evaluator",
    "evaluator_params",
    "name",
    "label",
    "params",
    "budget",
    "count_repeats",
    "space",
    "space_params",
    "query_seeds",
}
_TOP_KEYS = {
    "workers",
    "gpus_per_eval",
    "name",
    "description",
    "seeds",
    "root_seed",
    "count_repeats",
    "query_seeds",
    "budget",
    "benchmark",
    "strategy",
}
_BUDGET_KEYS = {"evaluations", "distinct", "train_s", "wall_s", "queries"}


def _check_keys(where: str, table: Mapping[str, Any], valid: set[str]) -> None:
    import difflib

    for k in table:
        if k not in valid:
            close = difflib.get_close_matches(k, sorted(valid), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown key {k!r} in {where}{hint}; valid keys: {', '.join(sorted(valid))}"
            )


def _budget(where: str, raw: Any) -> Budget:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table, e.g. budget = {{ evaluations = 150 }}")
    _check_keys(where, raw, _BUDGET_KEYS)
    V.check_budget(where, raw)
    return Budget(**raw)


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    label: str
    dataset: str
    signal: str = "val_acc"
    fidelity: int | None = None
    space: str | None = None
    space_params: dict[str, Any] = field(default_factory=dict)
    noise_sigma: float = 0.0
    noise_seed: int = 0
    evaluator: str = "tabular"
    evaluator_params: dict[str, Any] = field(default_factory=dict)
    proxy_dataset: str | None = None
    #: declared search objectives, constraints and reference point (plain data; see
    #: :mod:`harness.evaluators.objectives`); None: the one signal
    objectives: dict[str, Any] | None = None


@dataclass(frozen=True)
class StrategySpec:
    name: str
    label: str
    params: dict[str, Any]
    budget: Budget
    count_repeats: bool
    query_seeds: int
    space: str | None = None
    space_params: dict[str, Any] | None = None
    #: fitness override: a signal (e.g. "zc_nwot") or an evaluator ("naswot") for this strategy
    signal: str | None = None
    evaluator: str | None = None
    evaluator_params: dict[str, Any] | None = None
    #: run only the first ``max_seeds`` seeds (for settings too costly for every seed)
    max_seeds: int | None = None
    #: evaluations in flight at once (asynchronous search; simulated on recorded training
    #: times for tabular benchmarks, Ray tasks for real training and scoring)
    workers: int = 1
    #: GPUs each real evaluation asks Ray for (only with workers > 1 on --engine ray)
    gpus_per_eval: float = 0.0
    #: constraints replacing the benchmark's (None: the benchmark's)
    constraints: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class RunSpec:
    experiment: str
    benchmark: BenchmarkSpec
    strategy: StrategySpec
    seed: int
    root_seed: int

    @property
    def rel_dir(self) -> str:
        return f"{self.benchmark.label}/{self.strategy.label}/seed={self.seed}"

    @property
    def run_id(self) -> str:
        return f"{self.experiment}/{self.rel_dir}"

    def resolved(self) -> dict[str, Any]:
        d = asdict(self)
        st = d["strategy"]
        st.pop("max_seeds")  # which seeds run is not part of a run's identity
        st.pop("gpus_per_eval")  # nor where evaluations are placed
        if st["workers"] == 1:  # the sequential default keeps the identities of older runs
            st.pop("workers")
        if st["constraints"] is None:  # so do single-objective runs
            st.pop("constraints")
        if d["benchmark"]["objectives"] is None:
            d["benchmark"].pop("objectives")
        d["format_version"] = FORMAT_VERSION
        plugins = plugin_versions(self)
        if plugins:  # a changed third-party component is a different run (built-ins: none)
            d["plugins"] = plugins
        return d

    def config_hash(self) -> str:
        blob = json.dumps(self.resolved(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    seeds: tuple[int, ...]
    root_seed: int
    benchmarks: tuple[BenchmarkSpec, ...]
    strategies: tuple[StrategySpec, ...]
    source: str = ""

    def runs(self) -> list[RunSpec]:
        return [
            RunSpec(self.name, b, s, seed, self.root_seed)
            for b in self.benchmarks
            for s in self.strategies
            for seed in self.seeds[: s.max_seeds]
        ]


def _seeds(raw: Any) -> tuple[int, ...]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        check_seed_count(raw)
        return tuple(range(raw))
    if (
        isinstance(raw, list)
        and raw
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw)
    ):
        if len(set(raw)) != len(raw):
            raise ConfigError("seeds must not repeat")
        check_seed_count(len(raw))
        return tuple(raw)
    raise ConfigError(
        f"seeds must be a count (e.g. 30) or a list of non-negative ints, got {raw!r}"
    )


def check_seed_count(n: int) -> None:
    """Refuse absurd seed counts before anything is built (a grid is held in memory)."""
    if n < 1:
        raise ConfigError(f"seeds must be >= 1, got {n}")
    if n > V.MAX_SEEDS:
        raise ConfigError(
            f"seeds = {n:,} is more than the {V.MAX_SEEDS:,} seeds one experiment may run; "
            "split the seeds over several experiments (seeds = [..]) or lower the count"
        )


def _max_seeds(where: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"{where} max_seeds must be a positive integer, got {raw!r}")
    return raw


def _positive_int(where: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigError(f"{where} must be a positive integer, got {raw!r}")
    return raw


def _non_negative(where: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw >= 0:
        raise ConfigError(f"{where} must be a number >= 0, got {raw!r}")
    return float(raw)


def parse_experiment(raw: Mapping[str, Any], *, source: str = "") -> Experiment:
    """Validate an experiment table; every mistake is a ConfigError naming the key.

    Every value is checked against its declared type (a TOML bool for booleans, an integer for
    counts); labels are single safe path components, unique ignoring case. Nothing is written
    before this returns, so a bad file leaves no trace.
    """
    from harness.strategies import STRATEGIES

    top = "the experiment"
    _check_keys(top, raw, _TOP_KEYS)
    if "name" not in raw or not isinstance(raw["name"], str) or not raw["name"].strip():
        raise ConfigError('the experiment needs a name = "..."')
    name = V.check_label("experiment name", raw["name"])
    seeds = _seeds(raw.get("seeds", 10))
    default_budget = _budget("[budget]", raw["budget"]) if "budget" in raw else None
    count_repeats = V.get_bool(top, raw, "count_repeats", False)
    query_seeds = V.get_int(top, raw, "query_seeds", 1, minimum=1)
    root_seed = V.get_int(top, raw, "root_seed", 0, minimum=0)
    description = V.get_str(top, raw, "description", "")
    top_workers = _positive_int("workers", raw.get("workers", 1))
    top_gpus = _non_negative("gpus_per_eval", raw.get("gpus_per_eval", 0.0))
    benches = V.get_tables("benchmark", raw)
    strats = V.get_tables("strategy", raw)
    bspecs = []
    for i, b in enumerate(benches):
        where = f"[[benchmark]] #{i + 1}"
        _check_keys(where, b, _BENCH_KEYS)
        if "name" not in b:
            raise ConfigError(f'{where} needs name = "nb201" or "nb101-30k"')
        bname = V.get_str(where, b, "name")
        dataset = V.get_str(where, b, "dataset", "cifar10")
        # one name per benchmark and one spelling per dataset (older spellings are mapped)
        bench = get_benchmark(bname)
        if ":" not in bname:
            bname = bench.name
        dataset = canonical_dataset(dataset, bench.datasets)  # others: e.g. real-training data
        label = V.check_label(f"{where} label", b.get("label", f"{bench.name}-{dataset}"))
        bspecs.append(
            BenchmarkSpec(
                name=bname,
                label=label,
                dataset=dataset,
                signal=V.get_str(where, b, "signal", "val_acc"),
                fidelity=V.get_int(where, b, "fidelity", None, minimum=1),
                space=V.get_str(where, b, "space", None),
                space_params=V.get_table(where, b, "space_params", {}),
                noise_sigma=V.get_number(where, b, "noise_sigma", 0.0),
                noise_seed=V.get_int(where, b, "noise_seed", 0, minimum=0),
                evaluator=V.get_str(where, b, "evaluator", "tabular"),
                evaluator_params=V.get_table(where, b, "evaluator_params", {}),
                proxy_dataset=V.get_str(where, b, "proxy_dataset", None),
                objectives=parse_benchmark_table(where, b),
            )
        )
    sspecs = []
    for i, s in enumerate(strats):
        where = f"[[strategy]] #{i + 1}"
        _check_keys(where, s, _STRAT_KEYS)
        if "name" not in s:
            raise ConfigError(f'{where} needs name = "<registered strategy>"')
        sname = V.get_str(where, s, "name")
        budget = _budget(f"{where} budget", s["budget"]) if "budget" in s else default_budget
        if budget is None:
            raise ConfigError(f"{where} has no budget and the experiment sets no [budget]")
        params = V.get_table(where, s, "params", {})
        V.check_params(where, STRATEGIES.get(sname).factory, params)
        sspecs.append(
            StrategySpec(
                name=sname,
                label=V.check_label(f"{where} label", s.get("label", sname)),
                params=params,
                budget=budget,
                count_repeats=V.get_bool(where, s, "count_repeats", count_repeats),
                query_seeds=V.get_int(where, s, "query_seeds", query_seeds, minimum=1),
                space=V.get_str(where, s, "space", None),
                space_params=V.get_table(where, s, "space_params", None),
                signal=V.get_str(where, s, "signal", None),
                evaluator=V.get_str(where, s, "evaluator", None),
                evaluator_params=V.get_table(where, s, "evaluator_params", None),
                max_seeds=_max_seeds(where, s.get("max_seeds")),
                workers=_positive_int(f"{where} workers", s.get("workers", top_workers)),
                gpus_per_eval=_non_negative(
                    f"{where} gpus_per_eval", s.get("gpus_per_eval", top_gpus)
                ),
                constraints=parse_strategy_table(where, s),
            )
        )
    V.check_unique("benchmark", [b.label for b in bspecs])
    V.check_unique("strategy", [s.label for s in sspecs])
    n_runs = len(bspecs) * sum(len(seeds[: s.max_seeds]) for s in sspecs)
    if n_runs > V.MAX_RUNS:
        raise ConfigError(
            f"the experiment describes {n_runs:,} runs, more than the {V.MAX_RUNS:,} one "
            "experiment may hold; split it into several experiments"
        )
    exp = Experiment(
        name=name,
        description=description,
        seeds=seeds,
        root_seed=root_seed,
        benchmarks=tuple(bspecs),
        strategies=tuple(sspecs),
        source=source,
    )
    # build every component once now (with its checks): a typo fails before any run starts
    for bspec in exp.benchmarks:
        for sspec in exp.strategies:
            build_run(RunSpec(exp.name, bspec, sspec, exp.seeds[0], exp.root_seed))
    return exp


def load_experiment(path: str | Path) -> Experiment:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"experiment file {p} not found")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{p} is not UTF-8 text (byte {e.start}); save the TOML file as UTF-8"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read {p}: {e.strerror or e}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p} is not valid TOML: {e}") from None
    try:
        return parse_experiment(raw, source=str(p))
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from None
