"""XGBoost regressor: NAS-EA-FA's fitness approximation.

Defaults are the reference study's ``XGBRegressor(eta=0.1)`` with every other setting at its
default (100 trees, depth 6) -- the same model fzjcdt/NAS-EA-FA uses. Two choices differ from a
bare ``XGBRegressor()`` on purpose:

- ``n_threads=1``: multi-threaded histogram building sums gradients in a scheduling-dependent
  order; one thread makes the model a pure function of (data, seed), which the harness's "same
  seed, same trajectory" rule needs. It is also the polite setting on a shared 2-core machine.
- ``tree_method="hist"`` (xgboost >= 2's default). The study ran xgboost 1.x, whose ``auto``
  picked ``exact`` on small data; on 0/1 encodings both consider the same single split point
  per feature, so they grow the same trees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.surrogates._base import BaseSurrogate


class XGBSurrogate(BaseSurrogate):
    """Gradient-boosted trees on a vector encoding (one model refitted from scratch per fit)."""

    input_kind = "vector"

    def __init__(
        self,
        *,
        eta: float = 0.1,
        n_estimators: int = 100,
        max_depth: int = 6,
        seed: int = 0,
        n_threads: int = 1,
        tree_method: str = "hist",
    ) -> None:
        self.eta = eta
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.seed = seed
        self.n_threads = n_threads
        self.tree_method = tree_method

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        import xgboost

        self.model_: Any = xgboost.XGBRegressor(
            learning_rate=self.eta,
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            random_state=int(self.seed) % (2**31),
            n_jobs=self.n_threads,
            tree_method=self.tree_method,
        )
        self.model_.fit(X, y)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(X), dtype=np.float64)
