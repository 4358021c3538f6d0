"""Every registered benchmark passes the benchmark contract kit; the kit itself can fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.benchmarks import BENCHMARKS, get_benchmark
from harness.benchmarks.base import Metric
from harness.benchmarks.table import TableBenchmark
from harness.errors import ConfigError, DataError
from harness.testing.benchmarks import check_benchmark


@pytest.mark.parametrize("name", BENCHMARKS.names())
def test_benchmark_contract(name):
    check_benchmark(get_benchmark(name))


def _nb201_12ep_table() -> pd.DataFrame:
    """A user-style long table from the shipped NB201 12-epoch file (real data)."""
    from harness.benchmarks import registry
    from harness.spaces import nb201

    src = pd.read_csv(registry.locate("nb201", "nb201/nb201_acc_12ep.csv"))
    keys = [nb201.NB201Space().canonical(nb201.arch_of_index(i)) for i in src["nb201_index"]]
    parts = [
        pd.DataFrame(
            {
                "key": keys,
                "dataset": ds,
                "fidelity": 12,
                "val": src[f"{ds}_val"],
                "test": src[f"{ds}_test"],
            }
        )
        for ds in ("cifar10", "cifar100")
    ]
    # canonical keys merge isomorphic cells: keep the first row of each class
    return pd.concat(parts).drop_duplicates(["key", "dataset", "fidelity"])


DECL = {"val": {"role": "signal", "unit": "%"}, "test": {"role": "report", "unit": "%"}}


def test_table_benchmark_passes_the_kit():
    b = TableBenchmark(_nb201_12ep_table(), name="nb201-12ep-table", space="nb201", metrics=DECL)
    assert b.metric_names("cifar10") == ["val@12", "test@12"]
    check_benchmark(b)


def test_kit_catches_a_searchable_test_column():
    class Leaky(TableBenchmark):
        def check_search_signal(self, dataset, metric):
            return self.metric(dataset, metric)  # lets test data through

    b = Leaky(_nb201_12ep_table(), name="leaky", space="nb201", metrics=DECL)
    with pytest.raises(AssertionError, match="searchable"):
        check_benchmark(b)


@pytest.mark.parametrize(
    ("mutate", "err", "match"),
    [
        (lambda df: pd.concat([df, df.iloc[:1]]), DataError, "duplicate rows"),
        (lambda df: df.assign(extra=1.0), ConfigError, "no declared role"),
        (lambda df: df.assign(val="x"), DataError, "not numeric"),
        (lambda df: df.drop(columns="key"), DataError, "no key column"),
        # a cast would truncate 12.7 to 12 or fail on NaN without naming the column
        (lambda df: df.assign(fidelity=12.7), DataError, "fidelity column 'fidelity' must hold"),
        (
            lambda df: df.assign(fidelity=np.where(np.arange(len(df)) == 3, np.nan, 12.0)),
            DataError,
            "row 3 has nan",
        ),
    ],
)
def test_bad_user_tables(mutate, err, match):
    with pytest.raises(err, match=match):
        TableBenchmark(mutate(_nb201_12ep_table()), name="t", space="nb201", metrics=DECL)


def test_a_table_without_signal_is_refused():
    with pytest.raises(ConfigError, match="no signal metric"):
        TableBenchmark(
            _nb201_12ep_table(),
            name="t",
            space="nb201",
            metrics={"val": {"role": "info"}, "test": {"role": "report"}},
        )


def test_roles_are_checked():
    with pytest.raises(ConfigError, match="role"):
        Metric("x", "target")
