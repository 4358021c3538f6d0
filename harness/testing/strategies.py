"""Contract tests every search strategy must pass; subclass and provide ``make_strategy``.

Example (in a plug-in's test suite)::

    from harness.testing.strategies import StrategyContract

    class TestMyStrategy(StrategyContract):
        def make_strategy(self, space, seed):
            return MyStrategy(space, seed=seed)

The checks run real searches on the shipped NB201 cifar10 table. A multi-fidelity strategy
(``multi_fidelity = True``, proposals with fidelities) is told that table's fidelities (12 and
200 epochs) as the run loop would tell it, and its budget is counted in full-evaluation
equivalents.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.spaces.nb201 import NB201Space
from harness.strategies._base import Strategy, unwrap

#: the fidelities of the shipped NB201 cifar10 table, told to multi-fidelity strategies
NB201_FIDELITIES = (12, 200)


class StrategyContract:
    """Behaviour every strategy must have; pytest collects the ``test_*`` methods."""

    budget = 60

    def make_strategy(self, space: Any, seed: Any) -> Strategy:
        raise NotImplementedError

    def _new(self, space: Any, seed: Any) -> Strategy:
        """A strategy as a run would see it before its first ask (fidelities told)."""
        s = self.make_strategy(space, seed)
        if s.multi_fidelity:
            s.bind_fidelities(NB201_FIDELITIES, max(NB201_FIDELITIES))
        return s

    def _run(self, seed: int, count_repeats: bool = False) -> list[Any]:
        space = NB201Space()
        ev = TabularEvaluator("nb201", "cifar10", space=space)
        s = self.make_strategy(space, np.random.SeedSequence([seed]))
        res = run_search(s, ev, Budget(evaluations=self.budget), count_repeats=count_repeats)
        return res.trials

    def test_proposals_are_valid(self) -> None:
        space = NB201Space()
        s = self._new(space, 0)
        for _ in range(5):
            a, f = unwrap(s.ask())
            assert space.is_valid(a)
            assert f is None or f in NB201_FIDELITIES
            s.tell(Observation(a, 50.0, fidelity=f if f is not None else 200))

    def test_same_seed_same_trajectory(self) -> None:
        a = [(t.arch, t.signal) for t in self._run(3)]
        b = [(t.arch, t.signal) for t in self._run(3)]
        assert a == b
        c = [(t.arch, t.signal) for t in self._run(4)]
        assert a != c

    def test_no_global_random_state(self) -> None:
        np_state = np.random.get_state()[1].copy()  # type: ignore[index]  # noqa: NPY002
        py_state = random.getstate()
        self._run(1)
        assert np.array_equal(np.random.get_state()[1], np_state)  # type: ignore[index]  # noqa: NPY002
        assert random.getstate() == py_state

    def test_spends_the_budget_and_finds_good_cells(self) -> None:
        trials = self._run(5, count_repeats=True)
        # plain strategies spend exactly the budget; a fractional last evaluation may overrun it
        # by less than one full evaluation
        assert self.budget - 1e-9 <= trials[-1].cum_cost < self.budget + 1 or (
            trials[-1].cum_queries < self.budget
        )
        # 60 evaluations on NB201 cifar10: any sensible strategy beats the space median (~84%)
        assert trials[-1].incumbent_signal > 85.0
        assert not any(math.isnan(t.signal) for t in trials)

    def test_survives_failed_evaluations(self) -> None:
        space = NB201Space()
        s = self._new(space, 0)
        for i in range(40):
            a, f = unwrap(s.ask())
            sig = math.nan if i % 3 == 0 else float(i)
            s.tell(Observation(a, sig, fidelity=f if f is not None else 200, ok=i % 3 != 0))
        assert space.is_valid(unwrap(s.ask())[0])
