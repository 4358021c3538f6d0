from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest

from harness.errors import ConfigError, NashError, UnknownName
from harness.evaluators.tabular import TabularEvaluator
from harness.records import Observation
from harness.spaces import nb201


def test_nb201_cifar10_signal_is_validation_and_test_is_separate(tables):
    ev = TabularEvaluator("nb201", "cifar10")
    r = ev.evaluate(nb201.arch_of_index(6111))
    assert r.signal == pytest.approx(91.606667)
    assert r.val == r.signal
    assert r.reported == pytest.approx(94.373333)
    assert r.fidelity == 200
    assert r.cost.n_full == 1 and math.isnan(r.cost.train_s)
    assert ev.query_log[-1] == (6111, 200, 0)


def test_observation_has_no_test_field():
    # what a strategy learns: the signal (and objective vector / constraint violation of
    # searchable metrics), never a test metric
    names = {f.name for f in fields(Observation)}
    assert names == {"arch", "signal", "fidelity", "ok", "objectives", "violation"}
    assert not any("test" in n for n in names)


def test_fidelity_12_reads_12_epoch_validation(tables):
    ev = TabularEvaluator("nb201", "cifar100")
    assert ev.default_fidelity == 12
    r = ev.evaluate(nb201.arch_of_index(9930))
    assert r.signal == pytest.approx(tables.value("cifar100", "val_acc@12", 9930))
    assert r.reported == pytest.approx(73.513333)
    r200 = TabularEvaluator("nb201", "cifar10").evaluate((3, 3, 3, 1, 3, 2), fidelity=12)
    assert r200.signal == pytest.approx(tables.value("cifar10", "val_acc@12", 6111))


def test_missing_200_epoch_validation_names_alternatives():
    with pytest.raises(NashError, match="Use fidelity 12"):
        TabularEvaluator("nb201", "imagenet16_120", fidelity=200)
    with pytest.raises(NashError, match="no fidelity 50"):
        TabularEvaluator("nb201", "cifar10", fidelity=50)


def test_test_split_signal_refused():
    with pytest.raises(NashError, match="TEST-split"):
        TabularEvaluator("nb201", "cifar10", signal="naslib_acc_test_split_one_seed@200")
    with pytest.raises(NashError, match="TEST-split"):
        TabularEvaluator("nb201", "cifar10", signal="test_acc@200")


def test_proxy_signal(tables):
    ev = TabularEvaluator("nb201", "cifar10", signal="zc_nwot")
    assert ev.is_proxy
    r = ev.evaluate(nb201.arch_of_index(6111))
    assert r.signal == pytest.approx(tables.value("cifar10", "zc_nwot", 6111))
    assert r.cost.n_full == 0 and r.cost.n_proxy == 1


def test_unknown_names():
    with pytest.raises(UnknownName, match="did you mean 'nb201'"):
        TabularEvaluator("nb2O1", "cifar10")
    with pytest.raises(UnknownName):
        TabularEvaluator("nb201", "cifar")
    with pytest.raises(ConfigError):
        TabularEvaluator("nb201", "cifar10", noise_sigma=-1)


def test_noise_model_is_seeded_and_has_the_documented_spread(tables):
    ev = TabularEvaluator("nb201", "cifar10", noise_sigma=0.34, noise_seed=3)
    a = nb201.arch_of_index(6111)
    assert ev.evaluate(a, seed=1).signal == ev.evaluate(a, seed=1).signal
    assert ev.evaluate(a, seed=1).signal != ev.evaluate(a, seed=2).signal
    again = TabularEvaluator("nb201", "cifar10", noise_sigma=0.34, noise_seed=3)
    assert again.evaluate(a, seed=1).signal == ev.evaluate(a, seed=1).signal
    rng = np.random.default_rng(0)
    devs = []
    for i in rng.choice(15625, 2000, replace=False):
        r = ev.evaluate(nb201.arch_of_index(int(i)))
        devs.append(r.signal - r.val)
    assert abs(np.std(devs) - 0.34) < 0.03
    assert ev.evaluate(a).val == pytest.approx(91.606667)  # the recorded value stays the mean


def test_proxy_scores_from_another_dataset_are_labelled(tables):
    ev = TabularEvaluator("nb201", "cifar100", signal="zc_nwot", proxy_dataset="cifar10")
    r = ev.evaluate(nb201.arch_of_index(6111))
    assert r.signal == pytest.approx(tables.value("cifar10", "zc_nwot", 6111))
    assert r.reported == pytest.approx(tables.value("cifar100", "test_acc@200", 6111))
    assert ev.describe()["proxy_scores_from"] == "cifar10"
    with pytest.raises(NashError, match="only applies to zero-cost"):
        TabularEvaluator("nb201", "cifar100", fidelity=12, proxy_dataset="cifar10")
