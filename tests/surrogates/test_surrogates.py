"""Surrogate registry, the scikit-learn adapter as a plug-in would use it, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from harness import surrogates
from harness.errors import ConfigError, NashError, UnknownName
from harness.spaces.nb201 import NB201Space
from harness.surrogates import (
    GCNClassifier,
    NotFittedError,
    SklearnSurrogate,
    SurrogateInputError,
    XGBSurrogate,
)
from harness.testing.surrogates import SurrogateContract, nb201_data


class TestRidgeThroughTheAdapter(SurrogateContract):
    """What a plug-in author writes: any sklearn regressor passes the contract via the adapter."""

    def make_surrogate(self, seed: int) -> SklearnSurrogate:
        from sklearn.linear_model import Ridge

        return SklearnSurrogate(Ridge(alpha=1.0), seed=seed)


def test_registry_lists_the_built_ins():
    assert {"xgb", "gcn", "gcn_classifier", "mlp", "random_forest"} <= set(
        surrogates.SURROGATES.names()
    )


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownName, match="did you mean 'xgb'"):
        surrogates.create("xgboost")


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(ConfigError, match="max_depth"):
        surrogates.create("xgb", depth=3)


def test_module_colon_factory_names_work():
    s = surrogates.create("harness.surrogates.xgb:XGBSurrogate", n_estimators=5)
    assert isinstance(s, XGBSurrogate) and s.n_estimators == 5
    with pytest.raises(NashError, match="cannot import"):
        surrogates.create("no_such_pkg.mod:Model")


def test_adapter_clones_and_never_touches_the_template():
    from sklearn.ensemble import RandomForestRegressor

    X, y, Xt, _ = nb201_data("onehot", 300, 1000)
    template = RandomForestRegressor(n_estimators=5)
    s = SklearnSurrogate(template, seed=3).fit(X[:50], y[:50])
    assert s.model_ is not template and not hasattr(template, "estimators_")
    assert s.model_.random_state == 3
    assert s.predict(Xt[:4]).shape == (4,)
    with pytest.raises(SurrogateInputError, match="not a scikit-learn style estimator"):
        SklearnSurrogate(object())


def test_graphs_to_a_vector_surrogate_and_vectors_to_a_gcn_are_clear_errors():
    space = NB201Space()
    graphs = [space.encode(space.sample(np.random.default_rng(i)), "graph") for i in range(5)]
    with pytest.raises(SurrogateInputError, match="graphs but this surrogate takes vectors"):
        XGBSurrogate().fit(graphs, np.arange(5.0))
    with pytest.raises(SurrogateInputError, match="sequence of Graph"):
        surrogates.create("gcn").fit(np.zeros((5, 30)), np.arange(5.0))


def test_encoding_of_another_kind_is_named_in_the_error():
    X, y, _, _ = nb201_data("onehot", 300, 1000)
    s = XGBSurrogate(n_estimators=3).fit(X[:20], y[:20])
    adjacency = np.stack([NB201Space().encode((1, 2, 3, 4, 0, 1), "adjacency")])
    with pytest.raises(
        SurrogateInputError, match="52 features but the surrogate was fitted on 30"
    ):
        s.predict(adjacency)


def test_predict_before_fit_names_the_fix():
    with pytest.raises(NotFittedError, match=r"call fit\(X, y\) before predict"):
        XGBSurrogate().predict(np.zeros((1, 30)))


def test_classifier_predicts_probabilities_and_checks_its_quantile():
    X, y, Xt, _ = nb201_data("graph", 300, 1000)
    c = GCNClassifier(epochs=3).fit(X[:40], y[:40])
    p = c.predict(Xt[:20])
    assert np.all((p >= 0) & (p <= 1))
    assert c.threshold_ == pytest.approx(np.quantile(y[:40], 0.5))
    with pytest.raises(SurrogateInputError, match="threshold_quantile"):
        GCNClassifier(threshold_quantile=1.5)


def test_torch_surrogates_leave_global_torch_state_alone():
    import torch

    X, y, _, _ = nb201_data("graph", 300, 1000)
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state().clone()
    surrogates.create("gcn", epochs=2, n_threads=1).fit(X[:30], y[:30])
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)


def test_xgb_defaults_are_the_reference_studys():
    s = XGBSurrogate()
    assert (s.eta, s.n_estimators, s.max_depth, s.n_threads) == (0.1, 100, 6, 1)
