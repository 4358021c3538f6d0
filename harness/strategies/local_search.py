"""Best-improvement local search with random restarts (White et al. 2021's strong baseline).

From the current cell, evaluate its whole mutation neighbourhood (in a random order); move to the
best neighbour if it beats the current cell, otherwise restart from a random cell.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, fitness


class LocalSearch(Strategy):
    name = "local_search"

    def __init__(self, space: SearchSpace[Any], *, seed: SeedLike = None) -> None:
        super().__init__(space, seed=seed)
        self._current: Observation | None = None
        self._queue: deque[Hashable] = deque()
        self._best_nb: Observation | None = None
        self._waiting = 0
        self.restarts = 0

    def ask(self) -> Hashable:
        if self._current is None:
            if self._waiting:
                raise RuntimeError("LocalSearch: ask() before the start cell was told")
            self._waiting = 1
            return self.space.sample(self.rng)
        if not self._queue:
            nbs = self.space.neighbours(self._current.arch)
            if not nbs:  # an isolated cell (e.g. in a closed pool): restart
                self._current = None
                self.restarts += 1
                return self.ask()
            order = self.rng.permutation(len(nbs))
            self._queue.extend(nbs[int(i)] for i in order)
            self._best_nb = None
        self._waiting += 1
        return self._queue.popleft()

    def _tell(self, obs: Observation) -> None:
        self._waiting -= 1
        if self._current is None:
            self._current = obs
            return
        if self._best_nb is None or fitness(obs) > fitness(self._best_nb):
            self._best_nb = obs
        if not self._queue and self._waiting == 0:  # neighbourhood done
            assert self._best_nb is not None
            if fitness(self._best_nb) > fitness(self._current):
                self._current = self._best_nb
            else:
                self._current = None  # local optimum: restart
                self.restarts += 1
            self._best_nb = None
