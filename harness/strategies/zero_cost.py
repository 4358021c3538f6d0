"""NASWOT search (Mellor et al., ICML 2021): sample N cells, score each, keep the best score.

The strategy only proposes ``n_samples`` random cells and remembers what it is told; the scores
come from the evaluator it never sees (a :class:`~harness.evaluators.zero_cost.ZeroCostEvaluator`
in the paper's setting, or the tabular ``zc_nwot`` column). It is ``finished`` after ``N`` asks
and recommends the best-scoring cell. The paper samples N = 10 / 100 / 1000 cells; the registry
entry ``naswot_search`` uses N = 100.

The run's answer is the recommended cell's *trained* accuracy, which no zero-cost score gives:
the run loop's final evaluation looks it up (``run_search``'s ``final_evaluator`` evaluates the
recommendation once with a tabular evaluator and charges one training), so a NASWOT run costs
N scorings plus one training, as in the paper.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, check_positive_int


class NaswotSearch(Strategy):
    """Score ``n_samples`` uniformly sampled cells and recommend the best score.

    Args:
        space: the search space (NB201: uniform over the 15,625 cells, as in the paper).
        seed: seeds the strategy's own generator.
        n_samples: N, the number of cells scored (10 / 100 / 1000 in the paper).
        dedup: redraw a cell isomorphic to one already proposed (off in the paper, where N
            samples may repeat; with repeats free in the run loop, dedup spends N on N distinct
            cells).
    """

    name = "naswot_search"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        n_samples: int = 100,
        dedup: bool = False,
    ) -> None:
        super().__init__(space, seed=seed)
        self.n_samples = check_positive_int("n_samples", n_samples)
        n = space.size()
        if dedup and n is not None and self.n_samples > n:
            from harness.errors import ConfigError

            raise ConfigError(f"n_samples {n_samples} exceeds the space's {n} cells with dedup")
        self.dedup = bool(dedup)
        self.n_asked = 0
        self._seen: set[str] = set()

    def ask(self) -> Hashable:
        arch = self.space.sample(self.rng)
        if self.dedup:
            while self.space.canonical(arch) in self._seen:
                arch = self.space.sample(self.rng)
            self._seen.add(self.space.canonical(arch))
        self.n_asked += 1
        return arch

    @property
    def finished(self) -> bool:
        return self.n_asked >= self.n_samples
