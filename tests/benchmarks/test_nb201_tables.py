from __future__ import annotations

import numpy as np
import pytest

from harness.benchmarks import nb201 as t201
from harness.benchmarks import registry
from harness.errors import DataError, NashError, UnknownName


@pytest.mark.parametrize(
    ("dataset", "metric", "best", "indices"),
    [
        ("cifar10", "test_acc@200", 94.37, [6111, 13714]),
        ("cifar100", "test_acc@200", 73.51, [9930]),
        ("imagenet16_120", "test_acc@200", 47.31, [857]),
        ("cifar10", "val_acc@200", 91.61, [6111]),
    ],
)
def test_published_optima(tables, dataset, metric, best, indices):
    value, idx = tables.optimum(dataset, metric)
    assert round(value, 2) == best
    assert idx == indices


def test_every_column_complete_where_expected(tables):
    for ds in t201.DATASETS:
        for m in (
            "test_acc@200",
            "val_acc@12",
            "test_acc@12",
            "naslib_acc_test_split_one_seed@200",
        ):
            col = tables.column(ds, m)
            assert col.shape == (15625,)
            assert np.isfinite(col).all(), (ds, m)
            assert 0 < np.nanmin(col) and np.nanmax(col) < 100
    # NAS-Bench-Suite-Zero proxies exist for the 9,445 cells with no cut-off branch
    assert np.isfinite(tables.column("cifar10", "zc_nwot")).sum() == 9445


def test_no_search_signal_is_a_test_split_column(tables):
    for ds in t201.DATASETS:
        for m in tables.metrics(ds, "signal"):
            assert m.startswith("val_acc@"), m
        for m in tables.metrics(ds, "signal") + tables.metrics(ds, "proxy"):
            assert "test" not in m
        for m in tables.metrics(ds):
            if "test" in m:
                assert tables.role(ds, m) == "report"
                with pytest.raises(NashError, match="TEST-split"):
                    tables.check_search_signal(ds, m)


def test_naslib_column_is_test_split_not_validation(tables):
    # data README forensics: cifar10 values sit on the 0.01 grid of a 10,000-image test set, and
    # thousands equal the cifar10-valid test mean exactly
    one = tables.column("cifar10", "naslib_acc_test_split_one_seed@200")
    assert np.allclose(np.round(one * 100), one * 100, atol=1e-6)
    same = np.isclose(one, tables.column("cifar10", "valid_split_test_acc@200"), atol=1e-9)
    assert same.sum() > 2000
    # it is not the validation column
    assert not np.allclose(one, tables.column("cifar10", "val_acc@200"))


def test_nwot_correlates_with_validation_as_published(tables):
    from scipy.stats import spearmanr

    nwot = tables.column("cifar10", "zc_nwot")
    val = tables.column("cifar10", "val_acc@200")
    ok = np.isfinite(nwot)
    rho = spearmanr(nwot[ok], val[ok]).statistic
    assert abs(rho - 0.794) < 0.005  # data README: 0.794 on the 9,445 cells


def test_no_200_epoch_validation_for_cifar100(tables):
    assert "val_acc@200" not in tables.metrics("cifar100")
    with pytest.raises(UnknownName, match="val_acc@12"):
        tables.column("cifar100", "val_acc@200")


def test_unknown_dataset_suggests(tables):
    with pytest.raises(UnknownName, match="did you mean 'cifar100'"):
        tables.metrics("cifar-100")


def test_row_has_all_datasets(tables):
    row = tables.row(6111)
    assert set(row) == set(t201.DATASETS)
    assert row["cifar10"]["test_acc@200"] == pytest.approx(94.373333)
    assert "hw_edgegpu_latency" in row["imagenet16_120"]


def test_corrupted_file_is_refused(tmp_path, monkeypatch):
    src = registry.locate("nb201", "nb201/nb201_acc_12ep.csv")
    bad = tmp_path / "nb201"
    bad.mkdir()
    data = bytearray(src.read_bytes())
    data[100] ^= 1
    (bad / "nb201_acc_12ep.csv").write_bytes(bytes(data))
    monkeypatch.setenv("NASH_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="corrupted"):
        registry.locate("nb201", "nb201/nb201_acc_12ep.csv")


def test_missing_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("NASH_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("harness.paths.REPO_ROOT", tmp_path / "nowhere")
    with pytest.raises(DataError, match="NASH_DATA_DIR") as e:
        registry.locate("nb101-30k", "nb101/nb101_subset30k_val_acc.csv")
    assert str(tmp_path) in str(e.value)


def test_cache_is_rebuilt_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path))
    d = t201.build_cache()
    assert (d / "columns.json").exists()
    fresh = t201.NB201Tables(d)
    assert fresh.optimum("cifar10", "test_acc@200")[0] == pytest.approx(94.373333)
    assert not list(d.glob(".*.tmp"))
