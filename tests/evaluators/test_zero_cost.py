"""NASWOT scoring and the zero-cost evaluator: kernel arithmetic, determinism, the evaluator
contract, the score table, bad input, and agreement with the published ``nwot`` column (slow)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from harness.data import load_images
from harness.errors import ConfigError, InvalidArchitecture, UnknownName
from harness.evaluators.zero_cost import (
    ScoreTable,
    ZeroCostEvaluator,
    agreement_counts,
    compute_nb201_table,
    naswot_kernel,
    naswot_score,
    score_cell,
)
from harness.spaces import nb201

BEST = nb201.arch_of_index(6111)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return load_images("cifar10", 128)


@pytest.fixture(scope="module")
def small_images() -> torch.Tensor:
    return load_images("cifar10", 16)


@pytest.mark.parametrize("shape", [(20, 24), (200, 64), (5, 7)])
def test_agreement_counts_equal_the_literal_formula(shape: tuple[int, int]) -> None:
    codes = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) > 0.5
    c = codes.double()
    literal = c @ c.t() + (1 - c) @ (1 - c).t()
    assert torch.equal(agreement_counts(codes), literal)
    # agreement = units - Hamming distance
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1).double()
    assert torch.equal(agreement_counts(codes), shape[1] - hamming)


def test_kernel_by_hand() -> None:
    """Two ReLUs reading the same tensor count twice; codes are `input > 0`."""

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.ReLU(), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.a(x) + self.b(x)

    x = torch.tensor([[1.0, -1.0, 2.0], [1.0, 1.0, -3.0], [0.0, -1.0, 5.0]])
    k, n_relus, n_units = naswot_kernel(Tiny(), x)
    # codes: [1,0,1], [1,1,0], [0,0,1]; agreements 3 on the diagonal, 1, 2, 0 off it
    one = torch.tensor([[3.0, 1.0, 2.0], [1.0, 3.0, 0.0], [2.0, 0.0, 3.0]], dtype=torch.float64)
    assert torch.equal(k, 2 * one)
    assert (n_relus, n_units) == (2, 6)


def test_score_is_deterministic_and_seeded(small_images: torch.Tensor) -> None:
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    a = score_cell("nb201", BEST, small_images, seed=0)
    b = score_cell("nb201", BEST, small_images, seed=0)
    c = score_cell("nb201", BEST, small_images, seed=1)
    assert a.score == b.score and math.isfinite(a.score)
    assert c.score != a.score
    assert torch.equal(torch.get_rng_state(), rng_state)  # global RNG untouched
    assert torch.get_num_threads() == threads  # thread count restored
    assert a.n_relus == 80 and a.seconds > 0  # 5 ReLU-Conv-BN x 15 cells + 4 reduction + last


def test_score_does_not_depend_on_what_was_scored_before(small_images: torch.Tensor) -> None:
    first = score_cell("nb201", BEST, small_images).score
    score_cell("nb201", nb201.arch_of_index(0), small_images)
    assert score_cell("nb201", BEST, small_images).score == first


def test_degenerate_cells_are_flagged(small_images: torch.Tensor) -> None:
    # all none; output cut off and no conv reading a live tensor: every code is constant
    for arch in [(0,) * 6, (1, 4, 1, 0, 0, 0)]:
        r = score_cell("nb201", arch, small_images)
        assert r.degenerate and r.score == -math.inf and "singular" in r.reason
    # output cut off, but the first cell's dead convs still read the stem output: their ReLUs
    # count (as in the authors' code), so the score is finite, and below a working cell's
    cut = score_cell("nb201", (3, 3, 3, 0, 0, 0), small_images)
    assert not cut.degenerate and cut.score < score_cell("nb201", BEST, small_images).score


def test_network_without_relu_is_undefined(small_images: torch.Tensor) -> None:
    r = naswot_score(nn.Conv2d(3, 4, 3), small_images)
    assert r.degenerate and r.n_relus == 0 and "no ReLU" in r.reason


def test_mnist_images_score(small_images: torch.Tensor) -> None:
    x = load_images("mnist", 16)
    assert x.shape == small_images.shape
    assert math.isfinite(score_cell("nb201", BEST, x).score)


# -- the evaluator -----------------------------------------------------------------------------


def test_evaluator_contract(tables) -> None:
    ev = ZeroCostEvaluator("nb201", "cifar10", batch_size=16, cache="off")
    res = ev.evaluate(BEST)
    assert ev.is_proxy and res.ok
    assert math.isfinite(res.signal) and math.isnan(res.val) and res.fidelity is None
    assert res.cost.n_proxy == 1 and res.cost.n_full == 0 and res.cost.measured_s > 0
    assert math.isnan(res.cost.train_s)
    assert (
        res.test == tables.value("cifar10", "test_acc@200", 6111) == pytest.approx(94.37, abs=0.01)
    )
    assert res.signal == score_cell("nb201", BEST, load_images("cifar10", 16)).score
    assert ev.evaluate(BEST) is res  # memoised: a repeat is not recomputed
    assert ev.n_computed == 1


def test_evaluator_reports_other_datasets_on_cifar10_images(tables) -> None:
    ev = ZeroCostEvaluator("nb201", "cifar100", batch_size=16, cache="off")
    d = ev.describe()
    assert "CIFAR-10 images" in d["images_note"] and d["report_metric"] == "test_acc@200"
    assert ev.evaluate(BEST).test == tables.value("cifar100", "test_acc@200", 6111)


def test_evaluator_degenerate_cell_is_a_failed_evaluation() -> None:
    ev = ZeroCostEvaluator("nb201", batch_size=16, cache="off")
    res = ev.evaluate((0,) * 6)
    assert not res.ok and res.status == "failed" and "NASWOT undefined" in res.reason
    assert res.signal == -math.inf and res.cost.n_proxy == 1


def test_evaluator_reads_a_matching_score_table(tmp_path) -> None:
    idx = nb201.index_of(BEST)
    table = ScoreTable(tmp_path / "t.csv", {"images": "cifar10", "batch_size": 16, "seed": 0})
    table.rows[idx] = (nb201.NB201Space().class_id(BEST), 123.5, 0.42, "ok")
    table.write()
    ev = ZeroCostEvaluator(batch_size=16, table=tmp_path / "t.csv")
    res = ev.evaluate(BEST)
    assert res.signal == 123.5 and res.cost.measured_s == 0.42 and res.extras["cached"] == 1
    assert ev.n_computed == 0
    # another seed or batch size does not match the table: computed
    assert ev.evaluate(BEST, seed=1).signal != 123.5
    ev16 = ZeroCostEvaluator(batch_size=8, table=tmp_path / "t.csv")
    assert ev16.evaluate(BEST).signal != 123.5


def test_class_cache_mode(tmp_path) -> None:
    space = nb201.NB201Space()
    a, b = (1, 0, 0, 3, 0, 0), (0, 0, 0, 3, 0, 0)  # (0,3) conv; a adds a dead skip edge
    assert space.canonical(a) == space.canonical(b)
    table = ScoreTable(tmp_path / "t.csv", {"images": "cifar10", "batch_size": 16, "seed": 0})
    table.rows[nb201.index_of(b)] = (space.class_id(b), 7.0, 0.1, "ok")
    table.write()
    assert ZeroCostEvaluator(batch_size=16, table=table, cache="class").evaluate(a).signal == 7.0
    assert ZeroCostEvaluator(batch_size=16, table=table, cache="cell").evaluate(a).signal != 7.0


def test_committed_table_settings() -> None:
    from harness.evaluators.zero_cost import table_path

    path = table_path()
    if not path.exists():
        pytest.skip("no committed score table")
    t = ScoreTable.read(path)
    assert t.settings_match("cifar10", 128, 0) and len(t.rows) == t.meta["n_cells"] > 0
    assert {s for _, _, _, s in t.rows.values()} <= {"ok", "degenerate"}


@pytest.mark.slow
def test_table_generator_resumes(tmp_path) -> None:
    out = tmp_path / "nb201.csv"
    t1 = compute_nb201_table(batch_size=8, limit=2, path=out, progress=False)
    t2 = compute_nb201_table(batch_size=8, limit=1, path=out, progress=False)
    assert set(t1.rows) < set(t2.rows) and len(t2.rows) == 3
    back = ScoreTable.read(out).rows  # seconds are written to 4 decimals
    assert {i: (c, sc, st) for i, (c, sc, _, st) in back.items()} == {
        i: (c, sc, st) for i, (c, sc, _, st) in t2.rows.items()
    }
    with pytest.raises(ConfigError, match="other settings"):
        compute_nb201_table(batch_size=16, limit=1, path=out, progress=False)


# -- bad input -------------------------------------------------------------------------------


def test_bad_input(small_images: torch.Tensor) -> None:
    with pytest.raises(UnknownName, match="image set"):
        load_images("imagenet", 16)
    with pytest.raises(ConfigError, match=r"2\.\.164"):
        load_images("cifar10", 200)
    with pytest.raises(ConfigError, match=r"2\.\.164"):
        ZeroCostEvaluator(batch_size=165)
    with pytest.raises(ConfigError):
        load_images("cifar10", 1)
    with pytest.raises(ConfigError, match="shape"):
        score_cell("nb201", BEST, torch.zeros(4, 1, 28, 28))
    with pytest.raises(ConfigError, match="at least 2"):
        naswot_score(nn.ReLU(), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ConfigError, match="NaN"):
        score_cell("nb201", BEST, torch.full((4, 3, 32, 32), math.nan))
    ev = ZeroCostEvaluator(batch_size=16, cache="off")
    for bad in [(0, 1, 2), (0, 1, 2, 3, 4, 7), "not an arch", 3.5]:
        with pytest.raises(InvalidArchitecture):
            ev.evaluate(bad)  # type: ignore[arg-type]
    with pytest.raises(UnknownName):
        ZeroCostEvaluator("nb999")
    with pytest.raises(UnknownName):
        ZeroCostEvaluator(dataset="svhn")
    with pytest.raises(UnknownName):
        ZeroCostEvaluator(proxy="synflow")
    with pytest.raises(UnknownName):
        ZeroCostEvaluator(cache="sometimes")


# -- agreement with published numbers (slow) ------------------------------------------------------


@pytest.mark.slow
def test_agreement_with_published_nwot(tables, images: torch.Tensor) -> None:
    """Spearman with NAS-Bench-Suite-Zero's ``nwot`` on 60 random cells it covers.

    Measured: 0.991 (seed 1 sample below); the NASWOT authors' own code agrees with the column
    at about 0.98, so 0.95 leaves room for init noise but fails on wrong semantics (e.g. eval-mode
    batch norm, or counting only live ReLUs). Spearman with the cifar10 200-epoch validation
    accuracy is about 0.8 on such samples (the published column's, on the same cells, too).
    """
    from scipy.stats import spearmanr

    nwot = np.asarray(tables.column("cifar10", "zc_nwot"))
    val = np.asarray(tables.column("cifar10", "val_acc@200"))
    idx = np.random.default_rng(1).choice(np.flatnonzero(np.isfinite(nwot)), 60, replace=False)
    ours = np.array([score_cell("nb201", nb201.arch_of_index(int(i)), images).score for i in idx])
    assert np.isfinite(ours).all()
    rho = spearmanr(ours, nwot[idx])[0]
    assert rho > 0.95, rho
    assert spearmanr(ours, val[idx])[0] > 0.6


@pytest.mark.slow
def test_nb101_scoring(small_images: torch.Tensor) -> None:
    from harness.spaces.nb101 import NB101Space

    space = NB101Space()
    cell = space.sample(np.random.default_rng(0))
    ev = ZeroCostEvaluator("nb101", batch_size=16)
    res = ev.evaluate(cell)
    assert res.ok and res.cost.n_proxy == 1 and res.extras["n_relus"] > 0
    assert math.isfinite(res.signal)
