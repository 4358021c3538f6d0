"""Engines: where the runs of an experiment grid execute (a local process pool, or Ray).

An engine only computes runs, with the function the driver
(:func:`harness.runner.experiment.run_experiments`) hands it; the driver writes every result,
atomically, so resume semantics are the same whatever the engine: a run is finished iff its
``run.json`` exists. A run's random streams depend only on (root_seed, seed), so
engines and worker counts never change a row.

Faults: an exception inside a run (a bug, an evaluator crash outside the evaluation guard) is
recorded as that run's ``failed.json`` and the grid goes on; a worker process that dies (killed,
out of memory) is retried up to ``max_retries`` times, then recorded as failed. A
:class:`~harness.errors.NashError` (a configuration mistake, the same for every run) stops the
grid. Failed runs have no ``run.json``, so the next invocation retries them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, NashError
from harness.runner.raycluster import (
    check_address,
    check_ray_resources,
    first_line,
    import_ray,
    ray_init,
)

if TYPE_CHECKING:
    from harness.runner.compute import RunOutput
    from harness.runner.config import RunSpec

#: what an engine computes each run with (the driver passes it: engines import no run code)
Compute = Callable[["RunSpec"], "RunOutput"]

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Outcome:
    """What became of one run: its output, or why it failed, after ``attempts`` tries."""

    spec: RunSpec
    output: RunOutput | None
    error: str | None
    attempts: int


class Engine(ABC):
    """Computes runs and hands each :class:`Outcome` to ``done`` as it arrives."""

    name = "engine"

    @abstractmethod
    def run(
        self, specs: Sequence[RunSpec], compute: Compute, done: Callable[[Outcome], None]
    ) -> None: ...

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name}

    def close(self) -> None:  # noqa: B027 - optional
        """Release what the engine started."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: stop now (finished runs are kept; the same command resumes)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while runs execute (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def _stopping(pool: ProcessPoolExecutor) -> Iterator[None]:
    """Shut the pool down; on an interrupt or error, cancel queued runs and end the workers now.

    Why: ``ProcessPoolExecutor.__exit__`` waits for every queued run (minutes) before the
    interrupt is seen; finished runs are already written by the driver, so nothing is lost.
    """
    try:
        yield
    except BaseException:
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(5)
        raise
    else:
        pool.shutdown(wait=True)


_PR_SET_PDEATHSIG = 1


def _worker_init(parent: int) -> None:
    """In each pool worker: leave Ctrl-C to the parent, and exit when the parent dies.

    On Linux the kernel sends SIGTERM when the parent ends (``prctl(PR_SET_PDEATHSIG)``); a
    watcher thread covers other systems and a parent that died before the call.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="nash-parent-watch", daemon=True).start()


def _attempt(compute: Compute, spec: RunSpec) -> tuple[RunOutput | None, str | None]:
    """One run: its output, or why it failed; a configuration mistake stops the grid."""
    try:
        return compute(spec), None
    except NashError:
        raise
    except Exception as e:
        return None, first_line(e)


def _attempt_chunk(
    compute: Compute, specs: Sequence[RunSpec]
) -> list[tuple[RunOutput | None, str | None]]:
    """Several runs of one configuration, back to back in one pool task.

    Why: a cheap run (a table-lookup search) costs little more than its task's round trip, and
    the runs after the first find the worker's benchmark, evaluator and provenance built.
    """
    return [_attempt(compute, spec) for spec in specs]


#: most runs of one configuration sent to a worker as one task (an interrupt loses at most the
#: tasks in flight, so at most ``workers * MAX_CHUNK`` runs)
MAX_CHUNK = 8


def chunked(
    specs: Sequence[RunSpec], todo: Sequence[int], workers: int, most: int
) -> list[list[int]]:
    """Split ``todo`` (indices into ``specs``, in order) into tasks of one configuration each.

    Consecutive runs of one (experiment, benchmark, strategy) go together, at most ``most`` at
    a time and few enough that every worker gets about four tasks of each configuration, so the
    pool stays balanced to the end.
    """
    groups: list[list[int]] = []
    last = None
    for i in todo:
        key = specs[i].run_id.rsplit("/", 1)[0]
        if key != last:
            groups.append([])
            last = key
        groups[-1].append(i)
    out: list[list[int]] = []
    for g in groups:
        size = max(1, min(most, -(-len(g) // (4 * workers))))
        out += [g[j : j + size] for j in range(0, len(g), size)]
    return out


class LocalEngine(Engine):
    """A process pool on this machine (the default); ``workers=1`` runs in this process.

    Runs of one configuration go to the pool in tasks of up to ``chunk`` runs
    (:func:`chunked`); each run's result is still handed to the driver, and written, one by one.
    """

    name = "local"

    def __init__(
        self, workers: int | None = None, *, max_retries: int = 2, chunk: int = MAX_CHUNK
    ) -> None:
        if workers is None:
            workers = os.cpu_count() or 1
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ConfigError(f"chunk must be an integer >= 1, got {chunk!r}")
        self.workers = workers
        self.max_retries = max_retries
        self.chunk = chunk

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers}

    def run(
        self, specs: Sequence[RunSpec], compute: Compute, done: Callable[[Outcome], None]
    ) -> None:
        if self.workers == 1 or len(specs) <= 1:
            for spec in specs:
                out, err = _attempt(compute, spec)
                done(Outcome(spec, out, err, 1))
            return
        attempts = dict.fromkeys(range(len(specs)), 0)
        todo = list(range(len(specs)))
        while todo:
            # a dead worker breaks the whole pool: every unfinished run is charged one attempt
            # and the rest go to a fresh pool
            for i in todo:
                attempts[i] += 1
            broken: list[int] = []
            pool = ProcessPoolExecutor(
                max_workers=self.workers, initializer=_worker_init, initargs=(os.getpid(),)
            )
            with _stopping(pool):
                futs: dict[Future[list[tuple[RunOutput | None, str | None]]], list[int]] = {
                    pool.submit(_attempt_chunk, compute, [specs[i] for i in task]): task
                    for task in chunked(specs, todo, self.workers, self.chunk)
                }
                pending = set(futs)
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        task = futs[fut]
                        try:
                            results = fut.result()
                        except BrokenProcessPool:
                            broken += task
                            continue
                        except NashError:
                            pool.shutdown(cancel_futures=True)
                            raise
                        except Exception as e:  # the task itself failed (e.g. unpicklable)
                            results = [(None, first_line(e))] * len(task)
                        for i, (out, err) in zip(task, results, strict=True):
                            done(Outcome(specs[i], out, err, attempts[i]))
            todo = []
            for i in sorted(broken):
                if attempts[i] > self.max_retries:
                    done(
                        Outcome(
                            specs[i],
                            None,
                            f"worker process died {attempts[i]} times (killed or out of memory)",
                            attempts[i],
                        )
                    )
                else:
                    todo.append(i)


# -- Ray ---------------------------------------------------------------------------------------
class RayEngine(Engine):
    """Each run of the grid is a Ray task; the driver writes the results.

    Args:
        address: an existing cluster (``HOST:PORT`` of the head, ``auto``, or ``ray://``);
            None starts a private local instance with ``num_cpus`` CPUs and stops it on close.
        max_retries: how often a run whose worker died is retried before it is recorded failed.
        cpus_per_run: CPUs each run reserves (1: the search loop; evaluations that need more
            ask for their own, see ``gpus_per_eval`` in experiment files).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = 2,
        cpus_per_run: float = 1.0,
    ) -> None:
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        ray = import_ray()
        self._ray = ray
        self.address = address
        self.max_retries = max_retries
        self.cpus_per_run = cpus_per_run
        self._started = False
        if address:
            check_address(address)  # fail fast, even when this process is already connected
        if not ray.is_initialized():
            self._started = ray_init(ray, address, num_cpus)
        check_ray_resources(ray, cpus=cpus_per_run)
        self._board = ray.remote(num_cpus=0)(_Board).remote()
        self._task = ray.remote(_ray_run).options(
            num_cpus=cpus_per_run, max_retries=max_retries, retry_exceptions=False
        )

    def describe(self) -> dict[str, Any]:
        res = self._ray.cluster_resources()
        return {
            "engine": self.name,
            "address": self.address or "local instance",
            "ray": self._ray.__version__,
            "cluster_cpus": res.get("CPU", 0.0),
            "cluster_gpus": res.get("GPU", 0.0),
            "nodes": len([n for n in self._ray.nodes() if n.get("Alive")]),
        }

    def running(self) -> dict[str, dict[str, Any]]:
        """Runs started and not finished: run id -> {"pid", "node", "attempt"} of its worker."""
        return dict(self._ray.get(self._board.running.remote()))

    def run(
        self, specs: Sequence[RunSpec], compute: Compute, done: Callable[[Outcome], None]
    ) -> None:
        queue = iter(specs)
        window = self._window()
        refs: dict[Any, RunSpec] = {}

        def submit() -> None:
            for spec in itertools.islice(queue, max(0, window - len(refs))):
                refs[self._task.remote(compute, spec, self._board)] = spec

        try:
            submit()
            while refs:
                self._collect_one(refs, done)
                submit()
        except BaseException:  # an interrupt or a stopping error: no task outlives the call
            self._stop_tasks(list(refs))
            raise

    def _window(self) -> int:
        """Runs kept submitted at once: twice the cluster's run slots (at least 8).

        Why: submitting the whole grid at once meant cancelling hundreds of tasks on Ctrl-C,
        and Ray 2.60 can abort the driver when a force-cancel races a task's completion; a
        window also keeps the grid's priority order instead of Ray's queue order.
        """
        cpus = float(self._ray.cluster_resources().get("CPU", 0.0))
        return max(8, 2 * int(cpus // max(self.cpus_per_run, 1e-9)))

    def _stop_tasks(self, refs: list[Any]) -> None:
        """A private instance is stopped outright (its workers with it); on a shared cluster
        the tasks still in flight are cancelled one by one."""
        if self._started:
            with contextlib.suppress(Exception):
                self._ray.shutdown()
            return
        for r in refs:
            with contextlib.suppress(Exception):
                self._ray.cancel(r, force=True)

    def _collect_one(self, refs: dict[Any, RunSpec], done: Callable[[Outcome], None]) -> None:
        ray = self._ray
        ready, _ = ray.wait(list(refs), num_returns=1)
        ref = ready[0]
        spec = refs.pop(ref)
        rid = spec.run_id
        attempts = int(ray.get(self._board.attempts.remote(rid)))
        try:
            out = ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, NashError):  # run() cancels the others
                raise cause from None
            done(Outcome(spec, None, first_line(cause or e), attempts))
        except ray.exceptions.RayError as e:  # the worker died more often than retries
            done(
                Outcome(
                    spec,
                    None,
                    f"worker died {attempts} time(s) ({type(e).__name__}); "
                    f"retried {self.max_retries} time(s)",
                    attempts,
                )
            )
        else:
            done(Outcome(spec, out, None, attempts))
        self._board.forget.remote(rid)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


class _Board:
    """A tiny actor: which worker runs which run, and how many attempts each run took."""

    def __init__(self) -> None:
        self._running: dict[str, dict[str, Any]] = {}
        self._attempts: dict[str, int] = {}

    def started(self, rid: str, pid: int, node: str) -> int:
        n = self._attempts.get(rid, 0) + 1
        self._attempts[rid] = n
        self._running[rid] = {"pid": pid, "node": node, "attempt": n, "since": time.time()}
        return n

    def finished(self, rid: str) -> None:
        self._running.pop(rid, None)

    def running(self) -> dict[str, dict[str, Any]]:
        return dict(self._running)

    def attempts(self, rid: str) -> int:
        return self._attempts.get(rid, 1)

    def forget(self, rid: str) -> None:
        self._running.pop(rid, None)
        self._attempts.pop(rid, None)


def _ray_run(compute: Compute, spec: RunSpec, board: Any) -> RunOutput:
    import ray

    node = ray.get_runtime_context().get_node_id()
    ray.get(board.started.remote(spec.run_id, os.getpid(), node))
    out = compute(spec)
    ray.get(board.finished.remote(spec.run_id))
    return out


def make_engine(
    engine: str,
    *,
    workers: int | None = None,
    address: str | None = None,
    max_retries: int = 2,
) -> Engine:
    """The engine a command line asked for (``--engine``, ``--workers``, ``--address``)."""
    if engine not in ENGINES:
        from harness.errors import unknown

        raise unknown("engine", engine, ENGINES)
    if engine == "local":
        if address:
            raise ConfigError("--address is for --engine ray (a Ray cluster's head address)")
        return LocalEngine(workers, max_retries=max_retries)
    return RayEngine(address, num_cpus=workers, max_retries=max_retries)
