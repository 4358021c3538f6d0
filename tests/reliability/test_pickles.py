"""No foreign pickle runs code: crafted official-format files are refused before their payload runs.

The official NATS-Bench archive has no published checksum, so its files are unpickled through the
allow-list unpickler (plain-data classes only) even though the official reader opens them. Each
crafted file below carries a payload that would create a marker file if it ran; the tests check
the refusal AND that the marker does not exist.
"""

from __future__ import annotations

import bz2
import os
import pickle
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.benchmarks import converters, registry
from harness.benchmarks.converters import nb201_family
from harness.cli import main
from harness.errors import DataError

TSS = "nats_format_sample/NATS-tss-v1_0-3ffb9-simple"


class _System:
    """Unpickles as ``os.system(cmd)``."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> Any:
        return (os.system, (self.cmd,))


class _Popen:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> Any:
        return (subprocess.Popen, (["sh", "-c", self.cmd],))


class _Exec:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> Any:
        return (exec, (f"import os; os.system({self.cmd!r})",))


PAYLOADS = {"os.system": _System, "subprocess.Popen": _Popen, "builtins.exec": _Exec}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def tss_copy(tmp_path: Path) -> Path:
    """A copy of the real 3-cell NATS-Bench tss sample that a test may tamper with."""
    p = registry.find(f"{TSS}/meta.pickle.pbz2")
    if p is None:
        pytest.skip(f"{TSS} not found under the data roots (set NASH_DATA_DIR)")
    out = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(p.parent, out)
    return out


def _write_pbz2(path: Path, obj: object) -> None:
    path.write_bytes(bz2.compress(pickle.dumps(obj, protocol=4)))


def _no_official_dirs(cache: Path) -> None:
    root = cache / "official"
    assert not root.exists() or not [p for p in root.iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_crafted_meta_refused_payload_not_run(
    payload: str, tss_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "PWNED"
    meta = bz2.decompress((tss_copy / "meta.pickle.pbz2").read_bytes())
    real = pickle.loads(meta)  # the real meta file: plain data
    assert isinstance(real, dict)
    real["evil"] = PAYLOADS[payload](f"touch {marker}")
    _write_pbz2(tss_copy / "meta.pickle.pbz2", real)

    rc = main(["data", "convert", "nats-tss", str(tss_copy)])
    err = capsys.readouterr().err
    assert rc == 2
    assert not marker.exists(), "the crafted pickle's payload ran"
    assert "meta.pickle.pbz2" in err and "not in the allowed list" in err
    assert err.count("\n") == 1  # one line, no traceback
    _no_official_dirs(tmp_path / "cache")


def test_crafted_cell_refused_mid_conversion(tss_copy: Path, tmp_path: Path) -> None:
    """A cell file is loaded lazily during the conversion: it is restricted too."""
    marker = tmp_path / "PWNED"
    cell = pickle.loads(bz2.decompress((tss_copy / "000011.pickle.pbz2").read_bytes()))
    cell["evil"] = _System(f"touch {marker}")
    _write_pbz2(tss_copy / "000011.pickle.pbz2", cell)
    with pytest.raises(DataError, match=r"000011\.pickle\.pbz2.*(posix|os)\.system"):
        converters.convert("nats-tss", tss_copy)
    assert not marker.exists()
    _no_official_dirs(tmp_path / "cache")


def test_official_reader_restored_after_conversion(tss_copy: Path) -> None:
    """The allow-list replaces the reader's loader only while a conversion runs."""
    from nats_bench import api_topology, api_utils

    before = (api_utils.pickle_load, api_topology.pickle_load)
    converters.convert("nats-tss", tss_copy)
    assert (api_utils.pickle_load, api_topology.pickle_load) == before
    with pytest.raises(DataError):
        with nb201_family.restricted_nats_pickles():
            raise DataError("inside")
    assert (api_utils.pickle_load, api_topology.pickle_load) == before


def test_real_sample_names_only_allowed_classes(tss_copy: Path) -> None:
    """The allow-list is exactly what the real files need: each real file loads through it."""
    for f in sorted(tss_copy.glob("*.pickle.pbz2")):
        obj = nb201_family._nats_pickle_load(f)
        assert isinstance(obj, dict)


def test_bz2_bomb_and_garbage_refused(tss_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tss_copy / "000000.pickle.pbz2"
    bomb.write_bytes(bz2.compress(b"\0" * (4 << 20)))
    monkeypatch.setattr(nb201_family, "_NATS_MAX_BYTES", 1 << 20)
    with pytest.raises(DataError, match="decompresses to more than"):
        nb201_family._nats_pickle_load(bomb)
    bomb.write_bytes(b"not bz2 at all")
    with pytest.raises(DataError, match="not a bz2-compressed"):
        nb201_family._nats_pickle_load(bomb)


def test_crafted_pth_refused_by_weights_only_loader(tmp_path: Path) -> None:
    """The nb201-pth path: torch's weights-only unpickler refuses a reduce payload."""
    torch = pytest.importorskip("torch")
    marker = tmp_path / "PWNED"
    p = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save({"meta_archs": [], "evil": _System(f"touch {marker}")}, p)
    with pytest.raises(DataError, match="official reader cannot load"):
        nb201_family.open_nb201_pth(p)
    assert not marker.exists()
