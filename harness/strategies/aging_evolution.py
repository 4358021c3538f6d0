"""Aging (regularized) evolution, Real et al. 2019.

A queue of the P most recent cells; each step samples S of them, mutates the best, appends the
child and removes the oldest. Presets: the NB201 paper (P=10, S=3, sample with replacement, as
in AutoDL-Projects' R_EA.py) and NB101 (P=100, S=10, as in the NB101 / Real et al. setting;
google-research/nasbench's example samples without replacement). ``reject_known`` redraws a
proposal of a cell already proposed in this run (off by default: then nothing changes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from harness.errors import ConfigError
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import (
    SeedLike,
    Strategy,
    check_population_fits,
    check_positive_int,
    draw_unknown,
    tournament,
)


class AgingEvolution(Strategy):
    name = "aging_evolution"
    supports_async = True

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        population_size: int = 10,
        sample_size: int = 3,
        sample_replace: bool = True,
        reject_known: bool = False,
        max_redraws: int = 1000,
    ) -> None:
        super().__init__(space, seed=seed)
        self.population_size = check_positive_int("population_size", population_size)
        self.sample_size = check_positive_int("sample_size", sample_size)
        check_population_fits(space, self.population_size)
        if not sample_replace and self.sample_size > self.population_size:
            raise ConfigError(
                f"sample_size {sample_size} is larger than population_size {population_size} "
                "(sampling without replacement)"
            )
        self.sample_replace = bool(sample_replace)
        self.reject_known = bool(reject_known)
        self.max_redraws = check_positive_int("max_redraws", max_redraws)
        self._known: set[str] = set()  # canonical keys proposed so far (with reject_known)
        self._population: deque[Observation] = deque()
        self._n_initial_asked = 0

    def ask(self) -> Hashable:
        draw: Callable[[], Hashable]
        if self._n_initial_asked < self.population_size:
            self._n_initial_asked += 1
            draw = self._sample
        elif not self._population:
            raise RuntimeError("AgingEvolution: ask() before the initial population was told")
        else:
            draw = self._child
        if self.reject_known:
            return draw_unknown(self.space, draw, self._known, self.max_redraws)
        return draw()

    def _sample(self) -> Hashable:
        return self.space.sample(self.rng)

    def _child(self) -> Hashable:
        return self.space.mutate(self._select_parent().arch, self.rng)

    def _select_parent(self) -> Observation:
        """The tournament winner of the population (multi-objective variants override it).

        With workers in flight a child may be asked before the whole initial population is
        told; a tournament without replacement then draws from the members present.
        """
        pop = list(self._population)
        k = self.sample_size if self.sample_replace else min(self.sample_size, len(pop))
        return tournament(pop, k, self.rng, replace=self.sample_replace)

    def _tell(self, obs: Observation) -> None:
        self._population.append(obs)
        if len(self._population) > self.population_size:
            self._population.popleft()
