"""optuna adapter, local-search variants and simulated annealing: real runs on shipped data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from harness import strategies
from harness.errors import ConfigError, InvalidArchitecture, NashError
from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment
from harness.runner.loop import Budget, run_search
from harness.spaces.nb101 import NB101Space
from harness.spaces.nb201 import NB201Space
from harness.spaces.nb201_genome import NB201StudyGenomeSpace


def _run(name: str, seed: int, budget: int = 30, **params: Any) -> list[tuple[str, float]]:
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = strategies.create(name, space, seed=np.random.SeedSequence([seed]), **params)
    res = run_search(s, ev, Budget(evaluations=budget))
    return [(t.arch, t.signal) for t in res.trials]


@pytest.mark.parametrize("space", [NB201Space(), NB101Space(), NB201StudyGenomeSpace()])
def test_categorical_parametrization_maps_back(space: Any) -> None:
    params = space.categorical_params()
    rng = np.random.default_rng(0)
    n_ok = 0
    for _ in range(300):
        p = {k: v[int(rng.integers(len(v)))] for k, v in params.items()}
        try:
            arch = space.from_params(p)
        except InvalidArchitecture:
            continue
        n_ok += 1
        assert space.is_valid(arch)
    assert n_ok > 100  # NB201: all; NB101 ~70 %; study genome ~94 %
    with pytest.raises(InvalidArchitecture, match="lack"):
        space.from_params({})


def test_nb201_parametrization_is_the_op_tuple() -> None:
    space = NB201Space()
    p = dict(zip(space.categorical_params(), ["nor_conv_3x3"] * 5 + ["skip_connect"], strict=True))
    assert space.from_params(p) == (3, 3, 3, 3, 3, 1)


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "qmc", "random"])
def test_optuna_same_seed_same_trajectory(sampler: str) -> None:
    a = _run("optuna", 3, sampler=sampler)
    assert a == _run("optuna", 3, sampler=sampler)
    assert a != _run("optuna", 4, sampler=sampler)


@pytest.mark.slow
def test_optuna_gp_sampler_is_deterministic() -> None:
    kw = {"sampler": "gp", "sampler_params": {"n_startup_trials": 8}}
    a = _run("optuna", 3, budget=11, **kw)
    assert a == _run("optuna", 3, budget=11, **kw)


def test_optuna_describe_records_version_and_seed() -> None:
    import optuna

    s = strategies.create("optuna_cmaes", NB201Space(), seed=1)
    d = s.describe()
    assert d["optuna_version"] == optuna.__version__
    assert d["sampler"] == "cmaes" and d["param_mode"] == "integer"
    assert (
        d["sampler_seed"]
        == strategies.create("optuna_cmaes", NB201Space(), seed=1).describe()["sampler_seed"]
    )


def test_optuna_nb101_invalid_proposals_are_pruned_not_evaluated() -> None:
    from optuna.trial import TrialState

    space = NB101Space()
    s = strategies.create("optuna", space, seed=0, sampler="random")
    for i in range(30):
        a = s.ask()
        assert space.is_valid(a)
        s.tell(Observation(a, float(i)))
    states = [t.state for t in s.study.trials]  # type: ignore[attr-defined]
    assert states.count(TrialState.COMPLETE) == 30
    assert states.count(TrialState.PRUNED) == s.n_invalid > 0  # type: ignore[attr-defined]


def test_optuna_failed_evaluation_is_a_failed_trial() -> None:
    from optuna.trial import TrialState

    s = strategies.create("optuna", NB201Space(), seed=0)
    a = s.ask()
    s.tell(Observation(a, math.nan, ok=False))
    assert s.study.trials[0].state == TrialState.FAIL  # type: ignore[attr-defined]


def test_optuna_bad_input_one_clear_error_each() -> None:
    with pytest.raises(NashError, match="unknown optuna sampler 'tpee'; did you mean 'tpe'"):
        strategies.create("optuna", NB201Space(), seed=0, sampler="tpee")
    with pytest.raises(ConfigError, match=r"optuna sampler 'tpe':.*n_startup"):
        strategies.create("optuna", NB201Space(), seed=0, sampler_params={"n_startup": 3})

    class NoParams(NB201Space):
        name = "no-params"

        def categorical_params(self) -> None:  # type: ignore[override]
            return None

    with pytest.raises(ConfigError, match=r"categorical parametrization.*'no-params'"):
        strategies.create("optuna", NoParams(), seed=0)


def test_optuna_leaves_optuna_logging_as_it_was() -> None:
    import optuna

    before = optuna.logging.get_verbosity()
    _run("optuna", 0, budget=12)
    assert optuna.logging.get_verbosity() == before


# -- local search variants ---------------------------------------------------------------------
def test_first_improvement_moves_at_the_first_better_neighbour() -> None:
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = strategies.create("local_search_first", space, seed=2)
    start = s.ask()
    s.tell(Observation(start, ev.evaluate(start).signal))
    best = ev.evaluate(start).signal
    for _ in range(24):
        a = s.ask()
        assert a in space.neighbours(start)
        sig = ev.evaluate(a).signal
        s.tell(Observation(a, sig))
        if sig > best:  # the next proposal is a neighbour of the new cell
            assert s.ask() in space.neighbours(a)
            return
    pytest.fail("no improving neighbour in the first neighbourhood")


def test_no_restart_variants_stop_at_the_local_optimum() -> None:
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    for name in ("local_search_no_restart", "local_search_first_no_restart"):
        s = strategies.create(name, space, seed=0)
        res = run_search(s, ev, Budget(evaluations=2000))
        assert res.stopped_by == "strategy finished"
        assert s.restarts == 1  # type: ignore[attr-defined]
        assert res.trials[-1].cum_evals < 2000
    with_restarts = run_search(
        strategies.create("local_search", space, seed=0), ev, Budget(evaluations=300)
    )
    assert with_restarts.stopped_by == "evaluations"


def test_n_init_starts_from_the_best_of_n_random_cells() -> None:
    space = NB201Space()
    s = strategies.create("local_search", space, seed=0, n_init=3)
    cells = [s.ask() for _ in range(3)]
    for sig, c in zip((1.0, 5.0, 2.0), cells, strict=True):
        s.tell(Observation(c, sig))
    assert s.ask() in space.neighbours(cells[1])


def test_local_search_bad_improvement_name() -> None:
    with pytest.raises(NashError, match="unknown local search improvement 'better'"):
        strategies.create("local_search", NB201Space(), seed=0, improvement="better")


# -- simulated annealing -----------------------------------------------------------------------
def test_annealing_schedules() -> None:
    space = NB201Space()
    mk = strategies.SimulatedAnnealing
    s = mk(space, seed=0, schedule="exponential", t0=2.0, alpha=0.5)
    s._k = 3
    assert s.temperature == pytest.approx(0.25)
    s = mk(space, seed=0, schedule="linear", t0=2.0, n_steps=4)
    s._k = 3
    assert s.temperature == pytest.approx(0.5)
    s._k = 4
    assert s.temperature == 0.0
    s = mk(space, seed=0, schedule="logarithmic", t0=1.0)
    s._k = 0
    assert s.temperature == pytest.approx(1 / math.log(2))
    with pytest.raises(NashError, match="unknown annealing schedule 'cubic'"):
        mk(space, seed=0, schedule="cubic")
    with pytest.raises(ConfigError, match="alpha"):
        mk(space, seed=0, alpha=1.5)


def test_annealing_accepts_worse_when_hot_and_never_when_cold() -> None:
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)

    def accepted_worse(t0: float) -> int:
        s = strategies.SimulatedAnnealing(space, seed=0, t0=t0, alpha=0.999999)
        n = 0
        for _ in range(200):
            a = s.ask()
            before = s._current
            s.tell(Observation(a, ev.evaluate(a).signal))
            if before is not None and s._current is not None and s._current.arch == a:
                n += ev.evaluate(a).signal < before.signal
        return n

    assert accepted_worse(50.0) > 20
    assert accepted_worse(1e-4) == 0  # below t_min: greedy


def test_annealing_restarts_after_stale_steps() -> None:
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    s = strategies.create("simulated_annealing_restarts", space, seed=0)
    run_search(s, ev, Budget(evaluations=400))
    assert s.restarts > 0  # type: ignore[attr-defined]
    plain = strategies.create("simulated_annealing", space, seed=0)
    run_search(plain, ev, Budget(evaluations=400))
    assert plain.restarts == 0  # type: ignore[attr-defined]


# -- runs from a TOML on NB201 and NB101 -------------------------------------------------------
def test_new_strategies_run_from_an_experiment(tmp_path: Any) -> None:
    import pandas as pd

    exp = parse_experiment(
        {
            "name": "t15",
            "seeds": 1,
            "budget": {"evaluations": 6},
            "benchmark": [
                {"name": "nb201", "dataset": "cifar10"},
                {"name": "nb101-30k", "dataset": "cifar10", "fidelity": 108},
            ],
            "strategy": [
                {"name": "optuna"},
                {"name": "optuna_cmaes"},
                {"name": "local_search_first"},
                {"name": "simulated_annealing"},
            ],
        }
    )
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    frames = [pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet"))]
    assert len(frames) == 8
    for df in frames:
        assert df["cum_evals"].max() == 6 and df["signal"].notna().all()
    import json

    import optuna

    infos = [json.loads(p.read_text())["strategy_info"] for p in sorted(root.rglob("run.json"))]
    tpe = [i for i in infos if i.get("sampler") == "tpe"]
    assert len(tpe) == 2 and all(i["optuna_version"] == optuna.__version__ for i in tpe)


def test_optuna_tell_known_answers_repeats_inside_the_adapter() -> None:
    space = NB201Space()
    ev = TabularEvaluator("nb201", "cifar10", space=space)
    plain = strategies.create("optuna", space, seed=0)
    a = run_search(plain, ev, Budget(evaluations=80))
    s = strategies.create("optuna", space, seed=0, tell_known=True)
    b = run_search(s, ev, Budget(evaluations=80))
    assert any(t.repeat for t in a.trials)  # TPE re-proposes known cells
    assert not any(t.repeat for t in b.trials) and len(b.trials) == 80
    assert s.n_known > 0  # type: ignore[attr-defined]
