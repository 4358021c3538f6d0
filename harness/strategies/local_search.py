"""Local search (White et al. 2021's strong baseline) and its variants.

From the current cell, evaluate its mutation neighbourhood in a random order.

- ``improvement = "best"`` (default): evaluate the whole neighbourhood, then move to the best
  neighbour if it beats the current cell.
- ``improvement = "first"``: move to the first neighbour that beats the current cell, without
  evaluating the rest of the neighbourhood.

At a local optimum (no neighbour is better) the search restarts from a random cell
(``restarts = true``, default) or stops (``restarts = false``; the run ends with "strategy
finished" and the budget may be left unspent, as in "local search until a local minimum").
The start of each (re)start is the best of ``n_init`` random cells (White et al. use 10; the
default 1 is the plain random start). Neighbours already evaluated in this run are not asked
again when ``skip_known`` (they would be free repeats; off by default to keep the original
rows): their recorded results take part in the comparison, so a known better neighbour is
still moved to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

from harness.errors import unknown
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, check_positive_int, fitness

IMPROVEMENTS = ("best", "first")


class LocalSearch(Strategy):
    name = "local_search"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        improvement: str = "best",
        restarts: bool = True,
        n_init: int = 1,
        skip_known: bool = False,
    ) -> None:
        super().__init__(space, seed=seed)
        if improvement not in IMPROVEMENTS:
            raise unknown("local search improvement", improvement, IMPROVEMENTS)
        self.improvement = improvement
        self.restart_enabled = bool(restarts)
        self.n_init = check_positive_int("n_init", n_init)
        self.skip_known = bool(skip_known)
        self._current: Observation | None = None
        self._queue: deque[Hashable] = deque()
        self._best_nb: Observation | None = None
        self._waiting = 0
        self._init: list[Observation] = []
        self._n_init_asked = 0
        #: what this run was told of each cell (with skip_known): known neighbours are compared
        #: from it instead of being asked again
        self._known: dict[str, Observation] = {}
        self._stopped = False
        self.restarts = 0

    @property
    def finished(self) -> bool:
        return self._stopped

    def _at_optimum(self) -> None:
        self._current = None
        self._queue.clear()
        self._best_nb = None
        self.restarts += 1
        if not self.restart_enabled:
            self._stopped = True

    def ask(self) -> Hashable:
        if self._current is None:
            if self._n_init_asked >= self.n_init:
                raise RuntimeError("LocalSearch: ask() before the start cells were told")
            self._n_init_asked += 1
            self._waiting += 1
            return self.space.sample(self.rng)
        if not self._queue:
            nbs = self.space.neighbours(self._current.arch)
            self._best_nb = None
            if self.skip_known:
                told = [self._known.get(self.space.canonical(n)) for n in nbs]
                known = [o for o in told if o is not None]
                # unknown neighbours once per isomorphism class (two may be the same cell)
                fresh = {self.space.canonical(n): n for n, o in zip(nbs, told, strict=True)
                         if o is None}  # fmt: skip
                nbs = list(fresh.values())
                if known:
                    self._best_nb = max(known, key=fitness)
                    better = fitness(self._best_nb) > fitness(self._current)
                    if better and (self.improvement == "first" or not nbs):
                        self._current, self._best_nb = self._best_nb, None  # a free move
                        return self.ask()
            if not nbs:  # an isolated cell (or every neighbour known and none better)
                self._at_optimum()
                if self._stopped:
                    return self._current_or_sample()
                return self.ask()
            order = self.rng.permutation(len(nbs))
            self._queue.extend(nbs[int(i)] for i in order)
        self._waiting += 1
        return self._queue.popleft()

    def _current_or_sample(self) -> Hashable:
        """Asked after stopping (only outside the run loop): any valid cell."""
        self._waiting += 1
        return self.space.sample(self.rng)

    def _tell(self, obs: Observation) -> None:
        self._waiting -= 1
        if self.skip_known:
            self._known[self.space.canonical(obs.arch)] = obs
        if self._stopped:
            return
        if self._current is None:
            self._init.append(obs)
            if len(self._init) == self.n_init:
                self._current = max(self._init, key=fitness)  # first of the best on ties
                self._init, self._n_init_asked = [], 0
            return
        if self._best_nb is None or fitness(obs) > fitness(self._best_nb):
            self._best_nb = obs
        if self.improvement == "first" and fitness(obs) > fitness(self._current):
            self._current = obs  # move at once; the rest of the neighbourhood is dropped
            self._queue.clear()
            self._best_nb = None
            return
        if not self._queue and self._waiting == 0:  # neighbourhood done
            assert self._best_nb is not None
            if fitness(self._best_nb) > fitness(self._current):
                self._current = self._best_nb
                self._best_nb = None
            else:
                self._at_optimum()
