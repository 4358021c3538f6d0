"""NAS-Bench-Graph benchmark: our cache against the package's own reader, roles, optima, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from nas_bench_graph import Arch, light_read

from harness.benchmarks import nbgraph
from harness.errors import DataError, InvalidArchitecture, NashError, NotInBenchmark, UnknownName
from harness.spaces.nbgraph import OPS, NBGraphSpace

BENCH = nbgraph.NBGraphBenchmark()
PROT = nbgraph.NBGraphProteinsBenchmark()
FIELD = {"val": "valid_perf", "test": "perf", "latency_s": "latency", "params_m": "para"}


def _bench(ds: str) -> nbgraph.NBGraphBenchmark:
    return PROT if ds == "proteins" else BENCH


def _metric_names(ds: str) -> list[str]:
    return [m.name for m in _bench(ds).metrics(ds)]


@pytest.mark.parametrize("ds", nbgraph.DATASETS)
def test_every_value_equals_the_official_reader(ds):
    b = _bench(ds)
    official = light_read(ds)
    keys = list(b.keys(ds))
    assert len(keys) == nbgraph.N_KEYS[ds] == len(official)
    assert set(keys) == set(official)
    for metric, (_, col) in zip(_metric_names(ds), nbgraph.FIELDS, strict=True):
        scale = 100.0 if col in ("val", "test") else 1.0  # performance in %
        want = np.array([float(official[k][FIELD[col]]) * scale for k in keys])
        got = b.values(ds, metric, keys)
        assert np.array_equal(got, want), (ds, metric)  # bitwise: one multiplication, no loss
        # the optimum is the data's best
        m = b.metric(ds, metric)
        best, at = b.optimum(ds, metric)
        assert best == (want.max() if m.direction == "max" else want.min())
        assert all(float(official[k][FIELD[col]]) * scale == best for k in at)


def test_counts_and_known_cells():
    assert nbgraph.N_KEYS == {**dict.fromkeys(nbgraph.DATASETS, 26206), "proteins": 2021}
    cora = light_read("cora")
    space = NBGraphSpace()
    for text in (
        "0,1,2,1|gcn,gin,fc,cheb",
        "0,0,1,3|gat,sage,skip,arma",
        "0,1,2,3|skip,skip,gcn,gcn",
    ):
        arch = space.from_str(text)
        links, names = text.split("|")
        key = Arch([int(x) for x in links.split(",")], names.split(",")).valid_hash()
        assert BENCH.key_of(arch) == key
        assert BENCH.value("cora", "val_acc", key) == cora[key]["valid_perf"] * 100
        assert BENCH.value("cora", "test_acc", key) == cora[key]["perf"] * 100
        assert BENCH.cell_of(key) == space.canonical_arch(arch)


def test_roles_and_test_split_refused_as_signal():
    for ds in nbgraph.DATASETS:
        b = _bench(ds)
        roles = {m.name: m.role for m in b.metrics(ds)}
        perf = "rocauc" if ds == "proteins" else "acc"
        assert roles == {f"val_{perf}": "signal", f"test_{perf}": "report",
                         "latency_s": "info", "params_m": "info"}  # fmt: skip
        assert b.metric(ds, f"val_{perf}").unit.startswith("%")
        assert b.metric(ds, "latency_s").unit == "s"
        assert b.signal_metric(ds) == f"val_{perf}"
        assert b.report_metric(ds) == f"test_{perf}"
        with pytest.raises(NashError, match="TEST-split"):
            b.check_search_signal(ds, f"test_{perf}")
        with pytest.raises(NashError, match="cost/size"):
            b.check_search_signal(ds, "latency_s")
    assert BENCH.seed_policy == "none" and BENCH.fidelities == ()
    assert BENCH.datasets == nbgraph.MAIN_DATASETS and PROT.datasets == ("proteins",)
    assert (BENCH.space, PROT.space) == ("nbgraph", "nbgraph-proteins")


def test_vectorised_equals_one_by_one():
    rng = np.random.default_rng(0)
    keys = list(rng.choice(np.asarray(BENCH.keys("pubmed")), size=300))
    many = BENCH.values("pubmed", "val_acc", keys)
    one = [BENCH.value("pubmed", "val_acc", k) for k in keys]
    assert many.tolist() == one


def test_bad_input():
    with pytest.raises(UnknownName, match=r"'reddit'.*cora"):
        BENCH.values("reddit", "val_acc", [0])
    with pytest.raises(UnknownName, match="benchmark 'nbgraph-proteins'"):
        BENCH.values("proteins", "val_rocauc", [1111])  # proteins has its own ops
    with pytest.raises(UnknownName, match="val_acc"):
        PROT.values("proteins", "val_acc", [1111])  # proteins' metric is ROC-AUC
    # a main-space cell (gat) on proteins: not in the data, and the error says which space to use
    with pytest.raises(NotInBenchmark, match="nbgraph-proteins"):
        PROT.values("proteins", "val_rocauc", [0])
    with pytest.raises(NotInBenchmark, match="not in nbgraph cora"):
        BENCH.values("cora", "val_acc", [88888])  # the all-skip hash
    with pytest.raises(InvalidArchitecture, match="unknown nbgraph operation 'lstm'"):
        NBGraphSpace().from_str("0,1,2,1|gcn,lstm,fc,cheb")
    with pytest.raises(InvalidArchitecture, match="all-'skip'"):
        BENCH.key_of((0, 0, 0, 0) + (OPS.index("skip"),) * 4)


def test_dataset_spellings_and_registry():
    from harness.benchmarks import get_benchmark
    from harness.spaces import make_space

    assert BENCH.dataset("Cora") == "cora"
    assert get_benchmark("nas-bench-graph").name == "nbgraph"
    assert get_benchmark("nbgraph-proteins").datasets == ("proteins",)
    assert make_space("nbgraph-proteins").ops == nbgraph.OPS_PROTEINS


def test_tampered_package_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "cora.bench"
    shutil.copyfile(nbgraph.package_file("cora"), bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00")
    monkeypatch.setattr(nbgraph, "package_file", lambda ds: bad)
    with pytest.raises(DataError, match="not the pinned"):
        nbgraph.verified_file("cora")
    with pytest.raises(DataError, match="does not match the pinned"):
        nbgraph.read_official("cora")


def test_cache_is_reused_checked_and_rebuilt_when_edited(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path))
    d = nbgraph.build_cache("citeseer")
    assert d.parent == tmp_path and nbgraph.SHA256["citeseer"][:16] in d.name
    before = (d / "values.npy").stat().st_mtime_ns
    assert nbgraph.build_cache("citeseer") == d  # reused, not rewritten
    assert (d / "values.npy").stat().st_mtime_ns == before
    # an edited cache is never read: load() rebuilds it from the verified package file
    vals = np.load(d / "values.npy")
    vals[0, 0] = 0.0
    np.save(d / "values.npy", vals)
    nbgraph.load.cache_clear()
    try:
        t = nbgraph.load("citeseer")
        assert "failed its check" in capsys.readouterr().err
        assert t.values[0, 0] == light_read("citeseer")[int(t.keys[0])]["valid_perf"] * 100
    finally:
        nbgraph.load.cache_clear()


def test_provenance_pins_every_file():
    p = BENCH.provenance()
    assert p.licence == "Apache-2.0" and "NeurIPS 2022" in p.citation
    assert set(p.files) == {f"nas_bench_graph/light/{d}.bench" for d in nbgraph.MAIN_DATASETS}
    assert set(PROT.provenance().files) == {"nas_bench_graph/light/proteins.bench"}
    for d in nbgraph.DATASETS:
        assert nbgraph.verified_file(d).name == f"{d}.bench"


def _nash(*args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, check=False
    )


def test_nash_query_cli():
    import json

    r = _nash("query", "--json", "nbgraph", "0,1,2,1|gcn,gin,fc,cheb")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    key = Arch([0, 1, 2, 1], ["gcn", "gin", "fc", "cheb"]).valid_hash()
    assert out["key"] == key
    assert out["metrics"]["cora"]["val_acc"] == light_read("cora")[key]["valid_perf"] * 100
    assert set(out["metrics"]) == set(nbgraph.MAIN_DATASETS)
    r = _nash("query", "--json", "nbgraph-proteins", "0,1,2,1|sage,gcn,fc,arma")
    assert r.returncode == 0 and set(json.loads(r.stdout)["metrics"]) == {"proteins"}
    r = _nash("query", "nbgraph-proteins", "0,1,2,1|gcn,gin,fc,cheb")  # gin: not a proteins op
    assert r.returncode == 2 and "proteins" in r.stderr
    r = _nash("query", "nbgraph", "0,1,2,1|gcn,lstm,fc,cheb")
    assert r.returncode == 2 and "unknown nbgraph operation 'lstm'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_malformed_records_are_one_clear_error(tmp_path, monkeypatch):
    import hashlib
    import pickle

    def with_data(obj: object) -> None:
        f = tmp_path / "cora.bench"
        f.write_bytes(pickle.dumps(obj))
        monkeypatch.setattr(nbgraph, "package_file", lambda ds: f)
        monkeypatch.setitem(nbgraph.SHA256, "cora", hashlib.sha256(f.read_bytes()).hexdigest())

    rec = {"valid_perf": 0.5, "perf": 0.5, "latency": 0.01, "para": 1.0}
    with_data({0: {**rec, "perf": "n/a"}})
    with pytest.raises(DataError, match="perf is 'n/a', not a number"):
        nbgraph._convert("cora")
    with_data({"0": rec})
    with pytest.raises(DataError, match="not an architecture hash"):
        nbgraph._convert("cora")
    with_data({0: {"perf": 0.5}})
    with pytest.raises(DataError, match="fields"):
        nbgraph._convert("cora")
    with_data({0: rec})  # well-formed but one key: not the space's 26,206
    with pytest.raises(DataError, match="expected exactly the 26206 keys"):
        nbgraph._convert("cora")
