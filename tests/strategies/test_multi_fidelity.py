"""Successive halving, Hyperband, BOHB and ASHA on the shipped NB201 and NB101 tables."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from harness import strategies
from harness.errors import ConfigError
from harness.evaluators.tabular import TabularEvaluator
from harness.runner.loop import Budget, run_search
from harness.spaces.nb101_pool import NB101PoolSpace
from harness.spaces.nb201 import NB201Space

MF = ("successive_halving", "hyperband", "bohb", "asha")


def _nb101():
    space = NB101PoolSpace()
    return space, TabularEvaluator("nb101-30k", "cifar10", space=space)


def test_hyperband_brackets_on_nb101_are_lis_geometric_schedule(tables):
    space, ev = _nb101()
    s = strategies.create("hyperband", space, seed=0)
    res = run_search(s, ev, Budget(evaluations=15.6))
    fids = [t.fidelity for t in res.trials]
    # bracket s=3: 27 cells at 4 epochs, 9 at 12, 3 at 36, 1 at 108 (4 full evaluations)
    assert fids[:40] == [4] * 27 + [12] * 9 + [36] * 3 + [108]
    # bracket s=2: ceil(4/3 * 9) = 12 at 12 epochs, 4 at 36, 1 at 108
    assert fids[40:57] == [12] * 12 + [36] * 4 + [108]
    assert s.rungs == (4, 12, 36, 108)


def test_successive_halving_promotes_the_best_of_each_rung(tables):
    space, ev = _nb101()
    res = run_search(strategies.create("successive_halving", space, seed=3), ev,
                     Budget(evaluations=4))  # fmt: skip
    rung4, rung12 = res.trials[:27], res.trials[27:36]
    best9 = sorted(rung4, key=lambda t: -t.signal)[:9]
    assert sorted(t.cell for t in rung12) == sorted(t.cell for t in best9)
    assert all(t.fidelity == 12 for t in rung12)


def test_nb201_rungs_are_12_and_200_epochs(tables):
    s = strategies.create("hyperband", NB201Space(), seed=0)
    res = run_search(s, TabularEvaluator("nb201", "cifar10"), Budget(evaluations=20))
    assert set(t.fidelity for t in res.trials) == {12, 200}
    assert s.rungs == (12, 200)
    # the recommendation was evaluated at 200 epochs and is the best 200-epoch signal
    full = [t for t in res.trials if t.fidelity == 200]
    assert res.recommendation is not None
    assert NB201Space().to_str(res.recommendation) == max(full, key=lambda t: t.signal).arch


@pytest.mark.parametrize("name", MF)
def test_same_seed_same_rows_on_nb101(tables, name):
    def rows(seed):
        space, ev = _nb101()
        s = strategies.create(name, space, seed=np.random.SeedSequence([seed]))
        return [(t.arch, t.fidelity, t.signal) for t in
                run_search(s, ev, Budget(evaluations=20)).trials]  # fmt: skip

    assert rows(1) == rows(1) != rows(2)


def test_bohb_samples_from_its_model_once_a_rung_has_enough_points(tables):
    s = strategies.create("bohb", NB201Space(), seed=0)
    run_search(s, TabularEvaluator("nb201", "cifar10"), Budget(evaluations=60))
    assert s.min_points == 6 + 1  # NB201: 6 categorical choices
    assert s.n_model_samples > 0
    r = strategies.create("bohb", NB201Space(), seed=0, random_fraction=1.0)
    run_search(r, TabularEvaluator("nb201", "cifar10"), Budget(evaluations=60))
    assert r.n_model_samples == 0


def test_bohb_beats_hyperband_on_nb201_over_seeds(tables):
    """The density model must help: mean final 200-epoch signal over 8 seeds at 60 evaluations."""

    def final(name, seed):
        s = strategies.create(name, NB201Space(), seed=np.random.SeedSequence([seed]))
        res = run_search(s, TabularEvaluator("nb201", "cifar10"), Budget(evaluations=60))
        return res.trials[-1].incumbent_signal

    bohb = np.mean([final("bohb", i) for i in range(8)])
    hb = np.mean([final("hyperband", i) for i in range(8)])
    assert bohb > hb


def test_asha_runs_asynchronously_on_the_nb101_clock(tables):
    space, ev = _nb101()
    s = strategies.create("asha", space, seed=0)
    res = run_search(s, ev, Budget(evaluations=20), workers=8)
    assert len({t.worker for t in res.trials if t.worker >= 0}) == 8
    clocks = [t.clock_s for t in res.trials]
    assert clocks == sorted(clocks) and clocks[-1] > 0
    c = collections.Counter(t.fidelity for t in res.trials)
    assert c[4] > c[12] > c[36] > 0


@pytest.mark.parametrize("eta", [1, 1.5, 0, True])
def test_eta_below_two_is_refused(eta):
    with pytest.raises(ConfigError, match="eta must be a number >= 2"):
        strategies.create("hyperband", NB201Space(), seed=0, eta=eta)


def test_registered_with_citations():
    for name in MF:
        desc = strategies.STRATEGIES.get(name).description
        assert any(str(y) in desc for y in (2016, 2017, 2018, 2020)), desc


@pytest.mark.parametrize("bench", ["nb201", "nb101-30k"])
def test_runs_from_an_experiment_file_with_its_accounting_in_the_manifest(tables, bench):
    from harness.runner.compute import compute_run
    from harness.runner.config import parse_experiment

    raw = {
        "name": "mf",
        "seeds": 1,
        "budget": {"evaluations": 5},
        "benchmark": [{"name": bench, "dataset": "cifar10"}],
        "strategy": [{"name": n} for n in MF],
    }
    for spec in parse_experiment(raw).runs():
        out = compute_run(spec)
        acc = out.manifest["fidelity_accounting"]
        assert acc["full_fidelity"] == (200 if bench == "nb201" else 108)
        assert "separate training" in acc["continuation"]
        # never over the budget; short of it by less than the proposal that did not fit
        assert (
            4
            < out.manifest["cost_charged"]
            <= 5 + 1e-9
            < 6
            < out.manifest["n_evaluations_charged"]
        )


def test_hpbandster_kde_is_statsmodels_aitchison_aitken_on_known_values():
    """The reference's density (statsmodels KDEMultivariate, 'u' variables): per variable
    1 - bw where equal, bw / (levels - 1) where not, levels counted in the data; one level
    makes a mismatch infinite, as there; the mean over the data of the products."""
    from harness.strategies.multi_fidelity import _HpbandsterKDE

    data = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 4.0]])
    bw = np.array([0.5, 0.4])
    # v = (0, 1): var 0 equal everywhere (0.5); var 1 (3 levels): 0.6 on row 0, 0.2 elsewhere
    want = (0.5 * 0.6 + 0.5 * 0.2 + 0.5 * 0.2) / 3
    assert _HpbandsterKDE._pdf(np.array([0.0, 1.0]), data, bw) == pytest.approx(want)
    assert _HpbandsterKDE._pdf(np.array([3.0, 1.0]), data, bw) == np.inf  # one level seen


def test_hpbandster_kde_runs_deterministically_and_uses_its_model(tables):
    def run(seed):
        s = strategies.create(
            "bohb", NB201Space(), seed=np.random.SeedSequence([seed]), kde="hpbandster",
            num_samples=4, random_fraction=0.0, min_bandwidth=0.3,
        )  # fmt: skip
        res = run_search(
            s, TabularEvaluator("nb201", "cifar10", fidelity=12), Budget(evaluations=60)
        )
        return s, [(t.arch, t.fidelity, t.signal) for t in res.trials]

    s1, rows1 = run(3)
    assert rows1 == run(3)[1] != run(4)[1]
    assert s1.n_model_samples > 0 and s1._hpb is not None and s1._hpb.models


def test_hpbandster_kde_needs_a_categorical_space_and_a_known_name():
    from harness.spaces._base import SearchSpace

    class Bare(NB201Space):
        name = "bare"

        def categorical_params(self):  # type: ignore[override]
            return SearchSpace.categorical_params(self)

    with pytest.raises(ConfigError, match="needs a categorical parametrization"):
        strategies.create("bohb", Bare(), seed=0, kde="hpbandster")
    with pytest.raises(ConfigError, match="kde must be one of onehot, hpbandster"):
        strategies.create("bohb", NB201Space(), seed=0, kde="statsmodels")
