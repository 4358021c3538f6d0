"""Contract checks every benchmark must pass (plug-in authors run them on their own tables).

Example::

    from harness.testing.benchmarks import check_benchmark

    def test_my_benchmark():
        check_benchmark(MyBenchmark())

The checks are what the rest of the harness relies on: declared roles (so test data can never
be a search signal), optima that equal the data's best (regret), vectorised lookups equal to
one-by-one lookups, and a clear error for cells the table does not hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.benchmarks.base import DIRECTIONS, ROLES, SEED_POLICIES, Benchmark
from harness.errors import NashError, NotInBenchmark


def check_benchmark(bench: Benchmark, *, n: int = 50, seed: int = 0) -> None:
    """Run every benchmark invariant (``n`` keys per lookup check)."""
    assert bench.name and bench.datasets, "a benchmark needs a name and datasets"
    assert bench.seed_policy in SEED_POLICIES
    for ds in bench.datasets:
        check_roles(bench, ds)
        check_no_test_signal(bench, ds)
        check_vectorised(bench, ds, n, seed)
        if bench.optimum_known:
            check_optimum(bench, ds)
        if not bench.surrogate_based:
            check_unknown_cell(bench, ds)
        check_space_cells(bench, ds, seed)
    p = bench.provenance()
    assert p.citation or p.source, f"{bench.name}: provenance names no source or citation"


def check_roles(bench: Benchmark, ds: str) -> None:
    ms = bench.metrics(ds)
    assert ms, f"{bench.name}/{ds}: no metrics"
    for m in ms:
        assert m.role in ROLES and m.direction in DIRECTIONS
    assert bench.metric_names(ds, "signal"), f"{bench.name}/{ds}: no signal metric"
    bench.metric(ds, bench.report_metric(ds))
    bench.metric(ds, bench.signal_metric(ds))
    f = bench.default_fidelity(ds)
    assert f is None or f in bench.fidelities, f"{bench.name}/{ds}: default fidelity {f}"


def check_no_test_signal(bench: Benchmark, ds: str) -> None:
    from harness.evaluators.tabular import TabularEvaluator

    for m in bench.metrics(ds):
        if m.role in ("report", "info"):
            try:
                bench.check_search_signal(ds, m.name)
            except NashError:
                pass
            else:
                raise AssertionError(f"{bench.name}/{ds}: {m.role} metric {m.name} is searchable")
    rep = bench.metric_names(ds, "report")
    if rep:
        try:
            TabularEvaluator(bench, ds, signal=rep[0])
        except NashError:
            pass
        else:
            raise AssertionError(f"{bench.name}/{ds}: the evaluator searched on test {rep[0]}")


def _sample_keys(bench: Benchmark, ds: str, n: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    if bench.surrogate_based:  # a model over a huge space: sample cells, not its key list
        from harness.spaces import make_space

        space = make_space(bench.space)
        return [bench.key_of(space.to_cell(space.sample(rng))) for _ in range(n)]
    keys = bench.keys(ds)
    idx = rng.choice(len(keys), size=min(n, len(keys)), replace=False)
    return [keys[int(i)] for i in idx]


def check_vectorised(bench: Benchmark, ds: str, n: int, seed: int) -> None:
    keys = _sample_keys(bench, ds, n, seed)
    for m in bench.metrics(ds)[:8]:
        many = np.asarray(bench.values(ds, m.name, keys), dtype=np.float64)
        one = np.array([bench.value(ds, m.name, k) for k in keys], dtype=np.float64)
        assert many.shape == (len(keys),)
        np.testing.assert_array_equal(many, one, err_msg=f"{bench.name}/{ds}/{m.name}")


def check_optimum(bench: Benchmark, ds: str) -> None:
    for name in {bench.signal_metric(ds), bench.report_metric(ds)}:
        m = bench.metric(ds, name)
        col = np.asarray(bench.column(ds, name), dtype=np.float64)
        best, keys = bench.optimum(ds, name)
        want = np.nanmax(col) if m.direction == "max" else np.nanmin(col)
        assert best == want, f"{bench.name}/{ds}/{name}: optimum {best} != data's best {want}"
        assert keys and all(bench.value(ds, name, k) == best for k in keys)


def check_unknown_cell(bench: Benchmark, ds: str) -> None:
    keys = bench.keys(ds)
    k0 = keys[0]
    missing: Any = "__no_such_cell__"
    if isinstance(k0, int):
        missing = max(int(k) for k in keys if isinstance(k, int)) + 1
    try:
        bench.values(ds, bench.signal_metric(ds), [missing])
    except NotInBenchmark:
        return
    raise AssertionError(f"{bench.name}/{ds}: an unknown cell did not raise NotInBenchmark")


def check_space_cells(bench: Benchmark, ds: str, seed: int) -> None:
    """Cells sampled from the benchmark's own space have keys, and keys map back to cells."""
    from harness.spaces import make_space

    space = make_space(bench.space)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        cell = space.to_cell(space.sample(rng))
        key = bench.key_of(cell)
        bench.value(ds, bench.signal_metric(ds), key)
    for k in list(bench.keys(ds))[:3] if not bench.surrogate_based else []:
        try:
            cell = bench.cell_of(k)
        except NashError:
            return  # a benchmark that cannot map keys back (allowed)
        assert bench.key_of(cell) == k, f"{bench.name}: cell_of / key_of disagree for {k!r}"
