"""Small real experiments run with the harness once per test session (seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment

SMALL = {
    "name": "ana_small",
    "description": "analysis tests: three strategies, two datasets, 30 evaluations",
    "seeds": 6,
    "budget": {"evaluations": 30},
    "benchmark": [
        {"name": "nb201", "dataset": "cifar10", "fidelity": 12},
        {"name": "nb201", "dataset": "cifar100", "fidelity": 12},
    ],
    "strategy": [
        {"name": "aging_evolution"},
        {"name": "random_search"},
        {"name": "local_search"},
    ],
}


@pytest.fixture(scope="session")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 strategies x 2 NB201 datasets x 6 seeds, 30 charged evaluations each (36 runs)."""
    out = tmp_path_factory.mktemp("runs")
    return run_experiment(parse_experiment(SMALL), out, workers=1, progress=False)
