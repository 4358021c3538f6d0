"""Random search: uniform samples from the space."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy


class RandomSearch(Strategy):
    """Uniform sampling; with ``dedup`` a cell isomorphic to one already proposed is redrawn.

    Dedup gives up after ``max_redraws`` consecutive repeats (the space is then nearly
    exhausted) and proposes the repeat rather than looping forever.
    """

    name = "random_search"
    supports_async = True

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        dedup: bool = False,
        max_redraws: int = 10_000,
    ) -> None:
        super().__init__(space, seed=seed)
        self.dedup, self.max_redraws = bool(dedup), int(max_redraws)
        self._seen: set[str] = set()

    batched = True
    #: proposals per batch (any number would do: no sample depends on a result)
    batch_size = 256

    def ask_batch(self, n: int) -> list[Hashable]:
        return [self.ask() for _ in range(max(1, min(n, self.batch_size)))]

    def ask(self) -> Hashable:
        arch = self.space.sample(self.rng)
        if self.dedup:
            for _ in range(self.max_redraws):
                if self.space.canonical(arch) not in self._seen:
                    break
                arch = self.space.sample(self.rng)
            self._seen.add(self.space.canonical(arch))
        return arch
