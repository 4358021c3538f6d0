"""``nash data fetch``: get the benchmark data from its public sources, verified.

A researcher who clones the project has no ``../shared/benchmarks_data``. This module downloads
each data file's public original (a pinned-commit raw GitHub URL or a wheel on the package index,
see ``registry.toml``), checks the original's pinned sha256, converts it into the harness's file
(:mod:`harness.benchmarks.originals`) and moves the result into the data directory atomically.

Why it is built this way:

- Downloads go to ``<file>.part`` and resume with an HTTP ``Range`` request, because the
  originals are tens of MB and the official files hundreds: a cut connection should not restart
  from zero. A dropped or stalled transfer is retried (from where it stopped) a few times.
- Nothing is moved into place before its checksum is verified; a mismatching download is
  deleted, so a corrupted file never sits where the harness looks, and an older good copy stays.
- Offline use fails fast (short connect timeout) with one line naming the missing files and the
  two ways to provide them, instead of a traceback per file.
- ``NASH_FETCH_BASE_URL`` / ``--base-url`` replaces every URL's scheme and host by a mirror
  laid out as ``<base>/<host>/<path>`` (official files: ``<base>/official/<file>``): for a local
  mirror, and for the tests, which serve one from 127.0.0.1.
- The official full files have no published checksum: the sha256 is recorded on first download
  in ``<cache>/fetch_manifest.json`` and verified on every later use.
"""

from __future__ import annotations

import datetime as _dt
import errno
import http.client
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from harness.benchmarks import originals, registry
from harness.errors import DataError, unknown
from harness.paths import atomic_path, cache_dir, data_roots, sha256_file

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
RETRIES = 3
_CHUNK = 1 << 16
_USER_AGENT = "nasbench-harness-fetch/1"
MANIFEST = "fetch_manifest.json"

Log = Callable[[str], None]


class Offline(DataError):
    """No connection could be opened to a source host (refused, unresolvable, timed out)."""


@dataclass
class Report:
    """What a fetch did, file by file (also printed as it happens)."""

    skipped: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# where things go


def default_dest() -> Path:
    """The first writable of ``$NASH_DATA_DIR`` and ``./benchmarks_data`` (created if absent)."""
    candidates = []
    env = os.environ.get("NASH_DATA_DIR")
    if env:
        candidates.append(Path(env).expanduser())
    candidates.append(Path.cwd() / "benchmarks_data")
    for c in candidates:
        if _writable(c):
            return c
    tried = ", ".join(str(c) for c in candidates)
    raise DataError(
        f"no writable data directory (tried {tried}); pass --dest DIR or set NASH_DATA_DIR to a "
        "writable directory"
    )


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".nash-write-test.", dir=d)
        os.close(fd)
        os.unlink(tmp)
        return True
    except OSError:
        return False


def effective_url(url: str, base_url: str | None) -> str:
    """``url`` itself, or its mirror path ``<base>/<host>/<path>`` under ``base_url``."""
    if not base_url:
        return url
    parts = urlsplit(url)
    return f"{base_url.rstrip('/')}/{parts.netloc}{parts.path}"


def original_path(dest: Path, url: str) -> Path:
    """Where a downloaded original is kept: ``<dest>/originals/<host>/<path>``."""
    parts = urlsplit(url)
    rel = Path(parts.netloc, *[p for p in parts.path.split("/") if p not in ("", ".", "..")])
    return dest / "originals" / rel


def _search_roots(dest: Path) -> list[Path]:
    out = [dest]
    for r in data_roots():
        if r.resolve() != dest.resolve():
            out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# HTTP with resume


def _connect(
    url: str, offset: int, connect_timeout: float, read_timeout: float
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """GET ``url`` (following redirects) asking for bytes from ``offset``; raise Offline if no
    connection can be opened."""
    for _ in range(6):
        parts = urlsplit(url)
        cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DataError(f"unsupported URL {url!r} (http or https only)")
        conn = cls(parts.hostname, parts.port, timeout=connect_timeout)
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            reason = getattr(e, "strerror", None) or type(e).__name__
            raise Offline(f"cannot reach {parts.netloc} ({reason})") from e
        if conn.sock is not None:
            conn.sock.settimeout(read_timeout)
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path or "/", headers=headers)
        resp = conn.getresponse()
        if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
            url = urljoin(url, resp.getheader("Location", ""))
            conn.close()
            continue
        return conn, resp
    raise DataError(f"too many redirects fetching {url}")


def download(
    url: str,
    target: Path,
    expected_sha256: str | None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
    retries: int = RETRIES,
    progress: bool | None = None,
    log: Log = print,
) -> str:
    """Download ``url`` to ``target`` via ``target.part`` (resumed if present); return sha256.

    ``target`` appears only complete and, when ``expected_sha256`` is given, verified; a
    mismatching download is deleted. A cut or stalled transfer is retried ``retries`` times from
    where it stopped; after that the ``.part`` file is kept for the next run to resume.
    """
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    failures = 0
    last_error = ""
    while True:
        offset = part.stat().st_size if part.exists() else 0
        try:
            conn, resp = _connect(url, offset, connect_timeout, read_timeout)
        except Offline:
            if failures == 0:
                raise
            raise DataError(
                f"lost the connection to {urlsplit(url).netloc} while downloading {url} "
                f"({last_error}); {part} is kept: run the same command again to resume"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            last_error = f"{type(e).__name__}: {e}"
            failures += 1
            if failures > retries:
                break
            continue
        try:
            if resp.status == 416 and offset:
                resp.read()
                break  # the part is already complete (or wrong: the checksum will tell)
            if resp.status == 200 and offset:
                log(f"  {urlsplit(url).netloc} ignored the resume request; starting over")
                offset = 0
                part.unlink()
            elif resp.status == 206:
                start = (resp.getheader("Content-Range") or "").replace("bytes ", "").split("-")[0]
                if start.strip() != str(offset):
                    raise DataError(f"{url}: server resumed at byte {start}, asked for {offset}")
            elif resp.status != 200:
                if 500 <= resp.status < 600:
                    last_error = f"HTTP {resp.status} {resp.reason}"
                    failures += 1
                    if failures > retries:
                        break
                    continue
                raise DataError(f"{url}: HTTP {resp.status} {resp.reason} (no such file there?)")
            length = resp.getheader("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            mode = "ab" if offset else "wb"
            with (
                open(part, mode) as f,
                tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=target.name, disable=(None if progress is None else not progress),
                    leave=False,
                ) as bar,
            ):  # fmt: skip
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
                    bar.update(len(block))
            got = part.stat().st_size
            if total is not None and got < total:
                raise http.client.IncompleteRead(b"", total - got)
            break
        except TimeoutError as e:
            last_error = f"no data for {read_timeout:g} s ({type(e).__name__})"
        except (http.client.HTTPException, ConnectionError) as e:
            last_error = f"connection cut ({type(e).__name__})"
        except OSError as e:
            if e.errno == errno.ENOSPC:
                part.unlink(missing_ok=True)
                raise DataError(
                    f"disk full while writing {part}; the partial download was removed. Free "
                    "space or pass --dest on another disk"
                ) from e
            raise DataError(f"cannot write {part}: {e.strerror or e}") from e
        finally:
            conn.close()
        failures += 1
        if failures > retries:
            break
        log(f"  {target.name}: {last_error}; resuming at byte {part.stat().st_size}")
    if failures > retries:
        raise DataError(
            f"download of {url} failed {failures} times ({last_error}); "
            f"{part if part.exists() else 'nothing'} kept: run the same command again to resume"
        )
    sha = sha256_file(part)
    if expected_sha256 is not None and sha != expected_sha256.lower():
        part.unlink(missing_ok=True)
        raise DataError(
            f"{url}: downloaded file has sha256 {sha}, expected {expected_sha256}; it was deleted "
            "and nothing was put in place (a changed or corrupted source, or a wrong mirror)"
        )
    os.replace(part, target)
    return sha


# ---------------------------------------------------------------------------------------------
# the recorded checksums of official files


def _manifest_path() -> Path:
    return cache_dir() / MANIFEST


def read_manifest() -> dict[str, dict[str, dict[str, object]]]:
    try:
        data = json.loads(_manifest_path().read_text())
    except (OSError, ValueError):
        return {"official": {}}
    if not isinstance(data, dict) or not isinstance(data.get("official"), dict):
        return {"official": {}}
    return data


def _record(name: str, path: Path, sha: str, url: str) -> None:
    m = read_manifest()
    m["official"][name] = {
        "file": path.name,
        "sha256": sha,
        "size": path.stat().st_size,
        "url": url,
        "recorded_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "note": "sha256 unknown beforehand (not published): recorded on first download",
    }
    with atomic_path(_manifest_path()) as tmp:
        tmp.write_text(json.dumps(m, indent=1, sort_keys=True))


# ---------------------------------------------------------------------------------------------
# fetching data sets


def _present(f: registry.DataFile, roots: Sequence[Path]) -> Path | None:
    for root in roots:
        p = root / f.path
        if p.is_file():
            got = registry.file_sha256(p)
            if got == f.sha256 or registry.accepted_conversion(p, f, got):
                return p
    return None


def _write_provenance(dest: Path, f: registry.DataFile, sha: str) -> None:
    path = dest / registry.PROVENANCE_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[f.path] = {
        "sha256": sha,
        "mirror_sha256": f.sha256,
        "original_sha256": list(f.original_sha256),
        "url": list(f.url),
        "converter": f.original_format,
        "converter_version": originals.VERSION,
        "converted_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "note": "converted from the verified original; its bytes differ from the mirror's",
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))


def _offline_message(e: Offline, missing: Sequence[str]) -> str:
    return (
        f"{e}; missing: {', '.join(missing)}. Provide them either by pointing NASH_DATA_DIR at a "
        "copy of benchmarks_data, or by running `nash data fetch` on a machine with network"
    )


def fetch(
    names: Sequence[str] = (),
    dest: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    convert: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
    retries: int = RETRIES,
    progress: bool | None = None,
    log: Log = print,
) -> Report:
    """Fetch data sets (all registered ones when ``names`` is empty) and official files.

    Files already present and verified in ``dest`` or any data root are skipped. Raises
    :class:`UnknownName` for an unknown name and :class:`DataError` (one line) when offline, on
    a checksum mismatch, a missing source file (HTTP 404), a stalled server or a full disk.
    """
    known = {**registry.datasets(), **registry.official()}
    for n in names:
        if n not in known:
            raise unknown("data set", n, known)
    wanted = list(dict.fromkeys(names)) or list(registry.datasets())
    if base_url is None:
        base_url = os.environ.get("NASH_FETCH_BASE_URL") or None
    if dest is None:
        dest_dir = default_dest()
    else:
        dest_dir = Path(dest).expanduser()
        if not _writable(dest_dir):
            raise DataError(f"data directory {dest_dir} is not writable; pass another --dest")
    roots = _search_roots(dest_dir)
    kw = {"connect_timeout": connect_timeout, "read_timeout": read_timeout,
          "retries": retries, "progress": progress, "log": log}  # fmt: skip
    report = Report()
    log(f"data directory: {dest_dir}" + (f" (mirror: {base_url})" if base_url else ""))

    todo: list[registry.DataFile] = []
    for name in wanted:
        if name in registry.official():
            continue
        for f in registry.get(name).files:
            p = _present(f, roots)
            if p is not None:
                report.skipped.append(f.path)
                log(f"  present  {f.path}  ({p})")
            elif not f.url:
                raise DataError(
                    f"{f.path} (data set {name!r}) has no public download recorded; copy it "
                    "from a machine that has benchmarks_data and point NASH_DATA_DIR at it"
                )
            else:
                todo.append(f)
    try:
        for f in todo:
            _fetch_file(f, dest_dir, base_url, report, kw, log)
        for name in wanted:
            if name in registry.official():
                _fetch_official(registry.official()[name], dest_dir, base_url, convert, report, kw)
    except Offline as e:
        missing = [f.path for f in todo if _present(f, roots) is None]
        missing += [
            f"official/{registry.official()[n].file}"
            for n in wanted
            if n in registry.official()
            and not (dest_dir / "official" / registry.official()[n].file).exists()
        ]
        raise DataError(_offline_message(e, missing)) from None
    done = len(report.converted) + len(report.recorded)
    log(
        f"done: {len(report.skipped)} present, {len(report.downloaded)} downloaded, "
        f"{len(report.reused)} originals reused, {done} converted or recorded"
    )
    return report


def _fetch_file(
    f: registry.DataFile,
    dest: Path,
    base_url: str | None,
    report: Report,
    kw: Mapping[str, object],
    log: Log,
) -> None:
    paths = []
    for url, sha in zip(f.url, f.original_sha256, strict=True):
        local = original_path(dest, url)
        if local.is_file() and sha256_file(local) == sha:
            report.reused.append(str(local))
            log(f"  reuse    {local}  (sha256 ok)")
        else:
            src = effective_url(url, base_url)
            log(f"  download {src}")
            download(src, local, sha, **kw)  # type: ignore[arg-type]
            report.downloaded.append(url)
            log(f"           -> {local}  (sha256 ok)")
        paths.append(local)
    target = dest / f.path
    with atomic_path(target) as tmp:
        originals.convert(f.original_format, paths, f.original_sha256, tmp, f.member)
        sha = sha256_file(tmp)
        if sha != f.sha256:
            _write_provenance(dest, f, sha)
            registry.remember_conversion(f, sha)  # just proved: converted from the originals
    report.converted.append(f.path)
    if sha == f.sha256:
        log(f"  convert  {f.path}  ({f.original_format}; sha256 identical to the mirror's)")
    else:
        log(
            f"  convert  {f.path}  ({f.original_format}; bytes differ from the mirror's, "
            f"accepted through the original's verified sha256, see {registry.PROVENANCE_FILE})"
        )


def _fetch_official(
    o: registry.OfficialFile,
    dest: Path,
    base_url: str | None,
    convert: bool,
    report: Report,
    kw: Mapping[str, object],
) -> None:
    log: Log = kw["log"]  # type: ignore[assignment]
    local = dest / "official" / o.file
    rec = read_manifest()["official"].get(o.name)
    recorded = str(rec["sha256"]) if rec else None
    if local.is_file():
        sha = registry.file_sha256(local)
        if recorded is not None and sha != recorded:
            raise DataError(
                f"{local}: sha256 {sha} differs from {recorded}, recorded at its first download "
                f"({_manifest_path()}); replace the file, or delete its entry there to accept it"
            )
        log(f"  present  {local}")
        report.skipped.append(str(local))
    else:
        if o.manual and not base_url:
            raise DataError(
                f"{o.name}: {o.file} is on Google Drive ({o.url}), which has no direct download "
                f"link; download it by hand into {local} and run `nash data fetch {o.name}` again"
            )
        src = f"{base_url.rstrip('/')}/official/{o.file}" if base_url else o.url
        log(f"  download {src}")
        sha = download(src, local, recorded, **kw)  # type: ignore[arg-type]
        report.downloaded.append(src)
    if recorded is None:
        _record(o.name, local, sha, o.url)
        report.recorded.append(o.name)
        log(f"  sha256 unknown beforehand: recorded {sha} in {_manifest_path()}")
    if not convert:
        return
    source = _extract(local, log) if local.name.endswith(".tar") else local
    from harness.benchmarks import converters

    out = converters.convert(o.converter, source)
    report.converted.append(o.name)
    log(f"  convert  {o.name} -> {out}  ({converters.STATUS.get(o.converter, '')})")


def _extract(archive: Path, log: Log) -> Path:
    """Extract a NATS archive next to itself once (data-only tar filter); return its directory."""
    out = archive.with_suffix("")
    if out.is_dir():
        return out
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=archive.parent))
    try:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
        tops = [p for p in tmp.iterdir() if p.is_dir()]
        inner = tops[0] if len(tops) == 1 and not any(tmp.glob("*.pbz2")) else tmp
        os.replace(inner, out)
    except (tarfile.TarError, OSError) as e:
        raise DataError(f"{archive}: cannot extract ({e}); delete it and fetch again") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"  extract  {archive} -> {out}")
    return out


def status_lines() -> list[str]:
    """One line per original format: what its converter has been verified on."""
    return [f"  {k:<28} {v}" for k, v in originals.STATUS.items()]
