"""Contract tests every search strategy must pass; subclass and provide ``make_strategy``.

Example (in a plug-in's test suite)::

    from harness.testing.strategies import StrategyContract

    class TestMyStrategy(StrategyContract):
        def make_strategy(self, space, seed):
            return MyStrategy(space, seed=seed)

The checks run real searches on a registered benchmark: NB201 cifar10 by default; set the
class attributes ``benchmark``, ``dataset`` and ``space`` to run them on yours. A multi-fidelity
strategy (``multi_fidelity = True``, proposals with fidelities) is told the benchmark's
fidelities as the run loop would tell it, and its budget is counted in full-evaluation
equivalents. The quality threshold is relative, so it means the same on any benchmark: after
the budget, the incumbent must beat the median cell of the space (random search at 60
evaluations is about at the 98th percentile).
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.strategies._base import Strategy, unwrap


class StrategyContract:
    """Behaviour every strategy must have; pytest collects the ``test_*`` methods."""

    budget = 60
    #: the registered benchmark, dataset and space the checks run on (space: the benchmark's)
    benchmark = "nb201"
    dataset = "cifar10"
    space: str | None = None

    def make_strategy(self, space: Any, seed: Any) -> Strategy:
        raise NotImplementedError

    def _space(self) -> Any:
        from harness.benchmarks import get_benchmark
        from harness.spaces import make_space

        return make_space(self.space or get_benchmark(self.benchmark).space)

    def _evaluator(self, space: Any) -> TabularEvaluator:
        return TabularEvaluator(self.benchmark, self.dataset, space=space)

    def _fidelities(self) -> tuple[int, ...]:
        from harness.benchmarks import get_benchmark

        return get_benchmark(self.benchmark).signal_fidelities(self.dataset)

    def _new(self, space: Any, seed: Any) -> Strategy:
        """A strategy as a run would see it before its first ask (fidelities told)."""
        s = self.make_strategy(space, seed)
        fids = self._fidelities()
        if s.multi_fidelity and fids:
            s.bind_fidelities(fids, max(fids))
        return s

    def _median_cell(self, space: Any) -> float:
        """The median signal of 400 random cells of the space (the quality bar)."""
        ev = self._evaluator(space)
        rng = np.random.default_rng(12345)
        vals = [ev.evaluate(space.sample(rng)).signal for _ in range(400)]
        return float(np.nanmedian(vals))

    def _run(self, seed: int, count_repeats: bool = False) -> list[Any]:
        space = self._space()
        ev = self._evaluator(space)
        s = self.make_strategy(space, np.random.SeedSequence([seed]))
        res = run_search(s, ev, Budget(evaluations=self.budget), count_repeats=count_repeats)
        return list(res.trials)

    def test_proposals_are_valid(self) -> None:
        space = self._space()
        s = self._new(space, 0)
        full = max(self._fidelities(), default=None)
        for _ in range(5):
            a, f = unwrap(s.ask())
            assert space.is_valid(a)
            assert f is None or f in self._fidelities()
            s.tell(Observation(a, 50.0, fidelity=f if f is not None else full))

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
        # plain strategies spend exactly the budget; one never overruns it, and a
        # multi-fidelity run stops short of it by less than the proposal that did not fit
        assert self.budget - 1 < trials[-1].cum_cost <= self.budget + 1e-9 or (
            trials[-1].cum_queries < self.budget
        )
        # any sensible strategy beats the median cell of the space after 60 evaluations
        assert trials[-1].incumbent_signal > self._median_cell(self._space())
        assert not any(math.isnan(t.signal) for t in trials)

    def test_survives_failed_evaluations(self) -> None:
        space = self._space()
        s = self._new(space, 0)
        full = max(self._fidelities(), default=None)
        for i in range(40):
            a, f = unwrap(s.ask())
            sig = math.nan if i % 3 == 0 else float(i)
            s.tell(Observation(a, sig, fidelity=f if f is not None else full, ok=i % 3 != 0))
        assert space.is_valid(unwrap(s.ask())[0])
