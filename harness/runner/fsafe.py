"""File-system safety for results: confined paths, atomic directories, one writer per directory.

Why: a results root holds weeks of compute. Every write or removal here first checks that its
path lies inside the results root (after resolving links), so no label, link or bug can reach
outside ``--out``; a directory appears at its final path in one rename, so readers never see half
of it; and one process at a time writes an experiment directory (an advisory lock whose file
names its holder), so two ``nash run`` of one experiment never compute or clean up each other's
runs. Temporary names carry the writer's pid: leftovers are removed only when that process is
gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.errors import NashError

LOCK_NAME = ".nash.lock"
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?:(?P<pid>\d+)-)?[^/]*$")


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, refusing anything that is not ``root`` or below it."""
    r = Path(root).resolve()
    p = Path(path).resolve()
    if p != r and r not in p.parents:
        raise NashError(f"refusing to touch {path}: it is outside the results directory {root}")
    return p


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _tmp_owner(name: str) -> int | None:
    m = _TMP_RE.match(name)
    if m is None:
        return None
    return int(m["pid"]) if m["pid"] else -1


def remove_tree(root: Path, path: Path) -> None:
    """``shutil.rmtree`` confined to ``root`` (never through a link, never outside)."""
    p = Path(path)
    if p.is_symlink():
        raise NashError(f"refusing to remove {p}: it is a symbolic link inside {root}")
    inside(root, p)
    shutil.rmtree(p)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then act on the first one as before.

    Why: an interrupt raised between creating a run's temporary directory and the ``try`` that
    removes it (or inside that removal) left a ``.seed=N.tmp-*`` directory behind; writing a run
    takes milliseconds, so the signal waits that long. Main thread only (where Python runs
    signal handlers); elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        got.append(signum)

    old = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if got:
            first = signal.Signals(got[0])
            h = old[first]
            if callable(h):
                h(first, None)
            elif h == signal.SIG_DFL:
                os.kill(os.getpid(), first)


def write_dir_atomic(root: Path, final: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` into a fresh temporary directory, then put it at ``final`` in one rename.

    An existing ``final`` (a killed run, a failure record) is first renamed aside and removed
    after the swap, so the final path holds either the old or the new directory, never a mix.
    SIGINT and SIGTERM wait for the write (:func:`signals_deferred`).
    """
    with signals_deferred():
        _write_dir_atomic(root, final, files)


def _write_dir_atomic(root: Path, final: Path, files: Mapping[str, bytes]) -> None:
    final = Path(final)
    inside(root, final.parent)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise NashError(f"{final} is not a run directory (a file or a link); remove it by hand")
    inside(root, final)
    final.parent.mkdir(parents=True, exist_ok=True)
    inside(root, final.parent)  # a link created by the mkdir above cannot escape either
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-{pid}-", dir=final.parent))
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        swap_in(tmp, final)
    except OSError as e:  # disk full, quota, permissions: nothing half-written stays
        raise NashError(
            f"cannot write {final}: {e.strerror or e}; every run written before is kept, and "
            "the same command resumes once the cause is fixed"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def swap_in(tmp: Path, final: Path) -> None:
    """Put the directory ``tmp`` at ``final``, replacing an existing one.

    Why a helper: the existing directory is renamed aside first, and a failure or a signal
    between the two renames must put it back, so ``final`` holds the old or the new directory,
    never nothing.
    """
    old: Path | None = None
    swapped = False
    try:
        if final.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{final.name}.old-{os.getpid()}-", dir=final.parent)
            )
            os.replace(final, old / "dir")
        os.replace(tmp, final)
        swapped = True
    finally:
        if old is not None:
            if not swapped and not final.exists() and (old / "dir").exists():
                os.replace(old / "dir", final)
            shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(root: Path) -> int:
    """Remove temporary directories of writers that are gone (never a live process's)."""
    n = 0
    if not root.exists():
        return 0
    for p in sorted(root.rglob(".seed=*.tmp-*")) + sorted(root.rglob(".seed=*.old-*")):
        owner = _tmp_owner(p.name)
        if owner is None or not p.is_dir() or p.is_symlink():
            continue
        if owner > 0 and owner != os.getpid() and pid_alive(owner):
            continue  # a live process's work in progress
        shutil.rmtree(inside(root, p), ignore_errors=True)
        n += 1
    return n


class DirectoryLock:
    """An exclusive advisory lock on one directory, naming its holder (pid, host, command).

    A POSIX record lock (``lockf``): the kernel releases it when the holder exits, even by
    ``kill -9``, and forked pool workers do not inherit it, so a dead parent never blocks the
    next run. The lock file stays (removing it would race with the next locker).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> DirectoryLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self.holder()
            os.close(fd)
            who = (
                f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')} "
                f"({holder.get('command')})"
                if holder
                else "another process"
            )
            raise NashError(
                f"{self.directory} is being written by {who}; wait for it to finish, or run "
                "into another --out"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": " ".join(sys.argv)[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def holder(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(dirs: list[Path]) -> Iterator[None]:
    """Hold the locks of several directories (taken in sorted order: no deadlock)."""
    with contextlib.ExitStack() as stack:
        for d in sorted({Path(x).resolve() for x in dirs}):
            stack.enter_context(DirectoryLock(d))
        yield
