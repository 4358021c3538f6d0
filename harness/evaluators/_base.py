"""The one evaluator interface: tabular lookups, zero-cost scoring and real training alike.

``evaluate(arch, fidelity=None, seed=0) -> EvalResult``. The result's ``signal`` is what a search
may optimise (validation accuracy or a zero-cost score, higher is better); ``test`` is for
reporting and never reaches a strategy (the run loop hands strategies Observations, which have no
test field). ``cost`` says what the evaluation would cost for real.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any

from harness.records import EvalResult
from harness.spaces._base import SearchSpace


class Evaluator(ABC):
    """Maps an architecture of ``space`` to an :class:`EvalResult`."""

    space: SearchSpace[Any]
    #: whether ``EvalResult.cost.train_s`` is known (recorded or measured training seconds)
    records_train_time: bool = False
    #: default fidelity (epochs) when ``evaluate`` gets none; None where fidelity has no meaning
    default_fidelity: int | None = None
    fidelities: tuple[int, ...] = ()
    #: True when the signal is a zero-cost score rather than a trained network's accuracy
    is_proxy: bool = False

    @abstractmethod
    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult: ...

    def describe(self) -> dict[str, Any]:
        """A JSON-able description written into run manifests."""
        return {"class": type(self).__name__, "space": self.space.name}
