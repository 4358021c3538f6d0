"""The data registry: which files each data set needs, their checksums, sources and licences.

``registry.toml`` (next to this module) is the single list of data files. :func:`locate` finds
a file under the data roots of :func:`harness.paths.data_roots` and verifies its sha256 before
anything reads it. Hashing 12 MB of CSV on every start would cost more than loading the converted
tables, so for the checks on load a checksum is remembered in the cache keyed by the file's stat
state (path, size, mtime, change time, inode): a file that changes on disk is hashed again, and
an edit that restores size and mtime still changes the change time. Nothing converts a file
through that memo: a cache build reads each source once and hashes those bytes
(:func:`read_verified`), and ``nash data verify`` hashes every file in full.
"""

from __future__ import annotations

import functools
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DataError, unknown
from harness.paths import atomic_path, cache_dir, data_roots, sha256_file

_REGISTRY_FILE = Path(__file__).with_name("registry.toml")


@dataclass(frozen=True, slots=True)
class DataFile:
    path: str
    sha256: str
    #: public originals (``nash data fetch``); empty when no public source is recorded
    url: tuple[str, ...] = ()
    original_sha256: tuple[str, ...] = ()
    original_format: str = ""
    member: str = ""


@dataclass(frozen=True, slots=True)
class OfficialFile:
    """An official full benchmark file: no published checksum (recorded on first download)."""

    name: str
    description: str
    url: str
    file: str
    converter: str
    licence: str
    manual: bool


@dataclass(frozen=True, slots=True)
class DataSet:
    name: str
    description: str
    source: str
    licence: str
    files: tuple[DataFile, ...]


@functools.cache
def datasets() -> dict[str, DataSet]:
    raw = tomllib.loads(_REGISTRY_FILE.read_text())["datasets"]
    return {
        name: DataSet(
            name=name,
            description=d["description"],
            source=d["source"],
            licence=d["licence"],
            files=tuple(_data_file(f) for f in d["files"]),
        )
        for name, d in raw.items()
    }


def _as_tuple(v: object) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(str(x) for x in v)  # type: ignore[attr-defined]


def _data_file(f: dict[str, object]) -> DataFile:
    return DataFile(
        str(f["path"]),
        str(f["sha256"]),
        url=_as_tuple(f.get("url")),
        original_sha256=_as_tuple(f.get("original_sha256")),
        original_format=str(f.get("original_format", "")),
        member=str(f.get("member", "")),
    )


@functools.cache
def official() -> dict[str, OfficialFile]:
    """The official full files (``[official.*]`` in registry.toml)."""
    raw = tomllib.loads(_REGISTRY_FILE.read_text()).get("official", {})
    return {
        name: OfficialFile(
            name=name,
            description=d["description"],
            url=d["url"],
            file=d["file"],
            converter=d["converter"],
            licence=d["licence"],
            manual=bool(d.get("manual", False)),
        )
        for name, d in raw.items()
    }


#: Written by ``nash data fetch`` at the root of a data directory: for each file converted from
#: its public original whose bytes differ from the mirror's, the original's verified sha256.
PROVENANCE_FILE = ".nash-provenance.json"


def accepted_conversion(
    path: Path, entry: DataFile, got_sha256: str, *, strict: bool = False
) -> bool:
    """Whether ``path`` (sha256 ``got_sha256``) is a conversion of the pinned original(s).

    Converting a real original cannot always reproduce the mirror's exact bytes (float
    formatting), so such a file is accepted when the data directory's provenance record says it
    was converted from originals with exactly the pinned sha256s AND that conversion was proved:
    the originals (kept by ``nash data fetch`` under ``<data dir>/originals/``) still have their
    pinned sha256 and converting them again gives exactly ``got_sha256``. The record alone is
    never enough (a hand-written one would make an edited file pass). A proof is remembered by
    content digest in the cache; ``strict`` (building a cache, ``nash data verify``) proves it
    again whatever is remembered.
    """
    if not entry.original_sha256 or not entry.original_format:
        return False
    root = _root_of(path, entry)
    try:
        rec = json.loads((root / PROVENANCE_FILE).read_text()).get(entry.path)
    except (OSError, ValueError, AttributeError):
        return False
    if not (
        isinstance(rec, dict)
        and rec.get("sha256") == got_sha256
        and list(rec.get("original_sha256", [])) == list(entry.original_sha256)
    ):
        return False
    key = _proof_key(entry, got_sha256)
    if not strict and _read_memo().get(key) == got_sha256:
        return True
    if not prove_conversion(root, entry, got_sha256):
        return False
    _write_memo({key: got_sha256})
    return True


def _provenance_hint(path: Path, entry: DataFile) -> str:
    """Why a file with a provenance record was still refused (empty when it has none)."""
    try:
        rec = json.loads((_root_of(path, entry) / PROVENANCE_FILE).read_text()).get(entry.path)
    except (OSError, ValueError, AttributeError):
        return ""
    if not isinstance(rec, dict):
        return ""
    return (
        f"; its {PROVENANCE_FILE} record is not enough: converting the pinned originals under "
        f"{_root_of(path, entry) / 'originals'} again must give this file (run `nash data fetch` "
        "again to restore them)"
    )


def _root_of(path: Path, entry: DataFile) -> Path:
    root = path
    for _ in Path(entry.path).parts:
        root = root.parent
    return root


def _proof_key(entry: DataFile, sha: str) -> str:
    from harness.benchmarks import originals

    shas = ",".join(entry.original_sha256)
    return f"conversion|{entry.path}|{sha}|{shas}|{entry.original_format}|v{originals.VERSION}"


def remember_conversion(entry: DataFile, sha: str) -> None:
    """Record that converting the pinned originals of ``entry`` gave bytes with ``sha``."""
    _write_memo({_proof_key(entry, sha): sha})


def prove_conversion(root: Path, entry: DataFile, got_sha256: str) -> bool:
    """Convert the verified originals under ``root/originals`` again; True if it gives the file."""
    import tempfile

    from harness.benchmarks import fetch, originals

    paths = [fetch.original_path(root, u) for u in entry.url]
    if len(paths) != len(entry.original_sha256) or not all(p.is_file() for p in paths):
        return False
    with tempfile.TemporaryDirectory(prefix="nash-prove-") as tmp:
        out = Path(tmp) / Path(entry.path).name
        try:
            originals.convert(
                entry.original_format, paths, entry.original_sha256, out, entry.member
            )
        except (DataError, OSError):
            return False
        return sha256_file(out) == got_sha256


def get(name: str) -> DataSet:
    try:
        return datasets()[name]
    except KeyError:
        raise unknown("data set", name, datasets()) from None


def _memo_file() -> Path:
    return cache_dir() / "verified_sha256.json"


def _read_memo() -> dict[str, str]:
    try:
        data = json.loads(_memo_file().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def _write_memo(entries: Mapping[str, str]) -> None:
    memo = _read_memo()
    for key in entries:  # one entry per file: drop those of its earlier states
        if not key.startswith("conversion|") and key.count("|") >= 5:
            stale = key.rsplit("|", 5)[0] + "|"
            for old in [k for k in memo if k.startswith(stale) and k.count("|") == key.count("|")]:
                del memo[old]
    memo.update(entries)
    try:
        with atomic_path(_memo_file()) as tmp:
            tmp.write_text(json.dumps(memo, indent=0, sort_keys=True))
    except OSError:
        pass  # a read-only or full cache only costs speed


def _stat_key(path: Path) -> str:
    """What identifies one state of a file's bytes without reading them.

    The change time (``st_ctime``) is part of it: unlike the modification time it cannot be set
    back by a user (``touch -d``), so an edit that keeps size and mtime still gets a new key.
    """
    st = path.stat()
    return (
        f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}|{st.st_dev}"
    )


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised by its stat state (:func:`_stat_key`) in the cache directory.

    For cheap checks on load only: everything that reads a source to build a cache hashes the
    bytes it reads (:func:`read_verified`), and ``nash data verify`` hashes every file in full.
    """
    key = _stat_key(path)
    memo = _read_memo()
    if key in memo:
        return memo[key]
    digest = sha256_file(path)
    _write_memo({key: digest})
    return digest


def remember_sha256(path: Path, digest: str) -> None:
    """Record a digest computed in full from the file's bytes (replacing any memo entry)."""
    try:
        _write_memo({_stat_key(path): digest})
    except OSError:
        pass


def find(relpath: str) -> Path | None:
    for root in data_roots():
        p = root / relpath
        if p.is_file():
            return p
    return None


def _entry(dataset: str, relpath: str) -> DataFile:
    for f in get(dataset).files:
        if f.path == relpath:
            return f
    raise unknown(f"file of data set {dataset!r}", relpath, [f.path for f in get(dataset).files])


def locate(dataset: str, relpath: str, *, verify: bool = True) -> Path:
    """Path of one registered file, verified against its pinned sha256.

    Raises :class:`DataError` naming where it looked and where the data comes from when the file
    is missing, and naming both checksums when it does not match.
    """
    entry = _entry(dataset, relpath)
    path = find(relpath)
    if path is None:
        looked = ", ".join(str(r) for r in data_roots())
        raise DataError(
            f"data file {relpath!r} of data set {dataset!r} not found (looked in: {looked}). "
            f"Point NASH_DATA_DIR at a directory holding it, or run `nash data fetch {dataset}` "
            f"on a machine with network; source: {get(dataset).source}"
        )
    if verify:
        got = file_sha256(path)
        if got != entry.sha256 and not accepted_conversion(path, entry, got):
            raise DataError(
                f"data file {path} is corrupted or a different version: sha256 {got}, expected "
                f"{entry.sha256}. Replace it with the original (source: {get(dataset).source})"
                + _provenance_hint(path, entry)
            )
    return path


def read_verified(dataset: str, relpath: str) -> tuple[bytes, str]:
    """The bytes of one registered file and their sha256, hashed in full and verified.

    What every cache build reads its sources with: the bytes checked are the bytes converted (no
    memo, no window between check and read), and a file accepted through its provenance record
    is proved again (:func:`accepted_conversion` with ``strict``).
    """
    path = locate(dataset, relpath, verify=False)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read data file {path}: {e.strerror or e}") from e
    import hashlib

    got = hashlib.sha256(data).hexdigest()
    entry = _entry(dataset, relpath)
    if got != entry.sha256 and not accepted_conversion(path, entry, got, strict=True):
        raise DataError(
            f"data file {path} is corrupted or a different version: sha256 {got}, expected "
            f"{entry.sha256}. Replace it with the original (source: {get(dataset).source})"
            + _provenance_hint(path, entry)
        )
    remember_sha256(path, got)
    return data, got


def verified_sources(dataset: str) -> dict[str, str]:
    """Relative path -> sha256 of every file of ``dataset``, each located and verified (memo)."""
    out = {}
    for f in get(dataset).files:
        out[f.path] = file_sha256(locate(dataset, f.path))
    return out


def source_fingerprint(dataset: str) -> str:
    """A short id of the verified sources: caches built from them are named after it."""
    import hashlib

    h = hashlib.sha256()
    for f in get(dataset).files:
        h.update(f.sha256.encode())
    return h.hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class FileStatus:
    dataset: str
    path: str
    found: Path | None
    ok: bool | None  # None when not verified (missing)


def status(verify: bool = False) -> list[FileStatus]:
    """Where each registered file was found and, with ``verify``, whether its checksum matches."""
    out = []
    for ds in datasets().values():
        for f in ds.files:
            p = find(f.path)
            ok = None
            if p is not None and verify:
                got = sha256_file(p)  # always in full: the memo is for loading only
                ok = got == f.sha256 or accepted_conversion(p, f, got, strict=True)
                if ok:
                    remember_sha256(p, got)
            out.append(FileStatus(ds.name, f.path, p, ok))
    return out


def env_summary() -> str:
    env = os.environ.get("NASH_DATA_DIR")
    return f"NASH_DATA_DIR={env}" if env else "NASH_DATA_DIR unset"
