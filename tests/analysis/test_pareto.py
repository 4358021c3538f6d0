"""Pareto analysis: hypervolume against brute force, fronts, IGD+, attainment, the true NB201 front."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.load import ResultsError
from analysis.pareto import (
    ObjectiveBox,
    anytime_hypervolume,
    attainment_surfaces,
    hypervolume,
    igd_plus,
    nondominated,
    pareto_front,
    run_indicators,
)

UNIT2 = ObjectiveBox(("a", "b"), ("min", "min"), (0.0, 0.0), (1.0, 1.0))


def brute_hv(z: np.ndarray, ref: np.ndarray) -> float:
    """Exact dominated volume by the grid of all coordinates (minimisation, small fronts)."""
    z = z[(z < ref).all(axis=1)]
    if not len(z):
        return 0.0
    axes = [np.unique(np.concatenate([z[:, d], [ref[d]]])) for d in range(z.shape[1])]
    vol = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lo = np.array([axes[d][i] for d, i in enumerate(cell)])
        hi = np.array([axes[d][i + 1] for d, i in enumerate(cell)])
        if np.any(np.all(z <= lo, axis=1)):  # the cell's lower corner is dominated
            vol += float(np.prod(hi - lo))
    return vol


@pytest.mark.parametrize("k", [2, 3])
def test_hypervolume_matches_brute_force(k: int) -> None:
    rng = np.random.default_rng(k)
    box = ObjectiveBox(tuple("abc"[:k]), ("min",) * k, (0.0,) * k, (1.0,) * k)
    for _ in range(25):
        n = int(rng.integers(1, 9))
        z = rng.random((n, k)) * 1.2  # some points outside the box
        if rng.random() < 0.3:
            z = np.round(z, 1)  # ties
        assert hypervolume(z, box) == pytest.approx(brute_hv(z, np.ones(k)), abs=1e-12)


def test_hypervolume_in_raw_units_with_mixed_directions() -> None:
    # accuracy (max) in %, latency (min) in ms: box [50, 100] x [0, 10]
    box = ObjectiveBox(("acc", "lat"), ("max", "min"), (100.0, 0.0), (50.0, 10.0))
    pts = np.array([[90.0, 5.0], [75.0, 2.0]])
    # normalised: (0.2, 0.5), (0.5, 0.2) -> union of [0.2,1]x[0.5,1] and [0.5,1]x[0.2,1]
    assert hypervolume(pts, box) == pytest.approx(0.8 * 0.5 + 0.5 * 0.8 - 0.5 * 0.5)
    assert hypervolume(np.array([[40.0, 1.0]]), box) == 0.0  # outside the box
    with pytest.raises(ResultsError, match="not worse than the ideal"):
        ObjectiveBox(("acc",), ("max",), (50.0,), (60.0,))


def test_front_is_the_non_dominated_set() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        f = rng.integers(0, 5, size=(12, 2)).astype(float)
        dirs = ("max", "min")
        mask = nondominated(f, dirs)
        g = f * np.array([1.0, -1.0])  # larger is better
        for i in range(len(f)):
            dominated = any(
                np.all(g[j] >= g[i]) and np.any(g[j] > g[i]) for j in range(len(f)) if j != i
            )
            duplicate_of_earlier = any(np.array_equal(f[j], f[i]) for j in range(i))
            assert mask[i] == (not dominated and not duplicate_of_earlier)
        front = pareto_front(f, dirs)
        assert np.all(np.diff(front[:, 0]) > 0)  # sorted, one per value
    assert not nondominated(np.array([[np.nan, 1.0], [2.0, 1.0]]), ("min", "min"))[0]


def test_igd_plus() -> None:
    true = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert igd_plus(true, true, UNIT2) == 0.0
    assert igd_plus(np.array([[0.5, 1.0]]), true, UNIT2) == pytest.approx((0.5 + 1.0) / 2)
    dominated_better = igd_plus(np.array([[0.0, 0.0]]), true, UNIT2)
    assert dominated_better == 0.0  # IGD+ counts only the shortfall


def test_attainment_surfaces() -> None:
    a = np.array([[0.1, 0.9], [0.5, 0.5]])
    b = np.array([[0.2, 0.6]])
    c = np.array([[0.9, 0.1]])
    s = attainment_surfaces([a, b, c], UNIT2, percentiles=(33, 66, 100))
    # p %: attained by at least p % of the runs; 33 % of 3 runs is one: the union's front
    assert {tuple(p) for p in s[33]} == {(0.1, 0.9), (0.2, 0.6), (0.5, 0.5), (0.9, 0.1)}
    assert {tuple(p) for p in s[66]} == {(0.2, 0.9), (0.5, 0.6), (0.9, 0.5)}  # two runs
    # by all three: (0.9, 0.6) is the one corner every run weakly dominates
    assert {tuple(p) for p in s[100]} == {(0.9, 0.6)}
    same = attainment_surfaces([a, a, a], UNIT2, percentiles=(50,))
    assert np.array_equal(same[50], a)
    with pytest.raises(ResultsError, match="no valid point"):
        attainment_surfaces([a, np.empty((0, 2))], UNIT2)


def test_anytime_hypervolume_never_decreases() -> None:
    rng = np.random.default_rng(1)
    f = rng.random((50, 2))
    hv = anytime_hypervolume(f, UNIT2, [1, 5, 10, 25, 50])
    assert np.all(np.diff(hv) >= 0) and hv[-1] == pytest.approx(hypervolume(f, UNIT2))


def test_true_nb201_front_from_the_tables() -> None:
    from harness.evaluators.objectives import parse_objective_set, resolve

    spec = parse_objective_set(
        "b",
        {
            "objectives": [
                {"metric": "val_acc@200", "direction": "max"},
                {"metric": "hw_edgegpu_latency", "direction": "min"},
            ]
        },
    )
    r = resolve(spec, "nb201", "cifar10")
    box = ObjectiveBox(spec.metrics, spec.directions, r.ideal, r.reference_point)
    pts = r.values.T
    front = pareto_front(pts, box.directions)
    assert 3 <= len(front) < 200
    # brute force over all 15,625 cells: nothing dominates a front point
    for p in front:
        better = (pts[:, 0] >= p[0]) & (pts[:, 1] <= p[1])
        strictly = (pts[:, 0] > p[0]) | (pts[:, 1] < p[1])
        assert not np.any(better & strictly)
    true_hv = hypervolume(front, box)
    assert true_hv == pytest.approx(hypervolume(pts, box))
    sample = pts[np.random.default_rng(0).choice(len(pts), 100, replace=False)]
    ind = run_indicators(sample, box, front, true_hv)
    assert 0 < ind["hv_regret"] < true_hv and ind["igd_plus"] > 0
    assert run_indicators(pts, box, front, true_hv)["hv_regret"] == pytest.approx(0.0, abs=1e-12)
    assert run_indicators(pts, box, front, true_hv)["true_found"] == len(front)
