"""Converted caches and source checksums are verified, not trusted: tampering is caught.

Every case edits a real cache built from the shipped data (or a real source file) the way a
careless user or a stray script would, then checks that the harness rebuilds the cache (saying
so) or refuses, and that the numbers it returns are the genuine ones.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks import cache_integrity, converters, nb101, nb201, registry
from harness.cli import main
from harness.errors import DataError

TSS = "nats_format_sample/NATS-tss-v1_0-3ffb9-simple"
C10_VAL = ("cifar10", "val_acc@200")


def _dir(root: Path, prefix: str) -> Path:
    (d,) = [p for p in root.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    return d


def _genuine201(built: Path, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    with monkeypatch.context() as mp:
        mp.setenv("NASH_CACHE_DIR", str(built))
        return np.array(nb201.NB201Tables().column(*C10_VAL))


# ---------------------------------------------------------------------------------------------
# NB201: values.npy and columns.json


def test_reversed_column_in_values_is_rebuilt(
    cache: Path, built: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    genuine = _genuine201(built, monkeypatch)
    d = _dir(cache, "nb201-")
    t = nb201.NB201Tables()
    k = t._column(*C10_VAL)
    values = np.load(d / "values.npy")
    values[k] = values[k][::-1].copy()
    size = (d / "values.npy").stat().st_size
    np.save(d / "values.npy", values)
    assert (d / "values.npy").stat().st_size == size  # same size: only the digest can tell
    capsys.readouterr()
    got = nb201.NB201Tables()
    assert "failed its check" in capsys.readouterr().err
    np.testing.assert_array_equal(got.column(*C10_VAL), genuine)
    assert not np.array_equal(genuine, genuine[::-1], equal_nan=True)  # the edit mattered


def test_swapped_columns_json_is_rebuilt(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _dir(cache, "nb201-")
    cols = json.loads((d / "columns.json").read_text())
    i = cols.index(["cifar10", "val_acc@200", "signal"])
    j = cols.index(["cifar10", "test_acc@200", "report"])
    cols[i], cols[j] = cols[j], cols[i]  # would make a search run on test accuracy
    (d / "columns.json").write_text(json.dumps(cols))
    t = nb201.NB201Tables()
    assert "failed its check" in capsys.readouterr().err
    assert t.role("cifar10", "val_acc@200") == "signal"
    assert t.value("cifar10", "test_acc@200", 11) != t.value(*C10_VAL, 11)
    assert json.loads((d / "columns.json").read_text())[i] == ["cifar10", "val_acc@200", "signal"]


def test_hand_edited_record_does_not_make_an_edited_cache_pass(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The record covers the cache contents AND the sources, and its own digest."""
    d = _dir(cache, "nb201-")
    values = np.load(d / "values.npy")
    values[0, :10] = 100.0
    np.save(d / "values.npy", values)
    rec = json.loads((d / "integrity.json").read_text())
    rec["files"]["values.npy"]["sha256"] = cache_integrity.sha256_file(d / "values.npy")
    (d / "integrity.json").write_text(json.dumps(rec))  # digest updated, record digest not
    assert "own digest" in str(cache_integrity.check(d, kind="nb201-tables"))
    # a self-consistent record that claims other sources is refused too
    rec["sources"]["nb201/nb201_acc_12ep.csv"] = "0" * 64
    rec["record_sha256"] = cache_integrity._record_digest(rec)
    (d / "integrity.json").write_text(json.dumps(rec))
    assert "other sources" in str(
        cache_integrity.check(d, kind="nb201-tables", sources=registry.verified_sources("nb201"))
    )
    t = nb201.NB201Tables()
    assert "failed its check" in capsys.readouterr().err
    assert t.column("cifar10", "test_acc@200")[:10].max() < 100.0


def test_given_cache_path_that_fails_is_refused(cache: Path) -> None:
    d = _dir(cache, "nb201-")
    (d / "columns.json").write_text("[]")
    with pytest.raises(DataError, match="cannot be used"):
        nb201.NB201Tables(d)


def test_old_cache_without_record_is_not_read(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _dir(cache, "nb201-")
    (d / "integrity.json").unlink()
    nb201.NB201Tables()
    assert "integrity.json is missing" in capsys.readouterr().err
    assert cache_integrity.check(d, kind="nb201-tables") is None


# ---------------------------------------------------------------------------------------------
# NB101: hashes.json and values.npy


def test_nb101_swapped_hashes_rebuilt(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _dir(cache, "nb101-30k-")
    hashes = json.loads((d / "hashes.json").read_text())
    genuine = nb101.NB101Table()
    a, b = hashes[0], hashes[1]
    va = genuine.value("val_acc@108", a)
    hashes[0], hashes[1] = b, a
    (d / "hashes.json").write_text(json.dumps(hashes))
    capsys.readouterr()
    t = nb101.NB101Table()
    assert "failed its check" in capsys.readouterr().err
    assert t.value("val_acc@108", a) == va


# ---------------------------------------------------------------------------------------------
# the source checksum memo and provenance records


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root holding a copy of one real NB201 source (found before the shipped one)."""
    rel = "nb201/nb201_acc_12ep.csv"
    src = registry.find(rel)
    assert src is not None
    root = tmp_path / "data"
    (root / "nb201").mkdir(parents=True)
    shutil.copy2(src, root / rel)
    monkeypatch.setenv("NASH_DATA_DIR", str(root))
    return root / rel


def _edit_keeping_size_and_mtime(p: Path) -> bytes:
    st = p.stat()
    data = p.read_bytes()
    i = data.index(b"9", 200)
    edited = data[:i] + b"1" + data[i + 1 :]
    p.write_bytes(edited)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns
    return data


def test_edit_keeping_size_and_mtime_is_caught(cache: Path, data_copy: Path) -> None:
    rel = "nb201/nb201_acc_12ep.csv"
    assert registry.locate("nb201", rel) == data_copy  # memoised now
    original = _edit_keeping_size_and_mtime(data_copy)
    with pytest.raises(DataError, match="corrupted"):
        registry.locate("nb201", rel)
    with pytest.raises(DataError, match="corrupted"):
        nb201.build_cache(force=True)
    # restored: accepted again, nothing bad stayed memoised
    st = data_copy.stat()
    data_copy.write_bytes(original)
    os.utime(data_copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert registry.locate("nb201", rel) == data_copy
    # the memo keeps one entry per file (its latest state), not one per edit
    mine = [k for k in registry._read_memo() if k.startswith(f"{data_copy.resolve()}|")]
    assert len(mine) == 1


def test_lying_memo_cannot_feed_a_cache_build(cache: Path, data_copy: Path) -> None:
    """A cache build hashes the bytes it converts: a memo entry is never enough."""
    rel = "nb201/nb201_acc_12ep.csv"
    entry = registry._entry("nb201", rel)
    _edit_keeping_size_and_mtime(data_copy)
    registry._write_memo({registry._stat_key(data_copy): entry.sha256})  # a stale/forged memo
    assert registry.locate("nb201", rel) == data_copy  # the cheap check on load trusts it
    with pytest.raises(DataError, match="corrupted"):
        nb201.build_cache(force=True)
    with pytest.raises(DataError, match="corrupted"):
        registry.read_verified("nb201", rel)
    assert main(["data", "verify"]) == 2  # verify always hashes in full


def test_hand_written_provenance_does_not_accept_an_edited_file(
    cache: Path, data_copy: Path
) -> None:
    rel = "nb201/nb201_acc_12ep.csv"
    entry = registry._entry("nb201", rel)
    _edit_keeping_size_and_mtime(data_copy)
    got = cache_integrity.sha256_file(data_copy)
    assert got != entry.sha256
    (data_copy.parent.parent / registry.PROVENANCE_FILE).write_text(
        json.dumps({rel: {"sha256": got, "original_sha256": list(entry.original_sha256)}})
    )
    with pytest.raises(DataError, match="corrupted"):
        registry.locate("nb201", rel)
    with pytest.raises(DataError, match="corrupted"):
        registry.read_verified("nb201", rel)


# ---------------------------------------------------------------------------------------------
# official converter caches


@pytest.fixture(scope="module")
def tss_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    p = registry.find(f"{TSS}/meta.pickle.pbz2")
    if p is None:
        pytest.skip(f"{TSS} not found under the data roots")
    root = tmp_path_factory.mktemp("tss_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NASH_CACHE_DIR", str(root))
        converters.convert("nats-tss", p.parent)
    return root, p.parent


def test_official_table_edit_converted_again(
    tss_built: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built_root, src = tss_built
    root = tmp_path / "cache"
    shutil.copytree(built_root, root)
    monkeypatch.setenv("NASH_CACHE_DIR", str(root))
    d = _dir(root / "official", "nats-tss-")
    genuine = converters.load_official("nats-tss", d)
    table = d / "table.parquet"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    with pytest.raises(DataError, match="failed its integrity check"):
        converters.load_official("nats-tss", d)
    assert converters.convert("nats-tss", src) == d
    assert "failed its check" in capsys.readouterr().err
    got = converters.load_official("nats-tss", d)
    assert got.equals(genuine)
    m = json.loads((d / "manifest.json").read_text())
    m["rows"] = 1
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DataError, match="failed its integrity check"):
        converters.load_official("nats-tss", d)


# ---------------------------------------------------------------------------------------------
# nash data verify covers the caches


def test_data_verify_checks_caches(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("  ok     ") >= 2 and "FAILED" not in out
    d = _dir(cache, "nb101-30k-")
    with open(d / "values.npy", "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(b"\x00" * 8)
    assert main(["data", "verify"]) == 2
    out = capsys.readouterr().out
    assert f"FAILED {d}" in out and "values.npy does not have the sha256" in out


# ---------------------------------------------------------------------------------------------
# concurrent rebuilds


def test_concurrent_processes_rebuild_a_corrupt_cache_safely(cache: Path) -> None:
    """Four processes open one corrupted cache at once: each rebuilds or keeps another's."""
    import subprocess
    import sys

    d = _dir(cache, "nb101-30k-")
    genuine = nb101.NB101Table()
    h = genuine.hashes[123]
    want = genuine.value("val_acc@108", h)
    (d / "values.npy").write_bytes(b"\x93NUMPY garbage")
    code = (
        "from harness.benchmarks import nb101; t = nb101.NB101Table(); "
        f"print(repr(t.value('val_acc@108', {h!r})))"
    )
    env = {**os.environ, "NASH_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert float(out) == want
    assert cache_integrity.check(d, kind="nb101-30k-table", full=True) is None
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".")]


def test_provenance_accepted_only_with_a_proved_conversion(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converted file is accepted when its kept originals reproduce it, and only then."""
    import hashlib

    from harness.benchmarks import fetch

    rel = "nb201/nb201_acc_12ep.csv"
    src = registry.find(rel)
    assert src is not None
    body = src.read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    url = "https://example.org/pinned/nb201_acc_12ep.csv"
    # an entry whose "mirror" checksum differs, converted by the identity converter
    entry = registry.DataFile(rel, "0" * 64, (url,), (sha,), "same")
    ds = registry.DataSet("toy", "toy", "tests", "MIT", (entry,))
    monkeypatch.setattr(registry, "datasets", lambda: {"toy": ds})
    root = tmp_path / "data"
    monkeypatch.setenv("NASH_DATA_DIR", str(root))
    (root / "nb201").mkdir(parents=True)
    (root / rel).write_bytes(body)
    original = fetch.original_path(root, url)
    original.parent.mkdir(parents=True)
    original.write_bytes(body)
    (root / registry.PROVENANCE_FILE).write_text(
        json.dumps({rel: {"sha256": sha, "original_sha256": [sha]}})
    )
    assert registry.locate("toy", rel) == root / rel  # proved by converting the original again
    assert registry.read_verified("toy", rel)[1] == sha
    original.unlink()
    assert registry.locate("toy", rel) == root / rel  # the proof is remembered by content digest
    with pytest.raises(DataError, match="corrupted"):
        registry.read_verified("toy", rel)  # building a cache proves it again: refused
    (cache / "verified_sha256.json").unlink()
    with pytest.raises(DataError, match="corrupted"):
        registry.locate("toy", rel)  # the record alone is not enough
