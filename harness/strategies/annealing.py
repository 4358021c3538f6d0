"""Simulated annealing over the space's mutation (Kirkpatrick et al. 1983).

The chain stands on one cell; each step proposes a mutation of it and accepts the proposal when
it is better, or when worse with probability ``exp(delta / T)`` (``delta`` < 0 in the signal's
units, e.g. accuracy points). The temperature follows ``schedule``:

- ``exponential``: ``T_k = t0 * alpha**k`` (geometric cooling, the common default);
- ``linear``: ``T_k = t0 * (1 - k / n_steps)``, reaching 0 after ``n_steps`` proposals;
- ``logarithmic``: ``T_k = t0 / log(2 + k)`` (the slow schedule of the convergence proofs).

Below ``t_min`` the chain is greedy (only improvements are accepted). With ``restart_after`` = R,
a chain whose best cell has not improved for R proposals restarts, from a random cell or from the
best cell of the run (``restart_from``), with the temperature reset to ``t0``. Temperatures are in
the signal's units: t0 = 1 suits accuracies in percent, not zero-cost scores.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

from harness.errors import ConfigError, unknown
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, check_positive_int, fitness

SCHEDULES = ("exponential", "linear", "logarithmic")
RESTART_FROM = ("random", "best")


class SimulatedAnnealing(Strategy):
    name = "simulated_annealing"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        schedule: str = "exponential",
        t0: float = 1.0,
        alpha: float = 0.95,
        n_steps: int = 150,
        t_min: float = 1e-3,
        restart_after: int | None = None,
        restart_from: str = "random",
    ) -> None:
        super().__init__(space, seed=seed)
        if schedule not in SCHEDULES:
            raise unknown("annealing schedule", schedule, SCHEDULES)
        if restart_from not in RESTART_FROM:
            raise unknown("annealing restart_from", restart_from, RESTART_FROM)
        for what, v in (("t0", t0), ("t_min", t_min)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ConfigError(f"annealing {what} must be a positive number, got {v!r}")
        if not 0 < alpha < 1:
            raise ConfigError(f"annealing alpha must be in (0, 1), got {alpha!r}")
        self.schedule, self.t0, self.alpha, self.t_min = schedule, float(t0), float(alpha), t_min
        self.n_steps = check_positive_int("n_steps", n_steps)
        self.restart_after = (
            None if restart_after is None else check_positive_int("restart_after", restart_after)
        )
        self.restart_from = restart_from
        self._current: Observation | None = None
        self._chain_best = -math.inf
        self._stale = 0
        self._k = 0  # proposals since the chain (re)started
        self.restarts = 0
        self.n_accepted = 0

    @property
    def temperature(self) -> float:
        k = self._k
        if self.schedule == "exponential":
            t = self.t0 * self.alpha**k
        elif self.schedule == "linear":
            t = self.t0 * max(0.0, 1.0 - k / self.n_steps)
        else:
            t = self.t0 / math.log(2.0 + k)
        return t if t >= self.t_min else 0.0

    def ask(self) -> Hashable:
        if self._current is None:
            return self.space.sample(self.rng)
        return self.space.mutate(self._current.arch, self.rng)

    def _accept(self, obs: Observation) -> bool:
        assert self._current is not None
        new, old = fitness(obs), fitness(self._current)
        if new >= old or old == -math.inf:
            return True
        t = self.temperature
        if t == 0.0 or new == -math.inf:
            return False
        return bool(self.rng.random() < math.exp((new - old) / t))

    def _tell(self, obs: Observation) -> None:
        if self._current is None:
            self._current, self._chain_best, self._stale, self._k = obs, fitness(obs), 0, 0
            return
        if self._accept(obs):
            self._current = obs
            self.n_accepted += 1
        self._k += 1
        if fitness(obs) > self._chain_best:
            self._chain_best, self._stale = fitness(obs), 0
        else:
            self._stale += 1
        if self.restart_after is not None and self._stale >= self.restart_after:
            self.restarts += 1
            if self.restart_from == "best":
                ok = [o for o in self.history if o.ok]
                best = max(ok, key=fitness) if ok else None
                self._current = best
                self._chain_best = fitness(best) if best is not None else -math.inf
            else:
                self._current = None
            self._stale, self._k = 0, 0
