"""Building one run's components: space, evaluator, strategy, budget, from a run's spec.

Everything is looked up in the registries (benchmarks, spaces, strategies), and the checks that
depend on what was built (budgets a benchmark can charge, asynchronous workers, spaces a benchmark
is defined on, real seeds) live here once, so the config parser, the engines and the loop never
repeat them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import ConfigError, unknown
from harness.runner.loop import Budget, check_async

if TYPE_CHECKING:
    from harness.benchmarks.base import Benchmark
    from harness.runner.config import RunSpec
    from harness.spaces._base import SearchSpace

EVALUATORS = ("tabular", "naswot", "training")


def benchmark_of(name: str) -> Benchmark:
    from harness.benchmarks import get_benchmark

    return get_benchmark(name)


def check_space(bench: Benchmark, space: SearchSpace[Any]) -> None:
    """Refuse a space whose cells the benchmark has no results for."""
    from harness.spaces import cell_space_of

    allowed = {bench.space, *bench.compatible_spaces}
    if space.name in allowed or cell_space_of(space) in allowed:
        return
    raise ConfigError(
        f"benchmark {bench.name} is defined on the space {bench.space!r}"
        + (f" (also: {', '.join(bench.compatible_spaces)})" if bench.compatible_spaces else "")
        + f", not on {space.name!r}; choose one of those spaces"
    )


def simulated(kind: str) -> bool:
    """Evaluations that are table lookups: their asynchrony is simulated, never distributed."""
    return kind == "tabular"


def build_space(spec: RunSpec) -> SearchSpace[Any]:
    from harness.spaces import make_space

    b, s = spec.benchmark, spec.strategy
    bench = benchmark_of(b.name)
    space_params = s.space_params if s.space_params is not None else b.space_params
    space = make_space(s.space or b.space or bench.space, space_params)
    check_space(bench, space)
    return space


def build_run(spec: RunSpec) -> tuple[Any, Any, Budget, Any]:
    """Instantiate (strategy, evaluator, budget, final evaluator) for one run.

    Seeds come from (root_seed, seed) only. When the search signal is a zero-cost proxy, the
    final evaluator looks up the validation accuracy of the recommended cell once (one training,
    charged), so proxy-driven searches pay for the cell they pick. Every run gets its own space
    and evaluator: spaces and scoring evaluators keep caches whose contents depend on the
    queries seen (a pool space's neighbour lists, a score memo), so sharing them between runs
    changes rows; the benchmark's tables are shared (the registry loads them once per process).
    """
    from harness import strategies
    from harness.evaluators.tabular import TabularEvaluator

    b, s = spec.benchmark, spec.strategy
    bench = benchmark_of(b.name)
    kind = s.evaluator or b.evaluator
    if kind not in EVALUATORS:
        raise unknown("evaluator", kind, EVALUATORS)
    space = build_space(spec)
    evaluator = _evaluator(spec, bench, space, kind)
    ss = np.random.SeedSequence([spec.root_seed, spec.seed])
    strategy = strategies.create(s.name, space, seed=ss, **s.params)
    if b.objectives is not None or s.constraints is not None:
        from harness.evaluators.objectives import apply_to_run

        evaluator, strategy = apply_to_run(b, s, evaluator, strategy)
    check_run(spec, bench, strategy, evaluator, kind)
    final = None
    if evaluator.is_proxy:
        final = TabularEvaluator(
            bench,
            b.dataset,
            signal="val_acc",
            fidelity=b.fidelity,
            space=space,
            noise_sigma=b.noise_sigma,
            noise_seed=b.noise_seed,
        )
    return strategy, evaluator, s.budget, final


def _evaluator(spec: RunSpec, bench: Benchmark, space: SearchSpace[Any], kind: str) -> Any:
    from harness.evaluators.tabular import TabularEvaluator
    from harness.spaces import cell_space_of, make_space

    b, s = spec.benchmark, spec.strategy
    eparams = s.evaluator_params if s.evaluator_params is not None else b.evaluator_params
    if kind == "tabular":
        evaluator = bench.evaluator(b.dataset, space=space, **eparams)
        if evaluator is not None:  # a benchmark with its own evaluator (e.g. a surrogate)
            return evaluator
        if eparams:
            raise ConfigError(
                f"evaluator 'tabular' takes no evaluator_params (got {sorted(eparams)}); use "
                "signal, fidelity and noise_sigma"
            )
        return TabularEvaluator(
            bench,
            b.dataset,
            signal=s.signal or b.signal,
            fidelity=b.fidelity,
            space=space,
            noise_sigma=b.noise_sigma,
            noise_seed=b.noise_seed,
            proxy_dataset=b.proxy_dataset,
        )
    if kind == "naswot":
        from harness.evaluators.zero_cost import ZeroCostEvaluator

        try:
            return ZeroCostEvaluator(bench.name, b.dataset, space=space, **eparams)
        except TypeError as e:
            raise ConfigError(f"evaluator 'naswot': {e}") from None
    # real training: evaluator_params hold the data and the recipe
    from harness.evaluators.training import TrainingEvaluator

    tparams = dict(eparams)
    tdata = tparams.pop("dataset", b.dataset)  # evaluator_params' dataset wins
    if b.fidelity is not None:  # the benchmark's fidelity is the default epochs
        if tparams.setdefault("epochs", b.fidelity) != b.fidelity:
            raise ConfigError(
                f"{b.label}: fidelity = {b.fidelity} and evaluator_params epochs = "
                f"{tparams['epochs']} disagree; set one of them"
            )
    network_space = cell_space_of(make_space(bench.space))
    try:
        return TrainingEvaluator(network_space, tdata, space=space, **tparams)
    except TypeError as e:
        raise ConfigError(f"evaluator 'training': {e}") from None


def check_run(spec: RunSpec, bench: Benchmark, strategy: Any, evaluator: Any, kind: str) -> None:
    """The checks that need the built components, each written once.

    The budget and worker checks are the loop's and the executor's own (the ones a direct
    caller of ``run_search`` meets), called here with the run's labels so that an experiment
    file fails at parse time, naming the strategy and benchmark.
    """
    from harness.runner.executors import check_simulated_workers
    from harness.runner.loop import _check_budget

    b, s = spec.benchmark, spec.strategy
    where = f"strategy {s.label!r} on {b.label}"
    try:
        _check_budget(s.budget, evaluator)
        check_async(strategy, s.workers)
        if simulated(kind):
            check_simulated_workers(evaluator, s.workers)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    if s.query_seeds > 1 and kind == "tabular":
        noisy = getattr(evaluator, "noise_sigma", 0.0) > 0
        if bench.seed_policy != "real" and not noisy:
            raise ConfigError(
                f"{where}: query_seeds = {s.query_seeds} asks for "
                f"training seeds, but {bench.name} has one value per cell (no per-seed values) "
                "and no noise model is declared: every seed would return the same number. "
                "Set noise_sigma on the benchmark, or query_seeds = 1"
            )
    _check_budget_charges(where, s.budget, s.signal or b.signal, strategy, evaluator)


def _check_budget_charges(
    where: str, bud: Budget, signal: str, strategy: Any, evaluator: Any
) -> None:
    """Refuse a budget no evaluation can spend: a proxy signal is never a charged evaluation.

    Without this, a proxy search under ``evaluations = 30`` only stops at the safety cap of
    queries (100,000 and more). Strategies with a natural end (generations, rounds, samples)
    stop by themselves and keep their budgets.
    """
    from harness.strategies._base import Strategy

    spendable = bud.queries or bud.distinct or bud.wall_s
    natural_end = type(strategy).finished is not Strategy.finished
    if evaluator.is_proxy and not spendable and not natural_end:
        raise ConfigError(
            f"{where}: the search signal {signal!r} is a zero-cost proxy, which charges no "
            "evaluations, so a budget of evaluations or training seconds is never spent; give "
            "a budget in queries, e.g. budget = { queries = 100 }"
        )


def plugin_versions(spec: RunSpec) -> dict[str, str]:
    """Third-party distributions (with versions) that provide a component of the run.

    Built-ins are not listed (the harness's own version is in every manifest), so the identity
    of runs made only of built-ins does not change with a harness release.
    """
    from harness.benchmarks import BENCHMARKS
    from harness.spaces import SPACES
    from harness.strategies import STRATEGIES

    b, s = spec.benchmark, spec.strategy
    out: dict[str, str] = {}
    names: list[tuple[str, Any, str]] = [
        ("benchmark", BENCHMARKS, b.name),
        ("strategy", STRATEGIES, s.name),
    ]
    sp = s.space or b.space
    if sp:
        names.append(("space", SPACES, sp))
    sur = dict(s.params).get("surrogate")
    if isinstance(sur, str):
        from harness.surrogates import SURROGATES

        names.append(("surrogate", SURROGATES, sur))
    for kind, reg, name in names:
        try:
            e = reg.get(name)
        except Exception:
            continue
        if e.distribution and e.distribution != "nasbench-harness":
            out[f"{kind}:{name}"] = f"{e.distribution}=={e.version}"
    return out
