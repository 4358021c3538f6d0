"""The surrogate protocol: scikit-learn style regressors over a search space's encodings.

Why this shape: a surrogate that encodes architectures itself ties a model to one space (NASLib's
mixed-input trees are the cautionary example). Here encoding is the space's job
(``SearchSpace.encode``); a surrogate sees only numbers:

- ``input_kind = "vector"``: ``X`` is a 2-D float array [n_samples, n_features];
- ``input_kind = "graph"``: ``X`` is a sequence of :class:`harness.spaces._base.Graph`.

Hyperparameters are ``__init__`` arguments only; ``fit(X, y)`` returns ``self``; state learned by
``fit`` ends in ``_`` (the scikit-learn developer rules), so "fitted or not" is one attribute
check and two surrogates with the same arguments and seed are interchangeable. ``predict``
returns a 1-D float array, higher = better (the harness maximises its signal).

Inputs are validated once, here, so every built-in and plug-in surrogate gives the same clear
errors for the same mistakes: predicting before fitting, an empty training set, non-finite
targets, encodings of the wrong width (e.g. a vector from another space or encoding kind).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from harness.errors import NashError
from harness.spaces._base import Graph

INPUT_KINDS = ("vector", "graph")


class NotFittedError(NashError, RuntimeError):
    """``predict`` was called before ``fit``."""


class SurrogateInputError(NashError, ValueError):
    """Training or prediction inputs a surrogate cannot use (empty, wrong width, NaN...)."""


@runtime_checkable
class Surrogate(Protocol):
    """What a strategy needs from a surrogate model."""

    input_kind: str

    def fit(self, X: Any, y: Any) -> Surrogate: ...

    def predict(self, X: Any) -> np.ndarray: ...


def input_kind_of(surrogate: object) -> str:
    """``"vector"`` unless the surrogate declares otherwise (plain sklearn models declare
    nothing)."""
    kind = getattr(surrogate, "input_kind", "vector")
    if kind not in INPUT_KINDS:
        raise SurrogateInputError(
            f"{type(surrogate).__name__}.input_kind is {kind!r}; expected one of {INPUT_KINDS}"
        )
    return str(kind)


# -- validation -------------------------------------------------------------------------------
def check_targets(y: Any, n: int) -> np.ndarray:
    """A finite 1-D float64 copy of ``y`` with ``n`` entries."""
    arr = np.array(y, dtype=np.float64, copy=True)
    if arr.ndim != 1:
        raise SurrogateInputError(f"targets must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise SurrogateInputError(f"{n} inputs but {arr.shape[0]} targets")
    if not np.all(np.isfinite(arr)):
        raise SurrogateInputError(
            f"targets contain {int(np.sum(~np.isfinite(arr)))} non-finite value(s); drop failed "
            "evaluations before fitting"
        )
    return arr


def check_vectors(X: Any, n_features: int | None = None, *, what: str = "inputs") -> np.ndarray:
    """A 2-D finite float32 copy of ``X`` (with ``n_features`` columns when given)."""
    if isinstance(X, Graph) or (
        isinstance(X, Sequence) and not isinstance(X, str) and X and isinstance(X[0], Graph)
    ):
        raise SurrogateInputError(
            f"{what} are graphs but this surrogate takes vectors; encode with a vector kind "
            "(e.g. 'onehot', 'adjacency', 'study')"
        )
    try:
        arr = np.array(X, dtype=np.float32, copy=True)
    except (TypeError, ValueError) as e:
        raise SurrogateInputError(f"{what} are not a rectangular numeric array: {e}") from None
    if arr.ndim != 2:
        raise SurrogateInputError(
            f"{what} must be a 2-D array [n_samples, n_features], got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise SurrogateInputError(f"{what} are empty (0 samples)")
    if n_features is not None and arr.shape[1] != n_features:
        raise SurrogateInputError(
            f"{what} have {arr.shape[1]} features but the surrogate was fitted on {n_features}: "
            "an encoding of another kind or space?"
        )
    if not np.all(np.isfinite(arr)):
        raise SurrogateInputError(f"{what} contain non-finite values")
    return arr


def check_graphs(
    X: Any, n_node_features: int | None = None, *, what: str = "inputs"
) -> list[Graph]:
    """The graphs of ``X`` after checking shapes (node feature width, edge index range)."""
    if isinstance(X, np.ndarray) or isinstance(X, Graph):
        raise SurrogateInputError(
            f"{what} must be a sequence of Graph objects (encode with kind 'graph'), "
            f"got {type(X).__name__}"
        )
    graphs = list(X)
    if not graphs:
        raise SurrogateInputError(f"{what} are empty (0 graphs)")
    width = n_node_features
    for i, g in enumerate(graphs):
        if not isinstance(g, Graph):
            raise SurrogateInputError(
                f"{what}[{i}] is a {type(g).__name__}, not a Graph (encode with kind 'graph')"
            )
        x, ei = np.asarray(g.x), np.asarray(g.edge_index)
        if x.ndim != 2 or x.shape[0] == 0:
            raise SurrogateInputError(f"{what}[{i}].x must be [n_nodes>0, n_features]")
        if width is None:
            width = x.shape[1]
        if x.shape[1] != width:
            raise SurrogateInputError(
                f"{what}[{i}] has {x.shape[1]} node features, expected {width}: graphs of "
                "another space?"
            )
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise SurrogateInputError(f"{what}[{i}].edge_index must be [2, n_edges]")
        if ei.size and (ei.min() < 0 or ei.max() >= x.shape[0]):
            raise SurrogateInputError(f"{what}[{i}].edge_index refers to a missing node")
    return graphs


class BaseSurrogate(ABC):
    """Template for built-in surrogates: validation here, the model in ``_fit``/``_predict``.

    Subclasses set ``input_kind`` and implement ``_fit(X, y)`` (X already validated: a float32
    array or a list of Graphs; y a float64 array) and ``_predict(X)``.
    """

    input_kind: str = "vector"

    def fit(self, X: Any, y: Any) -> BaseSurrogate:
        if self.input_kind == "graph":
            xs: Any = check_graphs(X, what="training inputs")
            self.n_node_features_ = int(np.asarray(xs[0].x).shape[1])
            n = len(xs)
        else:
            xs = check_vectors(X, what="training inputs")
            self.n_features_in_ = int(xs.shape[1])
            n = xs.shape[0]
        yy = check_targets(y, n)
        self._fit(xs, yy)
        self.fitted_ = True
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(X, y) before predict(X)"
            )
        if self.input_kind == "graph":
            xs: Any = check_graphs(X, self.n_node_features_, what="prediction inputs")
        else:
            xs = check_vectors(X, self.n_features_in_, what="prediction inputs")
        out = np.asarray(self._predict(xs), dtype=np.float64).reshape(-1)
        return out

    @abstractmethod
    def _fit(self, X: Any, y: np.ndarray) -> None: ...

    @abstractmethod
    def _predict(self, X: Any) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` arguments (for manifests and clones)."""
        import inspect

        out: dict[str, Any] = {}
        for cls in type(self).__mro__:  # subclasses forwarding **kwargs list the base's too
            if "__init__" in vars(cls) and cls is not object:
                for k, p in inspect.signature(vars(cls)["__init__"]).parameters.items():
                    named = p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
                    if named and k != "self" and hasattr(self, k) and k not in out:
                        out[k] = getattr(self, k)
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class SklearnSurrogate(BaseSurrogate):
    """Any scikit-learn regressor as a surrogate (vector inputs).

    The estimator passed in is a template: each ``fit`` clones it (so refits start fresh and the
    caller's object is never changed) and, when ``seed`` is given and the estimator has a
    ``random_state`` parameter, seeds the clone with it.
    """

    input_kind = "vector"

    def __init__(self, estimator: Any, *, seed: int | None = None) -> None:
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise SurrogateInputError(
                f"{type(estimator).__name__} is not a scikit-learn style estimator "
                "(needs fit and predict)"
            )
        self.estimator = estimator
        self.seed = seed

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.base import clone

        model = clone(self.estimator)
        if self.seed is not None and "random_state" in model.get_params():
            model.set_params(random_state=int(self.seed))
        self.model_ = model.fit(X, y)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(X))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch intra-op threads and restore the previous setting.

    Why: determinism (one thread makes CPU reductions run in a fixed order) and fairness to the
    other processes on a shared 2-core machine, without changing global state for the caller.
    """
    import torch

    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)
