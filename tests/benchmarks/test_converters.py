"""Official-format converters: real NATS sample cells, NB201 .pth and NB101 TFRecord fixtures.

The NATS-Bench sample (3 real cells of the official topology archive) is converted and checked
against the shipped NB201 tables and against the official reader's own per-query API. The NB201
``.pth`` fixture is built with ``nas_201_api``'s own result classes from those same real cells, so
both converters must give identical tables. The NB101 fixture is written here in the official
TFRecord framing with a hand-written protobuf encoder; none of these is a real full download,
which is what ``STATUS`` says.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import os
import pickle
import shutil
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.benchmarks import converters, registry
from harness.benchmarks.converters import nb101_tfrecord
from harness.errors import DataError, UnknownName

TSS = "nats_format_sample/NATS-tss-v1_0-3ffb9-simple"
SSS = "nats_format_sample/NATS-sss-v1_0-50262-simple"
CELLS = (0, 11, 284)
HARNESS_DS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16_120"}


def _sample(rel: str) -> Path:
    p = registry.find(f"{rel}/meta.pickle.pbz2")
    if p is None:
        pytest.skip(f"{rel} not found under the data roots (set NASH_DATA_DIR)")
    return p.parent


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test converts into its own cache, so tests cannot see each other's conversions."""
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tss_dir() -> Path:
    return _sample(TSS)


@pytest.fixture(scope="module")
def nats_api(tss_dir: Path) -> Any:
    import nats_bench

    return nats_bench.create(str(tss_dir), "tss", fast_mode=True, verbose=False)


@pytest.fixture(scope="module")
def tss_table(tss_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NASH_CACHE_DIR", str(tmp_path_factory.mktemp("tss_cache")))
        d = converters.convert("nats-tss", tss_dir)
        return converters.load_official("nats-tss", d)


def _official_dirs(cache: Path) -> list[str]:
    root = cache / "official"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []


# ---------------------------------------------------------------------------------------------
# nats-tss on the real sample


def test_nats_seed_means_equal_shipped_tables(tss_table: pd.DataFrame) -> None:
    from harness.benchmarks import nb201

    tables = nb201.load()
    last = tss_table[tss_table["epoch"] == tss_table["hp"]]
    for i in CELLS:
        cell = last[last["nb201_index"] == i]
        for official, ds in HARNESS_DS.items():
            runs = cell[(cell["official_dataset"] == official) & (cell["hp"] == 200)]
            assert len(runs) == 3  # three seeds
            assert runs["test_acc"].mean() == pytest.approx(
                tables.value(ds, "test_acc@200", i), abs=1e-6
            )
            # the 12-epoch x-valid (NB201 paper's search signal); cifar10's is cifar10-valid's
            src = "cifar10-valid" if official == "cifar10" else official
            ep12 = cell[(cell["official_dataset"] == src) & (cell["hp"] == 12)]
            assert ep12["val_acc"].mean() == pytest.approx(
                tables.value(ds, "val_acc@12", i), abs=1e-6
            )
        c10v = cell[(cell["dataset"] == "cifar10_valid") & (cell["hp"] == 200)]
        assert len(c10v) == 3
        assert c10v["val_acc"].mean() == pytest.approx(
            tables.value("cifar10", "val_acc@200", i), abs=1e-6
        )
        assert c10v["test_acc"].mean() == pytest.approx(
            tables.value("cifar10", "valid_split_test_acc@200", i), abs=1e-6
        )


def test_nats_table_layout(tss_table: pd.DataFrame, nats_api: Any) -> None:
    t = tss_table
    # per cell: 200 epochs x 4 datasets x 3 seeds + 12 epochs x (2 + 1 + 1 + 1) runs
    assert len(t) == 3 * (200 * 4 * 3 + 12 * 5)
    assert set(t["dataset"]) == {"cifar10_valid", "cifar10", "cifar100", "imagenet16_120"}
    assert set(t.loc[t["hp"] == 200, "seed"]) == {777, 888, 999}
    assert not t.duplicated(["nb201_index", "dataset", "hp", "seed", "epoch"]).any()
    for _, run in t.groupby(["nb201_index", "dataset", "hp", "seed"], observed=True):
        assert list(run["epoch"]) == list(range(1, int(run["hp"].iloc[0]) + 1))
    for i in CELLS:
        assert set(t.loc[t["nb201_index"] == i, "arch_str"]) == {nats_api.arch(i)}
    split = {ds: set(g["test_split"].astype(str)) for ds, g in t.groupby("dataset", observed=True)}
    assert split["cifar10"] == {"ori-test"} and split["cifar10_valid"] == {"ori-test"}
    assert split["cifar100"] == {"x-test"} and split["imagenet16_120"] == {"x-test"}
    # cifar10 (trained on all 50k) has no validation split
    assert t.loc[t["dataset"] == "cifar10", "val_acc"].isna().all()
    # the official 200-epoch runs evaluate x-valid/x-test of cifar100 only after the last epoch
    c100 = t[(t["dataset"] == "cifar100") & (t["hp"] == 200)]
    assert c100.loc[c100["epoch"] < 200, "test_acc"].isna().all()
    assert c100.loc[c100["epoch"] == 200, "test_acc"].notna().all()
    assert c100["ori_test_acc"].notna().all()  # the per-epoch curve that does exist
    assert t["train_acc"].between(0, 100).all()


def test_nats_real_training_times(tss_table: pd.DataFrame, nats_api: Any) -> None:
    t = tss_table
    assert (t["train_time_s"] > 0).all() and np.isfinite(t["train_time_s"]).all()
    for key, g in t.groupby(["nb201_index", "official_dataset", "hp"], observed=True):
        i, ds, hp = (int(key[0]), str(key[1]), int(key[2]))  # type: ignore[call-overload]
        final = g[g["epoch"] == hp]
        cost = nats_api.get_cost_info(i, ds, hp=str(hp))
        assert final["train_time_cum_s"].mean() == pytest.approx(cost["T-train@total"], rel=1e-12)
        assert g["train_time_s"].mean() == pytest.approx(cost["T-train@epoch"], rel=1e-12)
        assert g["flops_m"].iloc[0] == pytest.approx(cost["flops"], rel=1e-12)
        assert g["params_mb"].iloc[0] == pytest.approx(cost["params"], rel=1e-12)
        assert g["latency_s"].iloc[0] == pytest.approx(cost["latency"], rel=1e-12)
    # ImageNet16-120 trains longer per epoch than CIFAR-10 on its 25k half: real, not filler
    c = t[(t["nb201_index"] == 11) & (t["hp"] == 200)].groupby("dataset", observed=True)
    per_epoch = c["train_time_s"].mean()
    assert per_epoch["imagenet16_120"] > per_epoch["cifar10"] > per_epoch["cifar10_valid"]


def test_nats_epochs_equal_official_get_more_info(tss_table: pd.DataFrame, nats_api: Any) -> None:
    """Every converted value equals the official per-query API with explicit hp and seed."""
    t = tss_table[tss_table["nb201_index"] == 11]
    pairs = [
        ("train-accuracy", "train_acc"),
        ("train-loss", "train_loss"),
        ("train-per-time", "train_time_s"),
        ("train-all-time", "train_time_cum_s"),
        ("valid-accuracy", "val_acc"),
        ("test-accuracy", "test_acc"),
        ("test-loss", "test_loss"),
    ]
    checked = 0
    for row in t[(t["epoch"] % 23 == 1) | (t["epoch"] == t["hp"])].itertuples():
        iepoch = int(row.epoch) - 1  # type: ignore[arg-type]
        info = nats_api.get_more_info(
            11, row.official_dataset, iepoch=iepoch, hp=str(row.hp), is_random=row.seed
        )
        for key, col in pairs:
            mine = getattr(row, col)
            if key in info:
                assert mine == pytest.approx(info[key], rel=1e-12), (row, key)
                checked += 1
            else:
                assert math.isnan(mine), (row, key)
        if row.official_dataset not in ("cifar10", "cifar10-valid") and "valtest-accuracy" in info:
            assert row.ori_test_acc == pytest.approx(info["valtest-accuracy"], rel=1e-12)
    assert checked > 500


def test_nats_manifest_cache_and_reuse(tss_dir: Path, tmp_path: Path) -> None:
    d = converters.convert("nats-tss", tss_dir)
    assert d.parent == tmp_path / "cache" / "official"
    m = converters.manifest(d)
    assert d.name == f"nats-tss-{m['source_sha256'][:16]}"
    assert m["source_sha256"] in converters.VERIFIED_SOURCES
    assert m["source_is_verified_sample"] is True
    assert m["verified_against_real_download"] is False
    assert "recorded at the first conversion" in m["source_sha256_note"]
    assert m["converter_version"] == converters.VERSIONS["nats-tss"]
    assert m["rows"] == 7380 and m["cells_converted"] == 3 and m["complete"] is False
    assert sum(m["row_counts"]["by dataset/hp"].values()) == 7380
    assert m["source"] == str(tss_dir.resolve())
    before = (d / "table.parquet").stat().st_mtime_ns
    assert converters.convert("nats-tss", tss_dir) == d  # cached: not converted again
    assert (d / "table.parquet").stat().st_mtime_ns == before
    a = converters.load_official("nats-tss", tss_dir)
    b = converters.load_official("nats-tss", d, columns=["nb201_index", "test_acc"])
    assert list(b.columns) == ["nb201_index", "test_acc"] and len(a) == len(b) == 7380
    c = converters.load_official("nats-tss", d, filters=[("hp", "=", 12)])
    assert len(c) == 3 * 60
    assert converters.convert("nats-tss", tss_dir, force=True) == d
    assert _official_dirs(tmp_path / "cache") == [d.name]  # no temp or old dirs left


def test_status_labels() -> None:
    assert set(converters.STATUS) == {"nats-tss", "nb201-pth", "nb101-tfrecord"}
    assert "3 real cells" in converters.STATUS["nats-tss"]
    assert "not yet verified against a full real download" in converters.STATUS["nats-tss"]
    for kind in ("nb201-pth", "nb101-tfrecord"):
        assert converters.STATUS[kind].startswith("not yet verified against a real download")


# ---------------------------------------------------------------------------------------------
# errors


def test_unknown_kind_and_missing_source(tmp_path: Path) -> None:
    with pytest.raises(UnknownName, match="did you mean 'nats-tss'"):
        converters.convert("nats_tss", tmp_path)
    with pytest.raises(UnknownName, match="nb101-tfrecord"):
        converters.load_official("nb101", tmp_path)
    with pytest.raises(DataError, match="not found"):
        converters.convert("nats-tss", tmp_path / "NATS-tss-v1_0-3ffb9-simple")
    with pytest.raises(DataError, match="not found"):
        converters.convert("nb101-tfrecord", tmp_path / "nasbench_only108.tfrecord")


def test_nats_wrong_sources(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not the 15,625 cells"):
        converters.convert("nats-tss", _sample(SSS))
    with pytest.raises(DataError, match=r"no meta\.pickle\.pbz2"):
        converters.convert("nats-tss", tmp_path)
    f = tmp_path / "x.pickle.pbz2"
    f.write_bytes(b"not bz2")
    with pytest.raises(DataError, match="not a directory"):
        converters.convert("nats-tss", f)


def test_nats_corrupt_cell_leaves_nothing(tss_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(tss_dir, src)
    os.chmod(src, 0o755)
    cell = src / "000011.pickle.pbz2"
    os.chmod(cell, 0o644)
    cell.write_bytes(cell.read_bytes()[:5000])  # a truncated download
    with pytest.raises(DataError, match="cell 11"):
        converters.convert("nats-tss", src)
    assert _official_dirs(tmp_path / "cache") == []  # nothing half-written


def test_load_official_rejects_other_kind(tss_dir: Path) -> None:
    d = converters.convert("nats-tss", tss_dir)
    with pytest.raises(DataError, match="not 'nb201-pth'"):
        converters.load_official("nb201-pth", d)


# ---------------------------------------------------------------------------------------------
# nb201-pth: a file built with nas_201_api's own classes from the real sample cells


def _nb201_meta(nats_api: Any, *, with_numpy_scalars: bool = True) -> dict[str, Any]:
    from nas_201_api.api_utils import ArchResults, ResultsCount

    arch2infos: dict[int, dict[str, Any]] = {}
    for i in CELLS:
        per_hp = {}
        for hp, key in (("12", "less"), ("200", "full")):
            src = nats_api.query_meta_info_by_index(i, hp=hp)
            ar = ArchResults(i, src.arch_str)
            for ds in src.get_dataset_names():
                for seed in src.get_dataset_seeds(ds):
                    r = src.query(ds, seed)
                    rc = ResultsCount(
                        ds, None, r.train_acc1es, r.train_losses, r.params, r.flop,
                        r.arch_config, seed, r.epochs, r.latency,
                    )  # fmt: skip
                    rc.update_train_info(r.train_acc1es, None, r.train_losses, r.train_times)
                    for name in r.eval_names:  # the official per-split layout, sparse ones too
                        rc.eval_names.append(name)
                    rc.eval_acc1es = dict(r.eval_acc1es)
                    rc.eval_losses = dict(r.eval_losses)
                    rc.eval_times = dict(r.eval_times)
                    ar.update(ds, seed, rc)
            per_hp[key] = ar.state_dict()
        arch2infos[i] = per_hp
    meta = {
        "meta_archs": [nats_api.arch(i) for i in range(len(nats_api))],
        "arch2infos": arch2infos,
        "evaluated_indexes": list(CELLS),
    }
    if not with_numpy_scalars:
        return meta
    # the sample holds numpy float64 latencies: torch's weights-only loader must accept them
    assert isinstance(arch2infos[0]["full"]["all_results"][("cifar10", 777)]["latency"][0],
                      np.floating)  # fmt: skip
    return meta


@pytest.fixture(scope="module")
def nb201_pth(nats_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    path = tmp_path_factory.mktemp("nb201") / "NAS-Bench-201-v1_1-test.pth"
    torch.save(_nb201_meta(nats_api), path)
    return path


def test_nb201_pth_equals_nats_conversion(nb201_pth: Path, tss_table: pd.DataFrame) -> None:
    d = converters.convert("nb201-pth", nb201_pth)
    t = converters.load_official("nb201-pth", d)
    m = converters.manifest(d)
    assert m["verified_against_real_download"] is False
    assert m["reader"].startswith("nas-bench-201")
    assert m["cells_converted"] == 3 and m["rows"] == len(tss_table)
    key = ["nb201_index", "dataset", "hp", "seed", "epoch"]
    a = t.sort_values(key).reset_index(drop=True)
    b = tss_table.sort_values(key).reset_index(drop=True)
    for col in a.columns:
        if isinstance(a[col].dtype, pd.CategoricalDtype):
            assert list(a[col].astype(str)) == list(b[col].astype(str)), col
        else:
            np.testing.assert_allclose(a[col], b[col], rtol=1e-12, err_msg=col)


def test_nb201_pth_bad_files(nats_api: Any, nb201_pth: Path, tmp_path: Path) -> None:
    import torch

    trunc = tmp_path / "truncated.pth"
    trunc.write_bytes(nb201_pth.read_bytes()[:100_000])
    with pytest.raises(DataError, match="cannot load"):
        converters.convert("nb201-pth", trunc)
    # a global outside plain data is refused by torch's weights-only loader, named in the error
    meta = _nb201_meta(nats_api)
    meta["created"] = datetime.date(2020, 3, 16)
    odd = tmp_path / "odd.pth"
    torch.save(meta, odd)
    with pytest.raises(DataError, match=r"datetime\.date"):
        converters.convert("nb201-pth", odd)
    small = _nb201_meta(nats_api)
    small["meta_archs"] = small["meta_archs"][:300]
    p = tmp_path / "small.pth"
    torch.save(small, p)
    with pytest.raises(DataError, match="not the 15,625 cells"):
        converters.convert("nb201-pth", p)
    with pytest.raises(DataError, match="not a file"):
        converters.convert("nb201-pth", tmp_path)
    assert _official_dirs(tmp_path / "cache") == []


# ---------------------------------------------------------------------------------------------
# nb101-tfrecord: the official framing and protobuf, written by a small encoder here


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def _double(number: int, x: float) -> bytes:
    return _field(number, 1, struct.pack("<d", x))


def _evaluation(epoch: float, time: float, train: float, val: float, test: float) -> bytes:
    msg = (
        _double(1, epoch) + _double(2, time) + _double(3, train) + _double(4, val)
        + _double(5, test) + _field(6, 2, _varint(len(b"ckpt")) + b"ckpt")
    )  # fmt: skip
    return _field(1, 2, _varint(len(msg)) + msg)


def _model_metrics(evals: list[tuple[float, ...]], params: int, total: float) -> bytes:
    body = b"".join(_evaluation(*e) for e in evals)
    return body + _field(2, 0, _varint(params)) + _double(3, total)


def _frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", nb101_tfrecord.masked_crc32c(length))
        + data
        + struct.pack("<I", nb101_tfrecord.masked_crc32c(data))
    )


def _cell(matrix: list[list[int]], ops: list[str]) -> tuple[str, str, str]:
    from harness.spaces.nb101 import NB101Cell

    cell = NB101Cell.from_spec(matrix, ops)
    bits = "".join(str(x) for row in matrix for x in row)
    return cell.hash, bits, ",".join(ops)


# (epochs, halfway, final, params, total time) per record: shaped like real NB101 records
_C3, _C1, _MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
_INCEPTION = _cell(
    [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
    ["input", _C1, _C3, _C3, _C3, _MP, "output"],
)  # fmt: skip
_SMALL = _cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", _C3, "output"])
_RECORDS: list[tuple[tuple[str, str, str], int, tuple[float, ...], tuple[float, ...], int]] = [
    (_INCEPTION, 108, (54.0, 1155.85, 0.8237, 0.8094, 0.8036), (108.0, 2311.7, 1.0, 0.9273, 0.9229),
     2694282),
    (_INCEPTION, 108, (54.0, 1151.03, 0.8391, 0.8217, 0.8159), (108.0, 2302.06, 1.0, 0.9301, 0.9250),
     2694282),
    (_SMALL, 108, (54.0, 580.4, 0.7012, 0.6910, 0.6876), (108.0, 1160.8, 0.9995, 0.8352, 0.8290),
     227274),
    (_SMALL, 36, (18.0, 195.2, 0.6231, 0.6106, 0.6088), (36.0, 390.4, 0.8836, 0.8041, 0.8007),
     227274),
]  # fmt: skip


def _record(cell: tuple[str, str, str], epochs: int, half: tuple[float, ...],
            final: tuple[float, ...], params: int) -> bytes:  # fmt: skip
    h, bits, ops = cell
    metrics = _model_metrics([(0.0, 0.0, 0.1, 0.1, 0.1), half, final], params, final[1] * 1.1)
    payload = [h, epochs, bits, ops, base64.b64encode(metrics).decode()]
    return json.dumps(payload).encode()


def _write_tfrecord(path: Path, payloads: list[bytes]) -> Path:
    path.write_bytes(b"".join(_frame(p) for p in payloads))
    return path


@pytest.fixture
def tfrecord(tmp_path: Path) -> Path:
    return _write_tfrecord(tmp_path / "nasbench_only108.tfrecord", [_record(*r) for r in _RECORDS])


def test_crc32c_known_vectors() -> None:
    assert nb101_tfrecord._crc32c_py(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert nb101_tfrecord._crc32c_py(b"") == 0
    assert nb101_tfrecord.crc32c(b"123456789") == 0xE3069283


def test_protobuf_decoder_negative_and_unknown_fields() -> None:
    buf = _field(2, 0, _varint(-5)) + _field(9, 2, _varint(3) + b"abc") + _double(3, 1.5)
    m = nb101_tfrecord.parse_model_metrics(buf)
    assert m == {"evaluation_data": [], "trainable_parameters": -5, "total_time": 1.5}
    with pytest.raises(ValueError, match="truncated"):
        nb101_tfrecord.parse_fields(_double(3, 1.5)[:-2])


def test_nb101_tfrecord_converts(tfrecord: Path) -> None:
    d = converters.convert("nb101-tfrecord", tfrecord)
    t = converters.load_official("nb101-tfrecord", d)
    m = converters.manifest(d)
    assert d.name.startswith("nb101-tfrecord-")
    assert m["records"] == 4 and m["unique_cells"] == 2 and m["epochs_present"] == [36, 108]
    assert m["row_counts"] == {"by epochs": {"108": 3, "36": 1}}
    assert m["verified_against_real_download"] is False
    assert len(t) == 4
    assert list(t["repeat"]) == [0, 1, 0, 0]
    assert list(t["n_vertices"]) == [7, 7, 3, 3]
    for row, (cell, epochs, half, final, params) in zip(t.itertuples(), _RECORDS, strict=True):
        assert (row.module_hash, row.adjacency, row.ops) == cell
        assert row.epochs == epochs and row.trainable_parameters == params
        assert (row.halfway_epoch, row.halfway_training_time_s, row.halfway_train_acc,
                row.halfway_val_acc, row.halfway_test_acc) == half  # fmt: skip
        assert (row.final_epoch, row.final_training_time_s, row.final_train_acc,
                row.final_val_acc, row.final_test_acc) == final  # fmt: skip
        assert row.total_time_s == pytest.approx(final[1] * 1.1)
    assert t.loc[0, "module_hash"] == _INCEPTION[0]


def test_nb101_corrupted_crc_is_a_clear_error(tfrecord: Path, tmp_path: Path) -> None:
    raw = bytearray(tfrecord.read_bytes())
    first = 16 + struct.unpack("<Q", raw[:8])[0]
    raw[first + 12 + 40] ^= 0x01  # flip one bit inside the second record's data
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"record 1 at byte {first}: data CRC mismatch"):
        converters.convert("nb101-tfrecord", bad)
    raw = bytearray(tfrecord.read_bytes())
    raw[3] ^= 0x10  # a damaged length field
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="record 0 at byte 0: length CRC mismatch"):
        converters.convert("nb101-tfrecord", bad)
    bad.write_bytes(tfrecord.read_bytes()[:-7])
    with pytest.raises(
        DataError, match=r"record 3 at byte \d+: file ends inside a \d+-byte record \(truncated"
    ):
        converters.convert("nb101-tfrecord", bad)
    assert _official_dirs(tmp_path / "cache") == []


def test_nb101_malformed_records(tmp_path: Path) -> None:
    h, bits, ops = _SMALL
    good = json.loads(_record(*_RECORDS[2]))
    cases = {
        "not UTF-8 JSON": b"\xff\xfe",
        "not the list": json.dumps({"hash": h}).encode(),
        "not the square": json.dumps([h, 108, bits + "0", ops, good[4]]).encode(),
        "do not fit": json.dumps([h, 108, bits, "input,conv5x5,output", good[4]]).encode(),
        "not base64": json.dumps([h, 108, bits, ops, "@@@"]).encode(),
        "expected 3": json.dumps(
            [h, 108, bits, ops, base64.b64encode(_model_metrics([], 1, 1.0)).decode()]
        ).encode(),
    }
    for why, payload in cases.items():
        p = _write_tfrecord(tmp_path / "x.tfrecord", [_record(*_RECORDS[0]), payload])
        with pytest.raises(DataError, match=f"record 1 is not a NAS-Bench-101 record: .*{why}"):
            converters.convert("nb101-tfrecord", p)
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="holds no records"):
        converters.convert("nb101-tfrecord", empty)


# ---------------------------------------------------------------------------------------------
# restricted_load


class _Makedirs:
    """Unpickling this calls os.makedirs(target): a visible side effect if a load got through."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.makedirs, (self.target,))


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_restricted_load_refuses_before_unpickling(tmp_path: Path) -> None:
    target = tmp_path / "created_by_unpickling"
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"x": _Makedirs(str(target))}))
    with pytest.raises(DataError, match="does not match the pinned"):
        converters.restricted_load(p, "0" * 64, {("os", "makedirs")} - {("os", "makedirs")})
    assert not target.exists()
    with pytest.raises(DataError, match=r"os\.makedirs, which is not in the allowed list"):
        converters.restricted_load(p, _sha(p), {("collections", "OrderedDict")})
    assert not target.exists()
    with pytest.raises(ValueError, match="never allowed"):
        converters.restricted_load(p, _sha(p), {("os", "makedirs")})
    assert not target.exists()
    with pytest.raises(DataError, match="cannot read"):
        converters.restricted_load(tmp_path / "absent.pkl", "0" * 64, set())


def test_restricted_load_allows_listed_classes(tmp_path: Path) -> None:
    p = tmp_path / "ok.pkl"
    p.write_bytes(pickle.dumps(OrderedDict(a=1, b=[2.5, "x"]), protocol=4))
    got = converters.restricted_load(p, _sha(p).upper(), {("collections", "OrderedDict")})
    assert got == OrderedDict(a=1, b=[2.5, "x"]) and isinstance(got, OrderedDict)
    with pytest.raises(DataError, match=r"collections\.OrderedDict"):
        converters.restricted_load(p, _sha(p), set())
    p.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(DataError, match="not a loadable pickle"):
        converters.restricted_load(p, _sha(p), set())


def test_restricted_load_reads_a_pandas_pickle(tmp_path: Path) -> None:
    """The intended use: a pandas pickle loads with exactly the globals it names, no others."""
    df = pd.DataFrame({"nb201_index": [0, 11, 284], "acc": [85.86, 91.58, 88.79]})
    p = tmp_path / "frame.pd"
    df.to_pickle(p)

    names: set[tuple[str, str]] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            names.add((module, name))
            return super().find_class(module, name)

    with open(p, "rb") as f:
        Recorder(f).load()
    got = converters.restricted_load(p, _sha(p), names)
    pd.testing.assert_frame_equal(got, df)
    some = sorted(names)[0]
    with pytest.raises(DataError, match="not in the allowed list"):
        converters.restricted_load(p, _sha(p), names - {some})
