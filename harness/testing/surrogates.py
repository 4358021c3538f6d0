"""Contract tests every surrogate must pass; subclass and provide ``make_surrogate``.

Example (in a plug-in's test suite)::

    from harness.testing.surrogates import SurrogateContract

    class TestMySurrogate(SurrogateContract):
        def make_surrogate(self, seed):
            return MySurrogate(seed=seed)

Why these checks: a strategy refits its surrogate hundreds of times and trusts it blindly, so a
surrogate must return ``self`` from ``fit`` (chaining), predict one finite number per input,
leave the caller's arrays alone (strategies keep growing the same training set), be a pure
function of its data and seed (the harness's same-seed-same-trajectory rule), fail clearly on
misuse, and -- the point of having one -- rank real cells better than a constant. The quality
check trains on ``n_train`` random cells of the shipped NB201 cifar10 200-epoch validation column
(seed means) and requires Kendall tau > ``min_kendall_tau`` on ``n_test`` held-out cells.

Inputs come from :class:`~harness.spaces.nb201.NB201Space` encodings: ``vector_encoding``
(default ``"onehot"``) for vector surrogates, ``"graph"`` for ``input_kind = "graph"``.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, ClassVar

import numpy as np
import pytest

from harness.spaces._base import Graph
from harness.surrogates._base import (
    NotFittedError,
    Surrogate,
    SurrogateInputError,
    input_kind_of,
)


@functools.cache
def nb201_data(kind: str, n_train: int, n_test: int, seed: int = 0) -> tuple[Any, ...]:
    """(X_train, y_train, X_test, y_test) from the real NB201 cifar10 val_acc@200 column."""
    from harness.benchmarks import nb201 as tables
    from harness.spaces import nb201

    val = np.asarray(tables.load().column("cifar10", "val_acc@200"), dtype=np.float64)
    idx = np.random.default_rng(seed).permutation(nb201.N_CELLS)
    tr, te = idx[:n_train], idx[n_train : n_train + n_test]
    space = nb201.NB201Space()

    def enc(ids: np.ndarray) -> Any:
        rows = [space.encode(nb201.arch_of_index(int(i)), kind) for i in ids]
        return rows if kind == "graph" else np.asarray(rows, dtype=np.float32)

    return enc(tr), val[tr], enc(te), val[te]


def _snapshot(X: Any) -> Any:
    if isinstance(X, np.ndarray):
        return X.copy()
    return [Graph(g.x.copy(), g.edge_index.copy()) for g in X]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    return all(
        np.array_equal(g.x, h.x) and np.array_equal(g.edge_index, h.edge_index)
        for g, h in zip(a, b, strict=True)
    )


class SurrogateContract:
    """Behaviour every surrogate must have; pytest collects the ``test_*`` methods."""

    n_train = 300
    n_test = 1000
    min_kendall_tau = 0.3
    vector_encoding = "onehot"

    def make_surrogate(self, seed: int) -> Surrogate:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------
    def _kind(self) -> str:
        return "graph" if input_kind_of(self.make_surrogate(0)) == "graph" else "vector"

    def _data(self) -> tuple[Any, ...]:
        enc = "graph" if self._kind() == "graph" else self.vector_encoding
        return nb201_data(enc, self.n_train, self.n_test)

    def cache_key(self) -> str:
        """Tests sharing this key share one fitted model (fits are the slow part). The default,
        the unfitted model's ``repr``, is right for surrogates whose repr shows their
        hyperparameters (all built-ins); override when it does not."""
        return f"{type(self).__qualname__}:{self.make_surrogate(0)!r}"

    _fits: ClassVar[dict[str, tuple[Any, ...]]] = {}

    @pytest.fixture
    def fitted(self) -> tuple[Any, ...]:
        """One fit on the real training set, with copies of the inputs taken before fitting."""
        key = self.cache_key()
        if key not in SurrogateContract._fits:
            X, y, Xt, yt = self._data()
            X_before, y_before = _snapshot(X), y.copy()
            s = self.make_surrogate(0)
            ret = s.fit(X, y)
            SurrogateContract._fits[key] = (s, ret, X, y, Xt, yt, (X_before, y_before))
        return SurrogateContract._fits[key]

    # -- the contract -------------------------------------------------------------------------
    def test_fit_returns_self_and_keeps_inputs(self, fitted: Any) -> None:
        s, ret, X, y, _, _, (X_before, y_before) = fitted
        assert ret is s
        assert _same(X, X_before), "fit changed its X"
        assert np.array_equal(y, y_before), "fit changed its y"

    def test_predictions_are_finite_with_one_per_input(self, fitted: Any) -> None:
        s, _, _, _, Xt, _, _ = fitted
        pred = s.predict(Xt[:7])
        assert isinstance(pred, np.ndarray) and pred.shape == (7,)
        assert np.all(np.isfinite(pred))
        before = _snapshot(Xt[:7]) if isinstance(Xt, list) else Xt[:7].copy()
        s.predict(Xt[:7])
        assert _same(Xt[:7], before), "predict changed its X"

    def test_ranks_real_cells_better_than_a_constant(self, fitted: Any) -> None:
        from scipy.stats import kendalltau

        s, _, _, _, Xt, yt, _ = fitted
        tau = float(kendalltau(s.predict(Xt), yt)[0])
        assert tau > self.min_kendall_tau, f"Kendall tau {tau:.3f} on held-out NB201 cells"

    def test_same_seed_same_predictions(self, fitted: Any) -> None:
        s, _, X, y, Xt, _, _ = fitted
        again = self.make_surrogate(0).fit(X, y)
        np.testing.assert_array_equal(s.predict(Xt[:50]), again.predict(Xt[:50]))

    def test_predict_before_fit_is_a_clear_error(self) -> None:
        X, _, _, _ = self._data()
        with pytest.raises((NotFittedError, SurrogateInputError)) as e:
            self.make_surrogate(0).predict(X[:3])
        assert "fit" in str(e.value)

    def test_empty_training_set_is_a_clear_error(self) -> None:
        X, y, _, _ = self._data()
        empty = [] if self._kind() == "graph" else X[:0]
        with pytest.raises(SurrogateInputError):
            self.make_surrogate(0).fit(empty, y[:0])

    def test_wrong_input_width_is_a_clear_error(self) -> None:
        X, y, _, _ = self._data()
        s = self.make_surrogate(0)
        small = copy.copy(s)
        fit_small = getattr(small, "epochs", None)
        if fit_small is not None:
            small.epochs = 1  # type: ignore[attr-defined]  # only the check matters here
        small.fit(X[:20], y[:20])
        if self._kind() == "graph":
            bad: Any = [
                Graph(np.zeros((3, X[0].x.shape[1] + 1), np.float32), X[0].edge_index[:, :0])
            ]
        else:
            bad = np.zeros((2, X.shape[1] + 3), dtype=np.float32)
        with pytest.raises(SurrogateInputError):
            small.predict(bad)

    def test_mismatched_targets_are_a_clear_error(self) -> None:
        X, y, _, _ = self._data()
        with pytest.raises(SurrogateInputError):
            self.make_surrogate(0).fit(X[:10], y[:9])
        yn = y[:10].copy()
        yn[3] = np.nan
        with pytest.raises(SurrogateInputError):
            self.make_surrogate(0).fit(X[:10], yn)
