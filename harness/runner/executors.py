"""Where the evaluations of one run happen: inline on an event-driven clock, or on Ray workers.

``run_search`` submits evaluations to an executor and consumes completions in the order the
executor reports them. Two executors exist:

- :class:`SimulatedExecutor` (the default) evaluates at submission and reports completions in
  the order of a simulated clock on which every evaluation takes the training time its benchmark
  recorded. With one worker this is the plain sequential loop; with W workers it is exactly the
  asynchronous setting of Real et al. (AmoebaNet), replayed deterministically without a cluster
  (ties are broken by submission order, so the same seed gives the same rows anywhere).
- :class:`RayExecutor` runs each evaluation as a Ray task (one GPU each if asked) and reports
  completions in real order; the clock is wall-clock seconds since the run started.

Both turn an exception inside an evaluation into a failed result (the search goes on), except
:class:`~harness.errors.NashError`, which is a configuration mistake and stops the run.
"""

from __future__ import annotations

import heapq
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, NashError
from harness.evaluators._base import Evaluator
from harness.records import STATUS_FAILED, Cost, EvalResult


def failed_result(reason: str) -> EvalResult:
    return EvalResult(signal=math.nan, cost=Cost(), status=STATUS_FAILED, reason=reason)


def evaluate_safely(
    evaluator: Evaluator, arch: Hashable, fidelity: int | None, seed: int
) -> EvalResult:
    """One evaluation; an unexpected exception becomes a failed result with its repr."""
    try:
        return evaluator.evaluate(arch, fidelity=fidelity, seed=seed)
    except NashError:
        raise  # a configuration mistake (e.g. a cell outside the benchmark): stop the run
    except Exception as e:  # a failed evaluation is recorded; the search goes on
        return failed_result(repr(e))


def check_simulated_workers(evaluator: Evaluator, workers: int) -> None:
    """Simulated asynchrony orders completions by recorded training times: it needs them."""
    if workers <= 1 or evaluator.records_train_time:
        return
    from harness.benchmarks import BENCHMARKS, get_benchmark

    def timed(name: str) -> bool:
        try:
            return bool(get_benchmark(name).records_train_time("cifar10"))
        except Exception:  # a benchmark whose data is not installed here is not suggested
            return False

    bench = evaluator.describe().get("benchmark", type(evaluator).__name__)
    have = ", ".join(n for n in BENCHMARKS.names() if timed(n)) or "none registered"
    raise ConfigError(
        f"simulating workers = {workers} needs recorded training times, which {bench} does "
        f"not have; use a benchmark that records them ({have}) or real training on "
        "--engine ray"
    )


@dataclass(frozen=True, slots=True)
class Completion:
    """One finished evaluation: its ticket, result, clock time and the worker slot it used."""

    ticket: int
    result: EvalResult
    clock_s: float
    worker: int


class Executor(ABC):
    """Runs the evaluations of one run on ``workers`` parallel workers."""

    workers: int = 1
    #: True when completions arrive in an order that depends only on the seed
    deterministic: bool = True

    @abstractmethod
    def submit(self, ticket: int, arch: Hashable, fidelity: int | None, seed: int) -> None:
        """Start an evaluation; at most ``workers`` are in flight."""

    @abstractmethod
    def next_done(self) -> Completion:
        """Block until the next evaluation completes and return it."""

    @abstractmethod
    def cancel_all(self) -> None:
        """Drop every evaluation in flight (the budget is spent); they are never reported."""


class SimulatedExecutor(Executor):
    """Evaluate at once; report completions on a simulated clock (recorded training seconds).

    With more than one worker every evaluation needs a duration, so the evaluator must record
    training times (NB101 and the NB101 surrogate do; NB201's shipped tables do not). A
    completion frees the worker slot it used; the next submission takes the lowest free slot.
    """

    def __init__(self, evaluator: Evaluator, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {workers!r}")
        check_simulated_workers(evaluator, workers)
        self.evaluator, self.workers = evaluator, workers
        self.now = 0.0
        self._heap: list[tuple[float, int, int, EvalResult]] = []
        self._free = list(range(workers))

    def submit(self, ticket: int, arch: Hashable, fidelity: int | None, seed: int) -> None:
        if not self._free:
            raise RuntimeError("SimulatedExecutor: submit with every worker busy")
        res = evaluate_safely(self.evaluator, arch, fidelity, seed)
        d = res.cost.train_s
        duration = d if math.isfinite(d) and d > 0 else 0.0
        worker = min(self._free)
        self._free.remove(worker)
        heapq.heappush(self._heap, (self.now + duration, ticket, worker, res))

    def next_done(self) -> Completion:
        t, ticket, worker, res = heapq.heappop(self._heap)
        self.now = t
        self._free.append(worker)
        return Completion(ticket, res, t, worker)

    def cancel_all(self) -> None:
        for _t, _ticket, worker, _res in self._heap:
            self._free.append(worker)
        self._heap.clear()


class RayExecutor(Executor):
    """Each evaluation is a Ray task; completions are reported as they really arrive.

    The evaluator is put in the object store once. A task whose worker dies is retried up to
    ``max_retries`` times by Ray, then recorded as a failed evaluation. ``gpus``/``cpus`` are the
    resources each evaluation asks for (a GPU each for real training).
    """

    deterministic = False

    def __init__(
        self,
        evaluator: Evaluator,
        workers: int,
        *,
        gpus: float = 0.0,
        cpus: float = 1.0,
        max_retries: int = 2,
    ) -> None:
        from harness.runner.raycluster import check_ray_resources, import_ray

        ray = import_ray()
        if not ray.is_initialized():
            raise ConfigError(
                "real asynchronous evaluations run on Ray: use --engine ray (or call "
                "harness.runner.engines.RayEngine) so that a Ray cluster is connected"
            )
        check_ray_resources(ray, gpus=gpus, cpus=cpus)
        self._ray = ray
        self.workers = workers
        self._evaluator_ref = ray.put(evaluator)
        self._remote = ray.remote(_ray_evaluate).options(
            num_gpus=gpus, num_cpus=cpus, max_retries=max_retries, retry_exceptions=False
        )
        self._refs: dict[Any, tuple[int, int]] = {}
        self._free = list(range(workers))
        self._t0 = time.perf_counter()

    def submit(self, ticket: int, arch: Hashable, fidelity: int | None, seed: int) -> None:
        worker = min(self._free)
        self._free.remove(worker)
        ref = self._remote.remote(self._evaluator_ref, arch, fidelity, seed)
        self._refs[ref] = (ticket, worker)

    def next_done(self) -> Completion:
        ray = self._ray
        (ref,), _ = ray.wait(list(self._refs), num_returns=1)
        ticket, worker = self._refs.pop(ref)
        self._free.append(worker)
        try:
            res = ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, NashError):
                raise cause from None
            res = failed_result(repr(cause or e))
        except ray.exceptions.RayError as e:  # worker died more often than retries allow
            res = failed_result(f"evaluation lost: {type(e).__name__}: {e}".splitlines()[0])
        return Completion(ticket, res, time.perf_counter() - self._t0, worker)

    def cancel_all(self) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._free.extend(w for _t, w in self._refs.values())
        self._refs.clear()


def _ray_evaluate(
    evaluator: Evaluator, arch: Hashable, fidelity: int | None, seed: int
) -> EvalResult:
    return evaluate_safely(evaluator, arch, fidelity, seed)
