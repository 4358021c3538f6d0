"""Where data comes from and where converted caches go.

Raw data files are never part of the repository. They are looked up, in order, in
``$NASH_DATA_DIR``, ``./benchmarks_data/`` and ``../shared/benchmarks_data/`` (relative to the
working directory and, when running from a source checkout, to the checkout). Converted caches
live in ``$NASH_CACHE_DIR`` (default ``~/.cache/nash``) and are written atomically.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_roots() -> list[Path]:
    """Candidate data directories in lookup order (deduplicated, existing or not)."""
    roots: list[Path] = []
    env = os.environ.get("NASH_DATA_DIR")
    if env:
        roots.append(Path(env).expanduser())
    # the checkout counts only when there is one: an installed package's parent is
    # site-packages, where no data belongs
    checkout = [REPO_ROOT] if (REPO_ROOT / "pyproject.toml").is_file() else []
    for base in (Path.cwd(), *checkout):
        roots.append(base / "benchmarks_data")
        roots.append(base.parent / "shared" / "benchmarks_data")
    seen: set[Path] = set()
    out = []
    for r in roots:
        key = r.resolve() if r.exists() else r.absolute()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def cache_dir() -> Path:
    """The directory for converted tables; created on first use.

    Raises :class:`ConfigError` (one line naming ``NASH_CACHE_DIR``) when it is a file or cannot be
    created, instead of a traceback from whichever cache is opened first.
    """
    from harness.errors import ConfigError

    raw = os.environ.get("NASH_CACHE_DIR")
    path = Path(raw or "~/.cache/nash").expanduser()
    what = f"NASH_CACHE_DIR={raw!r}" if raw else f"the default cache directory {path}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(
            f"{what} is a file (or lies below one), not a directory; set NASH_CACHE_DIR to a "
            "writable directory"
        ) from None
    except OSError as e:
        raise ConfigError(
            f"{what} cannot be created ({e.strerror or e}); set NASH_CACHE_DIR to a writable "
            "directory"
        ) from None
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    A crash or an exception leaves ``target`` as it was (absent or the previous version), never
    half-written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
