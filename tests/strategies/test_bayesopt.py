"""BANANAS and GP-BO: real runs on the shipped NB201 and NB101 data, small budgets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness import strategies
from harness.errors import ConfigError, NashError
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment
from harness.runner.loop import Budget, run_search
from harness.spaces import make_space

FAST_BANANAS = {"n_ensemble": 2, "surrogate_params": {"hidden": (16, 16), "epochs": 20}}
SMALL = {"n_init": 5, "batch_size": 5, "n_candidates": 40, "n_best": 5}


def _run(space_name: str, bench: str, name: str, seed: int, budget: int, **kw: Any) -> Any:
    space = make_space(space_name, None)
    ev = TabularEvaluator(bench, "cifar10", space=space)
    s = strategies.create(name, space, seed=np.random.SeedSequence([seed]), **kw)
    return s, run_search(s, ev, Budget(evaluations=budget))


@pytest.mark.parametrize(
    ("name", "kw"),
    [("bananas", {**FAST_BANANAS, **SMALL}), ("gp_bo", SMALL), ("gp_bo_ucb", SMALL)],
)
def test_deterministic_and_distinct_on_nb101(name: str, kw: dict[str, Any]) -> None:
    s, a = _run("nb101-30k-pool", "nb101-30k", name, 7, 20, **kw)
    _, b = _run("nb101-30k-pool", "nb101-30k", name, 7, 20, **kw)
    assert [(t.arch, t.signal) for t in a.trials] == [(t.arch, t.signal) for t in b.trials]
    keys = [t.arch_key for t in a.trials]
    assert len(set(keys)) == len(keys) == 20  # candidates never repeat an evaluated cell
    assert len(s.fit_s) == 3  # (20 - 5 initial) / batch 5 model fits


def test_bananas_surrogate_is_replaceable_by_a_registered_name() -> None:
    s, res = _run(
        "nb201",
        "nb201",
        "bananas",
        0,
        15,
        surrogate="random_forest",
        surrogate_params={"n_estimators": 20},
        **SMALL,
    )
    assert res.trials[-1].cum_evals == 15
    assert type(s._models[0]).__name__ == "SklearnSurrogate"  # type: ignore[attr-defined]
    assert s.describe()["surrogate"] == "random_forest"


def test_bananas_defaults_follow_naszilla() -> None:
    space = make_space("nb201", None)
    s = strategies.create("bananas", space, seed=0)
    assert (s.n_init, s.batch_size, s.n_candidates, s.n_best, s.n_ensemble) == (  # type: ignore[attr-defined]
        10,
        10,
        100,
        10,
        5,
    )
    assert s.encoding == "path"  # type: ignore[attr-defined]


def test_gp_bo_beats_random_search_on_nb201_over_seeds() -> None:
    """A real, failable check that the model helps: mean best validation accuracy after 40
    evaluations over 4 seeds, GP-BO (EI) vs random search on NB201 cifar10."""
    gp = [_run("nb201", "nb201", "gp_bo", s, 40, batch_size=5)[1] for s in range(4)]
    rs = [_run("nb201", "nb201", "random_search", s, 40)[1] for s in range(4)]
    gp_best = np.mean([r.trials[-1].incumbent_signal for r in gp])
    rs_best = np.mean([r.trials[-1].incumbent_signal for r in rs])
    assert gp_best > rs_best


def test_bad_input_one_clear_error_each() -> None:
    space = make_space("nb201", None)
    with pytest.raises(NashError, match="unknown GP-BO acquisition 'pi'"):
        strategies.create("gp_bo", space, seed=0, acquisition="pi")
    with pytest.raises(NashError, match="unknown vector encoding of space 'nb201' 'graph'"):
        strategies.create("bananas", space, seed=0, encoding="graph")
    with pytest.raises(ConfigError, match="vector surrogate"):
        strategies.create("bananas", space, seed=0, surrogate="gcn")
    with pytest.raises(ConfigError, match="has no parameter 'width'"):
        strategies.create("bananas", space, seed=0, surrogate_params={"width": 3})
    with pytest.raises(ConfigError, match="batch_size"):
        strategies.create("gp_bo", space, seed=0, n_candidates=0, n_random=0)


def test_run_from_an_experiment_on_nb201_and_nb101(tmp_path: Any) -> None:
    import pandas as pd

    exp = parse_experiment(
        {
            "name": "t15bo",
            "seeds": 1,
            "budget": {"evaluations": 8},
            "benchmark": [
                {"name": "nb201", "dataset": "cifar10"},
                {"name": "nb101-30k", "dataset": "cifar10", "fidelity": 108},
            ],
            "strategy": [
                {"name": "bananas", "params": {**FAST_BANANAS, "n_init": 4, "batch_size": 2}},
                {"name": "gp_bo", "params": {"n_init": 4, "batch_size": 2}},
            ],
        }
    )
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    frames = [pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet"))]
    assert len(frames) == 4
    for df in frames:
        assert df["cum_evals"].max() == 8 and df["signal"].notna().all()


def test_stacked_mlp_ensemble_trains_each_member_as_its_own_mlp() -> None:
    """BANANAS trains its ``mlp`` members as one stacked model; each member must match the
    registered MLP with its seed (init, mini-batch order, loss, Adam), to float rounding, while
    training is short enough that rounding has not grown chaotic."""
    from harness import surrogates
    from harness.strategies.bayesopt import _StackedMLPs

    space = make_space("nb201", None)
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    rng = np.random.default_rng(3)
    cells = [space.sample(rng) for _ in range(40)]
    X = space.encode_many(cells, "path")
    y = np.array([ev.evaluate(c).signal for c in cells])
    params = {"hidden": (20,) * 10, "lr": 0.01, "epochs": 2, "weight_decay": 0}
    seeds = [5, 17, 99]
    alone = np.stack(
        [surrogates.create("mlp", seed=s, **params).fit(X, y).predict(X) for s in seeds]
    )
    members = [surrogates.create("mlp", seed=s, **params) for s in seeds]
    stacked = _StackedMLPs(members).fit(X, y).predict(X)
    assert stacked.shape == alone.shape == (3, 40)
    np.testing.assert_allclose(stacked, alone, atol=1e-4 * float(np.ptp(y)))
    assert float(np.std(alone, axis=0).mean()) > 1e-3  # members differ: seeds matter


def test_bananas_uses_the_stacked_ensemble_only_for_the_registered_mlp() -> None:
    s, _ = _run("nb201", "nb201", "bananas", 0, 15, **{**FAST_BANANAS, **SMALL})
    assert [type(m).__name__ for m in s._models] == ["_StackedMLPs"]  # type: ignore[attr-defined]
