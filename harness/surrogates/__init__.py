"""Surrogate models and their registry (entry point group ``nash.surrogates``).

Every entry is a factory taking keyword hyperparameters (and ``seed``) and returning an unfitted
model with the :class:`Surrogate` protocol. Heavy libraries (xgboost, torch, torch-geometric,
scikit-learn) are imported when a model is first fitted, not when this package is imported, so
strategies that never use a surrogate do not pay for them.

Built-ins: ``xgb`` (NAS-EA-FA's, eta 0.1), ``gcn`` (Neural Predictor GCN regressor, graph
inputs), ``gcn_classifier`` (its cascade filter; ``predict`` = P(above the training median)),
``mlp`` (vector inputs), ``random_forest`` (scikit-learn, through :class:`SklearnSurrogate`).
A plug-in registers under ``[project.entry-points."nash.surrogates"]``; a config may also name
``"package.module:Factory"``.
"""

from __future__ import annotations

import inspect
from typing import Any

from harness.errors import ConfigError
from harness.registry import Registry
from harness.surrogates._base import (
    BaseSurrogate,
    NotFittedError,
    SklearnSurrogate,
    Surrogate,
    SurrogateInputError,
    input_kind_of,
)
from harness.surrogates.gcn import GCNClassifier, GCNSurrogate
from harness.surrogates.mlp import MLPSurrogate
from harness.surrogates.xgb import XGBSurrogate

SURROGATES: Registry[Surrogate] = Registry("surrogate", "nash.surrogates")


def random_forest(
    *, n_estimators: int = 100, min_samples_leaf: int = 1, seed: int = 0, n_threads: int = 1
) -> SklearnSurrogate:
    """scikit-learn's RandomForestRegressor through the adapter (a classic NAS predictor)."""
    from sklearn.ensemble import RandomForestRegressor

    est = RandomForestRegressor(
        n_estimators=n_estimators, min_samples_leaf=min_samples_leaf, n_jobs=n_threads
    )
    return SklearnSurrogate(est, seed=seed)


SURROGATES.add("xgb", XGBSurrogate, "XGBoost regressor, eta 0.1, 100 trees, depth 6 (NAS-EA-FA)")
SURROGATES.add(
    "gcn", GCNSurrogate, "Neural Predictor GCN regressor (bidirectional GCNConv, mean pool)"
)
SURROGATES.add(
    "gcn_classifier",
    GCNClassifier,
    "Neural Predictor cascade classifier: P(target above the training median)",
)
SURROGATES.add("mlp", MLPSurrogate, "ReLU MLP regressor on a vector encoding")
SURROGATES.add("random_forest", random_forest, "scikit-learn random forest via the adapter")


def create(name: str, *, seed: int | None = None, **params: Any) -> Surrogate:
    """Instantiate a registered surrogate; unknown names and parameters are config errors.

    ``seed`` is passed when the factory takes one (every built-in does).
    """
    entry = SURROGATES.get(name)
    try:
        sig = inspect.signature(entry.factory)
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        sig = None
    if sig is not None:
        ps = sig.parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in ps.values())
        if not takes_any:
            valid = [p for p in ps if p not in ("self",)]
            for key in params:
                if key not in ps:
                    raise ConfigError(
                        f"surrogate {name!r} has no parameter {key!r} (valid: {', '.join(valid)})"
                    )
        if seed is not None and (takes_any or "seed" in ps):
            params = {**params, "seed": int(seed)}
    try:
        return entry.create(**params)
    except TypeError as e:
        raise ConfigError(f"surrogate {name!r}: {e}") from None


__all__ = [
    "SURROGATES",
    "BaseSurrogate",
    "GCNClassifier",
    "GCNSurrogate",
    "MLPSurrogate",
    "NotFittedError",
    "SklearnSurrogate",
    "Surrogate",
    "SurrogateInputError",
    "XGBSurrogate",
    "create",
    "input_kind_of",
    "random_forest",
]
