"""Figures from real small runs, opened again as images."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest
from scipy import stats as ss

from analysis import plots as P
from analysis import stats as S
from analysis.load import finals, load_runs


def _check_written(paths):
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
    img = mpimg.imread(paths[1])
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.01  # not a blank canvas
    return img


def test_styles_are_stable_and_colour_blind_safe():
    a = P.strategy_styles(["random_search", "aging_evolution", "my_new_method", "another"])
    b = P.strategy_styles(["another", "my_new_method", "aging_evolution", "random_search"])
    assert a == b
    assert a["random_search"].color == P.KNOWN_COLORS["random_search"]
    assert a["aging_evolution"].color == P.KNOWN_COLORS["aging_evolution"]
    assert {s.color for s in a.values()} <= set(P.OKABE_ITO.values())
    assert len({s.color for s in a.values()}) == 4


def test_anytime_curves(small_root, tmp_path):
    rs = load_runs(small_root)
    for x, y, band in (
        ("cum_evals", "incumbent_reported", "iqr"),
        ("cum_queries", "regret", "ci"),
    ):
        fig = P.plot_anytime(rs, x=x, y=y, band=band, width="two")
        assert fig.get_figwidth() == pytest.approx(P.WIDTHS["two"])
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(axes) == 2  # one panel per setting
        for ax in axes:
            labels = [ln.get_label() for ln in ax.get_lines()]
            strat = [lab for lab in labels if lab in rs.strategies]
            assert sorted(strat) == sorted(rs.strategies)  # one series per strategy
            assert len(ax.collections) == 3  # one band per strategy
        img = _check_written(P.save(fig, tmp_path / f"anytime_{x}_{y}"))
        assert img.shape[1] > img.shape[0]
    fig = P.plot_anytime(rs, width="one")
    assert fig.get_figwidth() == pytest.approx(P.WIDTHS["one"])
    with pytest.raises(ValueError, match="band"):
        P.plot_anytime(rs, band="sd")


def test_final_distributions(small_root, tmp_path):
    f = finals(load_runs(small_root))
    for kind in ("box", "violin", "ecdf"):
        fig = P.plot_final_distributions(f, kind=kind)
        ax = fig.axes[0]
        if kind == "ecdf":
            assert len(ax.get_lines()) == 3
        elif kind == "box":
            assert len(ax.collections) == 3  # one strip of points per strategy
        _check_written(P.save(fig, tmp_path / f"final_{kind}"))
    with pytest.raises(ValueError, match="kind"):
        P.plot_final_distributions(f, kind="bar")
    with pytest.raises(S.ResultsError, match="unknown metric"):
        P.plot_final_distributions(f, value="final_acc")


def test_cd_diagram(small_root, tmp_path):
    f = finals(load_runs(small_root))
    r = S.rank_analysis(f, "final_reported", blocks=("setting", "seed"))
    assert r.n_blocks == 12 and np.isfinite(r.cd)
    fig = P.plot_cd_diagram(r.ranks, r.nemenyi, cd=r.cd, title="test")
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for s in r.ranks.index:
        assert s in texts
    _check_written(P.save(fig, tmp_path / "cd"))


def test_predicted_vs_true_reports_kendall_tau(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.uniform(80, 94, 200)
    pred = y + rng.normal(0, 2, 200)
    fig = P.plot_predicted_vs_true(y, pred, label="xgb")
    tau = ss.kendalltau(y, pred).statistic
    assert f"Kendall τ = {tau:.3f}" in fig.axes[0].get_title()
    _check_written(P.save(fig, tmp_path / "pvt"))
    with pytest.raises(ValueError, match="shape"):
        P.plot_predicted_vs_true(y, pred[:-1])


def test_zero_cost_hexbin_on_nb201(tmp_path, tables):
    fig = P.nb201_zc_hexbin("cifar10", "zc_nwot", "val_acc@200")
    z = np.asarray(tables.column("cifar10", "zc_nwot"))
    a = np.asarray(tables.column("cifar10", "val_acc@200"))
    ok = np.isfinite(z) & np.isfinite(a)
    rho = ss.spearmanr(z[ok], a[ok]).statistic
    assert f"Spearman ρ = {rho:.3f}" in fig.axes[0].get_title()
    assert 0.7 < rho < 0.85  # NAS-Bench-Suite-Zero: about 0.79
    _check_written(P.save(fig, tmp_path / "zc"))
