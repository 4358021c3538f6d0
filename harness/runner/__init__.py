"""The run loop, budgets, experiment grids and result storage."""

from harness.runner.loop import Budget, RunResult, Trial, run_search

__all__ = ["Budget", "RunResult", "Trial", "run_search"]
