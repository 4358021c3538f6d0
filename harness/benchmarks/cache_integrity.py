"""Checksums of the converted caches: written when a cache is built, checked when it is opened.

Why: a cache is what every query and every run reads; an edited ``values.npy`` or a swapped entry
of ``columns.json`` would otherwise change results silently (the sources' sha256 protects only the
sources). Each cache directory holds ``integrity.json``: the kind and format of the cache, the
sha256 of every source it was built from (as hashed in full at build time) and the size and sha256
of every file in it. Opening a cache checks the record against the sources the caller expects
and every file's size and sha256, once per process per file state (size, mtime, change time,
inode): the NB201 arrays are 12 MB, a few milliseconds of hashing.

On a mismatch the caller rebuilds the cache from its (re-verified) sources and says so on stderr;
nothing is ever read from a cache that failed its check. A hand-written record cannot make an
edited file pass unless it also carries that file's new digest and the pinned source digests.

Building: every file is written into a temporary directory beside the target, hashed, recorded,
and the directory is moved into place with ``os.replace``; a crash or a full disk leaves either
no cache or the previous one, never a half-written one.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, DataError
from harness.paths import sha256_file

RECORD = "integrity.json"
FORMAT = 1

#: (directory, file states) already verified by this process
_VERIFIED: set[tuple[str, tuple[tuple[str, int, int, int, int], ...]]] = set()


def notice(message: str) -> None:
    """A one-line message on stderr (a cache being rebuilt is worth knowing, not an error)."""
    print(f"nash: {message}", file=sys.stderr)


def _record_digest(rec: Mapping[str, Any]) -> str:
    body = {k: v for k, v in rec.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _states(d: Path, names: list[str]) -> tuple[tuple[str, int, int, int, int], ...]:
    """Size, mtime, change time and inode of each file: any write changes the change time, which
    (unlike mtime) cannot be set back, so an edit is never taken for a state already verified."""
    out = []
    for n in [RECORD, *names]:
        st = (d / n).stat()
        out.append((n, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(out)


def read_record(d: Path) -> dict[str, Any] | None:
    try:
        rec = json.loads((d / RECORD).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return rec if isinstance(rec, dict) else None


def check(
    d: Path, *, kind: str, sources: Mapping[str, str] | None = None, full: bool = False
) -> str | None:
    """Why the cache ``d`` cannot be trusted, or None when it passes.

    ``sources`` (relative path -> sha256), when given, must equal the record's. ``full`` hashes
    every file even if this process verified it already (``nash data verify``).
    """
    if not d.is_dir():
        return "absent"
    rec = read_record(d)
    if rec is None:
        return f"{RECORD} is missing or unreadable"
    if rec.get("record_sha256") != _record_digest(rec):
        return f"{RECORD} does not match its own digest (edited or corrupted)"
    if rec.get("kind") != kind or rec.get("format") != FORMAT:
        return f"{RECORD} describes a {rec.get('kind')!r} cache, not {kind!r}"
    if sources is not None and rec.get("sources") != dict(sources):
        return "it was built from other sources than the verified ones"
    files = rec.get("files")
    if not isinstance(files, dict) or not files:
        return f"{RECORD} lists no files"
    names = sorted(files)
    if any(Path(n).name != n or n in (".", "..", RECORD) for n in names):
        return f"{RECORD} names a file outside the cache directory"
    try:
        key = (str(d.resolve()), _states(d, names))
    except OSError as e:
        return f"a file is missing ({e.strerror}: {Path(e.filename or '').name})"
    if not full and key in _VERIFIED:
        return None
    for name in names:
        want = files[name]
        if not isinstance(want, dict):
            return f"{RECORD} has no size and sha256 for {name}"
        p = d / name
        size = p.stat().st_size
        if size != want.get("size"):
            return f"{name} has {size} bytes, {want.get('size')} when built (truncated or edited)"
        if sha256_file(p) != want.get("sha256"):
            return f"{name} does not have the sha256 recorded when built (edited or corrupted)"
    _VERIFIED.add(key)
    return None


def build(
    final: Path,
    write: Callable[[Path], None],
    *,
    kind: str,
    sources: Mapping[str, str],
    dataset: str | None = None,
    keep_valid: bool = False,
) -> Path:
    """Write a cache directory atomically: ``write(tmp)`` fills ``tmp``, then it is recorded.

    ``dataset`` names the registered data set the sources belong to (``nash data verify``
    compares the record's sources with it). ``keep_valid``: when another process installed a
    cache that passes its check meanwhile, keep it (its readers never see it vanish). Raises
    :class:`ConfigError` when the cache directory cannot be written and :class:`DataError` on a
    full disk; in both cases nothing is left behind.
    """
    root = final.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
    except OSError as e:
        raise _unwritable(root, e) from e
    try:
        try:
            write(tmp)
            names = sorted(p.name for p in tmp.iterdir() if p.is_file())
            rec: dict[str, Any] = {
                "kind": kind,
                "format": FORMAT,
                "sources": dict(sources),
                "dataset": dataset,
                "files": {
                    n: {"size": (tmp / n).stat().st_size, "sha256": sha256_file(tmp / n)}
                    for n in names
                },
                "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
            rec["record_sha256"] = _record_digest(rec)
            (tmp / RECORD).write_text(json.dumps(rec, indent=1, sort_keys=True))
            _install(tmp, final, kind, sources, keep_valid)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise DataError(
                    f"disk full while building the cache {final}; nothing was written. Free space "
                    "or set NASH_CACHE_DIR to a directory on another disk"
                ) from e
            if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise _unwritable(root, e) from e
            raise DataError(f"cannot write the cache {final}: {e.strerror or e}") from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _unwritable(root: Path, e: OSError) -> ConfigError:
    return ConfigError(
        f"the cache directory {root} is not writable ({e.strerror or e}); set NASH_CACHE_DIR to a "
        "writable directory"
    )


def _install(
    tmp: Path, final: Path, kind: str, sources: Mapping[str, str], keep_valid: bool
) -> None:
    """Move ``tmp`` onto ``final``; a cache already there is moved aside first, then deleted."""
    old: Path | None = None
    if keep_valid and check(final, kind=kind, sources=sources) is None:
        return  # an equivalent cache was installed by another process meanwhile
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        try:
            os.replace(final, old / "d")
        except FileNotFoundError:  # another process moved it meanwhile
            pass
    try:
        os.replace(tmp, final)
    except OSError as e:
        # another process installed the same cache meanwhile: keep theirs if it passes
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or check(
            final, kind=kind, sources=sources
        ):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def open_verified(
    final: Path,
    *,
    kind: str,
    sources: Mapping[str, str],
    rebuild: Callable[[], Path],
) -> Path:
    """``final`` once it passes :func:`check`; rebuilt (with a notice) when it does not."""
    why = check(final, kind=kind, sources=sources)
    if why is None:
        return final
    if why != "absent":
        notice(f"cache {final} failed its check ({why}); rebuilding it from the sources")
    out = rebuild()
    why = check(out, kind=kind, sources=sources, full=True)
    if why is not None:  # pragma: no cover - a cache just written fails: the disk is failing
        raise DataError(f"the rebuilt cache {out} fails its check ({why}); check the disk")
    return out


def verify_all(root: Path) -> list[tuple[Path, str | None]]:
    """Every cache under ``root`` (and ``root/official``), each hashed in full: (dir, problem).

    A cache of a registered data set must also have been built from the files that verify now.
    Temporary and set-aside directories (hidden names) are skipped.
    """
    from harness.benchmarks import registry

    out: list[tuple[Path, str | None]] = []
    dirs = [root, root / "official"]
    for parent in dirs:
        if not parent.is_dir():
            continue
        for d in sorted(parent.iterdir()):
            if d.name.startswith(".") or not d.is_dir() or not (d / RECORD).exists():
                continue
            rec = read_record(d) or {}
            kind = str(rec.get("kind"))
            sources: Mapping[str, str] | None = None
            ds = rec.get("dataset")
            if isinstance(ds, str):
                try:
                    sources = registry.verified_sources(ds)
                except DataError as e:
                    out.append((d, f"its sources do not verify ({e})"))
                    continue
            out.append((d, check(d, kind=kind, sources=sources, full=True)))
    return out
