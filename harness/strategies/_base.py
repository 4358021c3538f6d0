"""The strategy interface: ask/tell, an own random generator, no evaluator, no test metric.

A strategy proposes architectures (``ask``) and learns their search signal (``tell``). It never
calls an evaluator and never sees test accuracy: the run loop gives it
:class:`~harness.records.Observation` objects, which carry no test field. All randomness comes
from ``self.rng``, seeded by the run, so the same seed gives the same trajectory anywhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import ConfigError
from harness.records import Observation
from harness.spaces._base import SearchSpace

SeedLike = int | np.random.SeedSequence | None


@dataclass(frozen=True, slots=True)
class Proposal:
    """An architecture with the fidelity (epochs) to evaluate it at.

    ``ask`` may return a Proposal instead of a plain architecture; a plain architecture means the
    run's own fidelity (the evaluator's default unless the run sets one), so strategies that never
    choose a fidelity keep working unchanged. The run loop charges a Proposal what its fidelity
    costs and tells the strategy the fidelity back in the Observation.
    """

    arch: Hashable
    fidelity: int | None = None


def unwrap(proposal: Any) -> tuple[Hashable, int | None]:
    """(architecture, explicit fidelity or None) of what ``ask`` returned."""
    if isinstance(proposal, Proposal):
        return proposal.arch, proposal.fidelity
    return proposal, None


def fitness(obs: Observation) -> float:
    """The signal as a fitness: failed evaluations rank below everything."""
    return obs.signal if obs.ok else -np.inf


class Strategy(ABC):
    """Base class of search strategies."""

    name: str = "strategy"
    #: True when ``ask`` may be called again before earlier asks are told (asynchronous
    #: workers, as in Real et al.). Generational strategies need every result of a generation.
    supports_async: bool = False
    #: True when ``ask`` returns :class:`Proposal` objects with fidelities of its choosing; the
    #: run loop then calls ``bind_fidelities`` with the benchmark's fidelities before the first ask
    multi_fidelity: bool = False

    def __init__(self, space: SearchSpace[Any], *, seed: SeedLike = None) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)
        self.history: list[Observation] = []

    @abstractmethod
    def ask(self) -> Hashable:
        """The next architecture to evaluate (or a :class:`Proposal` with its fidelity)."""

    #: True when :meth:`ask_batch` may give more than one proposal (generational strategies)
    batched: bool = False

    def ask_batch(self, n: int) -> list[Hashable]:
        """Between 1 and ``n`` proposals that need no result in between.

        Why: a generation is known before any of it is evaluated, so the run loop may take it
        at once. Contract: they are what ``ask`` would return one at a time with the tells in
        between, and ``finished`` stays False until the last is told; the loop tells them one
        by one and may drop the rest when the budget ends mid-batch. Default: one ``ask``.
        """
        return [self.ask()]

    def bind_fidelities(self, available: Sequence[int], full: int) -> None:  # noqa: B027
        """Learn the fidelities the benchmark offers up to the run's full fidelity ``full``.

        Called by the run loop (multi-fidelity strategies only) before the first ``ask``; a
        strategy raises :class:`~harness.errors.ConfigError` if it asks for one not offered.
        """

    def tell(self, obs: Observation) -> None:
        """Learn the result of an architecture this strategy asked for."""
        self.history.append(obs)
        self._tell(obs)

    def _tell(self, obs: Observation) -> None:  # noqa: B027 - optional hook
        """Strategy-specific bookkeeping (default: none)."""

    @property
    def finished(self) -> bool:
        """True when the strategy has nothing more to propose (e.g. its generations are done)."""
        return False

    def describe(self) -> dict[str, Any]:
        """What a run's manifest should record about the strategy (name; versions of any
        library it delegates to, in subclasses)."""
        return {"name": self.name}

    def recommend(self) -> Hashable | None:
        """The run's answer: the architecture with the best signal told so far."""
        ok = [o for o in self.history if o.ok]
        return max(ok, key=fitness).arch if ok else None


def draw_unknown(
    space: SearchSpace[Any], draw: Callable[[], Hashable], known: set[str], tries: int
) -> Hashable:
    """A proposal from ``draw()`` whose canonical key is not in ``known`` (then added to it).

    Why: an evolution that has converged re-proposes cells it has already evaluated; in the run
    loop those are free repeats and the run ends on the query cap instead of its budget. With
    ``reject_known`` a strategy redraws them instead. After ``tries`` known draws the last one
    is returned (the neighbourhood is exhausted; the loop then flags the run).
    """
    arch = draw()
    for _ in range(tries):
        key = space.canonical(arch)
        if key not in known:
            known.add(key)
            return arch
        arch = draw()
    return arch


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)


def check_population_fits(space: SearchSpace[Any], population_size: int) -> None:
    n = space.size()
    if n is not None and population_size > n:
        raise ConfigError(
            f"population_size {population_size} is larger than the search space ({n} cells)"
        )


def tournament(
    population: Sequence[Observation],
    k: int,
    rng: np.random.Generator,
    *,
    replace: bool,
    fitnesses: np.ndarray | None = None,
) -> Observation:
    """Best of ``k`` members drawn from ``population``; the first drawn wins ties.

    ``fitnesses``: the members' :func:`fitness` values in population order, where the caller
    keeps them (one array lookup instead of k Python comparisons; the same winner).
    """
    n = len(population)
    # with replacement, choice(n, k) is integers(0, n, k) draw for draw (without the overhead)
    idx = rng.integers(0, n, size=k) if replace else rng.choice(n, size=k, replace=False)
    drawn = (
        fitnesses[idx]
        if fitnesses is not None
        else np.array([fitness(population[i]) for i in idx.tolist()])
    )
    # argmax returns the first maximum: the earliest draw among equally fit members
    return population[int(idx[int(np.argmax(drawn))])]
