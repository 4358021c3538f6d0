"""Neural Predictor on the real NB201 cifar10 table."""

from __future__ import annotations

import numpy as np
import pytest

from harness import strategies
from harness.errors import ConfigError, UnknownName
from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.loop import Budget, run_search
from harness.spaces.nb201 import NB201Space
from harness.strategies.neural_predictor import NeuralPredictor

FAST = {"surrogate_params": {"epochs": 20}}


def test_n_random_then_k_top_predicted_cells():
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = NeuralPredictor(space, seed=0, n_train=20, k=10, **FAST)
    asked = []
    while not s.finished:
        a = s.ask()
        asked.append(a)
        s.tell(Observation(a, ev.evaluate(a).signal))
    assert len(asked) == 30
    keys = [space.canonical(a) for a in asked]
    assert len(set(keys)) == 30  # distinct networks; the top K are all new
    top = [space.encode(a, "graph") for a in asked[20:]]
    pred = s.regressor_.predict(top)
    assert np.all(np.diff(pred) <= 1e-9)  # asked in order of prediction
    with pytest.raises(RuntimeError, match="finished"):
        s.ask()


def test_cascade_classifier_filters_the_candidates():
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = NeuralPredictor(
        space,
        seed=1,
        n_train=30,
        k=5,
        n_candidates=2000,
        classifier="gcn_classifier",
        classifier_params={"epochs": 20},
        **FAST,
    )
    res = run_search(s, ev, Budget(evaluations=100))
    assert len(res.trials) == 35 and res.stopped_by == "strategy finished"
    top = [space.encode(space.from_str(t.arch), "graph") for t in res.trials[30:]]
    assert np.all(s.classifier_.predict(top) >= 0.5)


def test_xgb_regressor_on_a_vector_encoding():
    space = NB201Space()
    s = NeuralPredictor(space, seed=0, n_train=10, k=3, surrogate="xgb", n_candidates=500)
    assert s.encoding == "adjacency"
    for _ in range(13):
        a = s.ask()
        s.tell(Observation(a, float(sum(a))))
    assert s.finished


@pytest.mark.slow
def test_beats_random_search_on_average_at_equal_budget():
    """The preset (N=50, K=50, GCN) against random search, 100 evaluations, 10 seeds.

    Measured: validation 91.24 +- 0.35 vs 91.06 +- 0.18 (mean +- std over seeds 0..9; the same
    seeds reach test 94.06 vs 93.81)."""
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    out = {"np": [], "rs": []}
    for seed in range(10):
        for name, key in (("neural_predictor_nb201", "np"), ("random_search", "rs")):
            s = strategies.create(name, space, seed=seed)
            res = run_search(s, ev, Budget(evaluations=100))
            out[key].append(res.trials[-1].incumbent_signal)
    assert np.mean(out["np"]) > np.mean(out["rs"])


def test_bad_configuration_is_a_clear_error():
    space = NB201Space()
    with pytest.raises(UnknownName, match="did you mean 'gcn'"):
        NeuralPredictor(space, surrogate="gnc")
    with pytest.raises(ConfigError, match="n_candidates"):
        NeuralPredictor(space, k=50, n_candidates=10)
    with pytest.raises(ConfigError, match="different inputs"):
        NeuralPredictor(space, surrogate="xgb", classifier="gcn_classifier")
    with pytest.raises(ConfigError, match="n_train"):
        NeuralPredictor(space, n_train=-3)
    with pytest.raises(ConfigError, match="cannot take encoding"):
        NeuralPredictor(space, surrogate="gcn", encoding="onehot")
