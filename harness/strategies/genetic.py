"""Generational genetic algorithm (the reference study's GA, and variants).

Population P of random valid cells; each generation makes P children: a parent by tournament
selection (best of k = ``tournament_frac`` x P, drawn with replacement in the study), optional
uniform crossover with a second tournament winner, then the space's mutation (the study's bitwise
mutation on its genome, or per-edge mutation on the native NB201 genome). Children replace the
population (generational, no elitism by default; ``elitism`` keeps the best E of the previous
generation). With ``reject_known`` a proposal of a cell already proposed in this run is redrawn
(selection and variation again), so a converged population keeps spending its budget on new
cells; off by default (then nothing changes, draw for draw). Fitness is whatever signal the
evaluator gives (validation accuracy or a zero-cost score).

Differences from the study's code, on purpose: its initial population is evaluated but keeps
fitness 0, so generation 1's tournaments return their first draw; here the initial population's
real fitness is used (``study_zero_initial_fitness=True`` restores the quirk).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

import numpy as np

from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import (
    SeedLike,
    Strategy,
    check_fraction,
    check_population_fits,
    check_positive_int,
    draw_unknown,
    fitness,
    tournament,
)


class GeneticAlgorithm(Strategy):
    name = "genetic"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        population_size: int = 100,
        tournament_frac: float = 0.2,
        tournament_replace: bool = True,
        n_generations: int | None = None,
        crossover_rate: float = 0.0,
        elitism: int = 0,
        study_zero_initial_fitness: bool = False,
        reject_known: bool = False,
        max_redraws: int = 1000,
    ) -> None:
        super().__init__(space, seed=seed)
        self.population_size = check_positive_int("population_size", population_size)
        check_population_fits(space, self.population_size)
        self.tournament_frac = check_fraction("tournament_frac", tournament_frac)
        self.k = max(1, int(self.tournament_frac * self.population_size))
        if not tournament_replace and self.k > self.population_size:
            raise ValueError("tournament larger than the population")
        self.tournament_replace = bool(tournament_replace)
        self.n_generations = (
            None if n_generations is None else check_positive_int("n_generations", n_generations)
        )
        if not 0 <= crossover_rate <= 1:
            from harness.errors import ConfigError

            raise ConfigError(f"crossover_rate must be in [0, 1], got {crossover_rate}")
        self.crossover_rate = float(crossover_rate)
        self.elitism = check_positive_int("elitism", elitism, minimum=0)
        if self.elitism >= self.population_size:
            from harness.errors import ConfigError

            raise ConfigError(
                f"elitism {elitism} must be smaller than population_size {population_size}"
            )
        self.study_zero_initial_fitness = bool(study_zero_initial_fitness)
        self.reject_known = bool(reject_known)
        self.max_redraws = check_positive_int("max_redraws", max_redraws)
        self._known: set[str] = set()  # canonical keys proposed so far (with reject_known)
        self.generation = 0  # 0 = the initial random population
        self._population: list[Observation] = []
        self._fitnesses = np.empty(0)  # fitness of each population member, in order
        self._pending: deque[Hashable] = deque()
        self._children: list[Observation] = []
        self._n_asked_in_gen = 0

    @property
    def finished(self) -> bool:
        return self.n_generations is not None and self.generation > self.n_generations

    def _gen_size(self) -> int:
        return (
            self.population_size if self.generation == 0 else self.population_size - self.elitism
        )

    def ask(self) -> Hashable:
        if self._n_asked_in_gen >= self._gen_size():
            raise RuntimeError("GeneticAlgorithm: ask() before the generation was told")
        self._n_asked_in_gen += 1
        if self.reject_known:
            return draw_unknown(self.space, self._propose, self._known, self.max_redraws)
        return self._propose()

    batched = True

    def ask_batch(self, n: int) -> list[Hashable]:
        """The rest of the generation, up to ``n`` (its members need no result in between)."""
        return [self.ask() for _ in range(max(1, min(n, self._gen_size() - self._n_asked_in_gen)))]

    def _propose(self) -> Hashable:
        if self.generation == 0:
            return self.space.sample(self.rng)
        pop, fits, k, rep = self._population, self._fitnesses, self.k, self.tournament_replace
        parent = tournament(pop, k, self.rng, replace=rep, fitnesses=fits)
        child = parent.arch
        if self.crossover_rate and self.rng.random() < self.crossover_rate:
            other = tournament(pop, k, self.rng, replace=rep, fitnesses=fits)
            child = self.space.crossover(child, other.arch, self.rng)
        return self.space.mutate(child, self.rng)

    def _tell(self, obs: Observation) -> None:
        if self.generation == 0 and self.study_zero_initial_fitness:
            obs = Observation(obs.arch, 0.0, obs.fidelity, obs.ok)
        self._children.append(obs)
        if len(self._children) == self._gen_size():
            elites = sorted(self._population, key=fitness, reverse=True)[: self.elitism]
            self._population = elites + self._children if self.generation else self._children
            self._fitnesses = np.array([fitness(o) for o in self._population])
            self._children = []
            self._n_asked_in_gen = 0
            self.generation += 1
