"""Data-side faults give one clear message, never a traceback or a half-written cache.

Corrupt cache files (truncated, empty, random values, garbled JSON, a missing file) are rebuilt
with a notice; a cache directory that is a file or cannot be written is one error naming
NASH_CACHE_DIR (exit 2 on the command line); a full disk while building a cache leaves nothing
behind and says so.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks import cache_integrity, converters, nb101, nb201, registry
from harness.benchmarks.converters import _cache
from harness.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]
TSS = "nats_format_sample/NATS-tss-v1_0-3ffb9-simple"


def _dir(root: Path, prefix: str) -> Path:
    (d,) = [p for p in root.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    return d


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:1000])


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _random(p: Path) -> None:
    p.write_bytes(np.random.default_rng(0).bytes(p.stat().st_size))


def _garble(p: Path) -> None:
    p.write_text(p.read_text()[:-7] + "}{,")


def _delete(p: Path) -> None:
    p.unlink()


CORRUPTIONS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "values-truncated": ("values.npy", _truncate),
    "values-empty": ("values.npy", _empty),
    "values-random": ("values.npy", _random),
    "values-deleted": ("values.npy", _delete),
    "json-garbled": ("{json}", _garble),
    "json-empty": ("{json}", _empty),
    "record-garbled": ("integrity.json", _garble),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_nb101_cache_rebuilt(
    case: str, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _dir(cache, "nb101-30k-")
    before = np.load(d / "values.npy").copy()
    name, corrupt = CORRUPTIONS[case]
    corrupt(d / name.replace("{json}", "hashes.json"))
    t = nb101.NB101Table()
    err = capsys.readouterr().err
    assert "failed its check" in err and "rebuilding it" in err and err.count("\n") == 1
    np.testing.assert_array_equal(np.asarray(t._values), before)
    assert len(t) == 30001
    assert cache_integrity.check(d, kind="nb101-30k-table", full=True) is None


@pytest.mark.parametrize("case", ["values-truncated", "values-random", "json-garbled"])
def test_corrupt_nb201_cache_rebuilt(
    case: str, cache: Path, built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _dir(cache, "nb201-")
    before = np.load(d / "values.npy").copy()
    name, corrupt = CORRUPTIONS[case]
    corrupt(d / name.replace("{json}", "columns.json"))
    t = nb201.NB201Tables()
    assert "failed its check" in capsys.readouterr().err
    np.testing.assert_array_equal(np.asarray(t._values), before)


def test_corrupt_official_manifest_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = registry.find(f"{TSS}/meta.pickle.pbz2")
    if p is None:
        pytest.skip(f"{TSS} not found under the data roots")
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path / "cache"))
    d = converters.convert("nats-tss", p.parent)
    (d / "manifest.json").write_text('{"kind": "nats-tss", "rows"')
    with pytest.raises(DataError):
        converters.load_official("nats-tss", d)  # the cache dir alone: refused, one error
    assert converters.convert("nats-tss", p.parent) == d
    assert "converting the source again" in capsys.readouterr().err
    assert len(converters.load_official("nats-tss", d)) == 7380


# ---------------------------------------------------------------------------------------------
# NASH_CACHE_DIR that cannot be used


def _nash(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("where", ["file", "below-a-file", "uncreatable"])
def test_cache_dir_unusable_is_one_error_exit_2(where: str, tmp_path: Path) -> None:
    f = tmp_path / "a-file"
    f.write_text("not a directory")
    value = {"file": f, "below-a-file": f / "cache", "uncreatable": Path("/proc/nash-cache")}
    r = _nash("query", "nb201", "11", env={"NASH_CACHE_DIR": str(value[where])})
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("nash: error:") and r.stderr.count("\n") == 1
    assert "NASH_CACHE_DIR" in r.stderr and "Traceback" not in r.stderr


def test_unwritable_cache_dir_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing directory that refuses writes (injected: the tests may run as root)."""
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path / "cache"))

    def refuse(*a: object, **k: object) -> str:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(ConfigError, match=r"not writable.*NASH_CACHE_DIR"):
        nb101.build_cache(force=True)
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith("nb101")]


# ---------------------------------------------------------------------------------------------
# disk full while building a cache


def _no_leftovers(root: Path, prefix: str) -> None:
    left = [p.name for p in root.rglob("*") if prefix in p.name]
    assert left == [], left


def test_disk_full_building_nb201_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    monkeypatch.setenv("NASH_CACHE_DIR", str(root))
    real_save = np.save

    def full(f: object, arr: object, *a: object, **k: object) -> None:
        real_save(f, np.zeros(3))  # part of the file is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(DataError, match=r"disk full.*nothing was written"):
        nb201.NB201Tables()
    _no_leftovers(root, "nb201")
    monkeypatch.setattr(np, "save", real_save)  # space freed: the next open builds it
    t = nb201.NB201Tables()
    assert t.optimum("cifar10", "test_acc@200")[0] == pytest.approx(94.373333)


def test_disk_full_converting_official(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = registry.find(f"{TSS}/meta.pickle.pbz2")
    if p is None:
        pytest.skip(f"{TSS} not found under the data roots")
    root = tmp_path / "cache"
    monkeypatch.setenv("NASH_CACHE_DIR", str(root))

    def full(self: _cache.TableWriter, columns: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_cache.TableWriter, "write", full)
    with pytest.raises(DataError, match="disk full"):
        converters.convert("nats-tss", p.parent)
    _no_leftovers(root, "nats-tss")


def test_disk_full_writing_checksum_memo_is_harmless(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo only saves time: a full disk there must not fail a load."""
    (cache / "verified_sha256.json").unlink()
    real = Path.write_text

    def full(self: Path, *a: object, **k: object) -> int:
        if ".verified_sha256.json." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full)
    assert registry.locate("nb101-30k", "nb101/nb101_subset30k_val_acc.csv").is_file()
    assert len(nb101.NB101Table()) == 30001
    assert not (cache / "verified_sha256.json").exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".verified")]


def test_record_json_is_json(cache: Path) -> None:
    """The integrity record is plain JSON naming every file (what `nash data verify` reads)."""
    d = _dir(cache, "nb201-")
    rec = json.loads((d / "integrity.json").read_text())
    assert sorted(rec["files"]) == ["columns.json", "values.npy"]
    assert rec["dataset"] == "nb201" and len(rec["sources"]) == len(registry.get("nb201").files)
