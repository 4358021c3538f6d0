"""Every registered strategy passes the shipped contract kit."""

from __future__ import annotations

from typing import Any

import pytest

from harness import strategies
from harness.testing.strategies import StrategyContract

SMALL = {  # keep populations small enough for a 60-evaluation contract run
    "genetic": {"population_size": 10},
    "genetic_study": {"population_size": 10},
    "aging_evolution_nb101": {"population_size": 20, "sample_size": 5},
    # model-based strategies: smaller models so that the kit's runs stay fast
    "bananas": {"n_ensemble": 3, "surrogate_params": {"hidden": (20, 20), "epochs": 30}},
    "bananas_wide": {"n_ensemble": 2, "surrogate_params": {"hidden": (32, 32), "epochs": 30}},
    "gp_bo": {"batch_size": 5},
    "gp_bo_ucb": {"batch_size": 5},
}


@pytest.fixture(params=strategies.STRATEGIES.names())
def strategy_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestRegisteredStrategies(StrategyContract):
    @pytest.fixture(autouse=True)
    def _pick(self, strategy_name: str) -> None:
        self.name = strategy_name

    def make_strategy(self, space: Any, seed: Any) -> strategies.Strategy:
        return strategies.create(self.name, space, seed=seed, **SMALL.get(self.name, {}))
