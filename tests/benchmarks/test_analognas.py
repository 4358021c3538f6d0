"""AnalogNAS-Bench: every value against the package's own reader, the NB201 mapping, roles."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr

from harness.benchmarks import analognas
from harness.errors import InvalidArchitecture, NashError, NotInBenchmark
from harness.spaces import nb201

BENCH = analognas.AnalogNASBenchmark()


@pytest.fixture(scope="module")
def official():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its reader imports the deprecated pkg_resources
        from analognasbench import AnalogNASBench

        return AnalogNASBench()


def test_every_value_equals_the_official_reader(official):
    tuples = official.list_available_architectures()
    assert len(tuples) == nb201.N_CELLS
    idx = [analognas.key_of_naslib(t) for t in tuples]
    assert sorted(idx) == list(range(nb201.N_CELLS))  # all 15,625 cells map, one-to-one
    for col, field, part, _ in analognas.COLUMNS:
        got = BENCH.values("cifar10", col, idx)
        want = []
        for t in tuples:
            v = official.query_metric(t, field)
            want.append(float(v) if part == "value" and not hasattr(v, "value") else
                        float(getattr(v, part)))  # fmt: skip
        assert np.array_equal(got, np.array(want)), col
        m = BENCH.metric("cifar10", col)
        best, at = BENCH.optimum("cifar10", col)
        assert best == (max(want) if m.direction == "max" else min(want))
        assert {tuples[idx.index(k)] for k in at} == {
            t for t, w in zip(tuples, want, strict=True) if w == best
        }


def test_known_cell_from_the_readme(official):
    t = (0, 0, 0, 4, 3, 2)  # the package README's example
    k = analognas.key_of_naslib(t)
    assert BENCH.value("cifar10", "analog_acc", k) == official.query_metric(t, "analog_accuracy")
    assert BENCH.cell_of(k) == nb201.from_naslib(t)
    assert BENCH.key_of(nb201.from_naslib(t)) == k


def test_mapping_agrees_with_nb201(tables):
    """A wrong op/edge mapping would scramble cells: baseline accuracy must track NB201's
    200-epoch cifar10 test accuracy of the same cells."""
    base = BENCH.column("cifar10", "baseline_acc")
    ref = np.asarray(tables.column("cifar10", "test_acc@200"))
    rho = spearmanr(base, ref).statistic
    assert rho > 0.97  # measured 0.991
    # the threshold separates: ops converted but the NASLib edge order left as is gives ~0.75
    wrong = [
        nb201.index_of(
            tuple(nb201._NASLIB_TO_OFFICIAL_OP[o]
                  for o in nb201.to_naslib(nb201.arch_of_index(i)))
        )
        for i in range(nb201.N_CELLS)
    ]  # fmt: skip
    assert spearmanr(base, ref[wrong]).statistic < 0.9
    shuffled = spearmanr(base, ref[np.random.default_rng(0).permutation(ref.size)]).statistic
    assert abs(shuffled) < 0.05


def test_roles_test_split_only_labelled():
    ms = BENCH.metrics("cifar10")
    sig = [m.name for m in ms if m.role == "signal"]
    assert sig[0] == "analog_acc" and len(sig) == 13
    assert all(m.role == "info" for m in ms if m.name.endswith("_spread"))
    assert all("TEST split" in m.description for m in ms)
    assert BENCH.no_validation_split and BENCH.has_test  # test split, searched and reported
    assert BENCH.signal_metric("cifar10") == "analog_acc" == BENCH.report_metric("cifar10")
    assert "same test numbers" in BENCH.report_label("cifar10")
    with pytest.raises(NashError, match="cost/size"):
        BENCH.check_search_signal("cifar10", "analog_drift_60s_spread")


def test_bad_input():
    with pytest.raises(InvalidArchitecture, match="outside the AnalogNAS-Bench space"):
        analognas.key_of_naslib((0, 0, 0, 0, 0, 5))
    with pytest.raises(InvalidArchitecture, match="outside the AnalogNAS-Bench space"):
        analognas.key_of_naslib((0, 1, 2, 3, 4))
    with pytest.raises(InvalidArchitecture, match="6 op indices"):
        analognas.key_of_naslib(("conv", 0, 0, 0, 0, 0))
    with pytest.raises(NotInBenchmark, match="15624"):
        BENCH.values("cifar10", "analog_acc", [15625])
    with pytest.raises(NashError, match="cifar100"):
        BENCH.values("cifar100", "analog_acc", [0])


def test_vectorised_equals_one_by_one():
    keys = list(np.random.default_rng(1).integers(0, nb201.N_CELLS, size=200))
    many = BENCH.values("cifar10", "analog_drift_86400s_acc", keys)
    assert many.tolist() == [BENCH.value("cifar10", "analog_drift_86400s_acc", k) for k in keys]


def test_unpickler_refuses_other_globals(tmp_path, monkeypatch):
    import pickle

    bad = tmp_path / "data.anb"
    bad.write_bytes(pickle.dumps({(0,) * 6: print}))
    monkeypatch.setattr(analognas, "package_file", lambda: bad)
    monkeypatch.setattr(
        analognas, "SHA256", __import__("hashlib").sha256(bad.read_bytes()).hexdigest()
    )
    with pytest.raises(NashError, match=r"builtins\.print, which is not in the allowed"):
        analognas.read_official()


def test_provenance():
    p = BENCH.provenance()
    assert p.files == {"analognasbench/data.anb": analognas.SHA256}
    assert "2506.18495" in p.citation
    assert analognas.verified_file().name == "data.anb"


def _nash(*args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, check=False
    )


def test_nash_query_cli(official):
    import json

    r = _nash("query", "--json", "analognas", "(0, 0, 0, 4, 3, 2)")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["metrics"]["cifar10"]["analog_acc"] == official.query_metric(
        (0, 0, 0, 4, 3, 2), "analog_accuracy"
    )
    assert "TEST" in out["note"]
    r = _nash("query", "analognas", "(0, 0, 0, 4, 3, 9)")
    assert r.returncode == 2 and "outside the AnalogNAS-Bench space" in r.stderr
