"""The strategy contract kit is not tied to NB201: it runs on other registered benchmarks."""

from __future__ import annotations

from typing import Any

import pytest

from harness import strategies
from harness.testing.strategies import StrategyContract

SETTINGS = [
    ("nb101-30k", "cifar10", None, "random_search"),
    ("nb101-30k", "cifar10", None, "aging_evolution_nb101"),
    ("nbgraph", "cora", None, "aging_evolution"),
    ("nbgraph", "cora", None, "local_search"),
    ("analognas", "cifar10", None, "genetic"),
]
SMALL = {"aging_evolution_nb101": {"population_size": 20, "sample_size": 5},
         "genetic": {"population_size": 10}}  # fmt: skip


@pytest.fixture(params=SETTINGS, ids=lambda p: f"{p[0]}-{p[3]}")
def setting(request: pytest.FixtureRequest) -> tuple[str, str, str | None, str]:
    return request.param  # type: ignore[no-any-return]


class TestOnOtherBenchmarks(StrategyContract):
    @pytest.fixture(autouse=True)
    def _pick(self, setting: tuple[str, str, str | None, str]) -> None:
        self.benchmark, self.dataset, self.space, self.name = setting

    def make_strategy(self, space: Any, seed: Any) -> strategies.Strategy:
        return strategies.create(self.name, space, seed=seed, **SMALL.get(self.name, {}))
