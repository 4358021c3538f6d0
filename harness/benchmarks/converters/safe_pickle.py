"""Unpickling a pinned original with an allow-list, for originals published only as pickles.

Some originals behind the shipped CSVs are pandas pickles (see the data README's "Originals"
table). Unpickling runs code named by the file, so an original is only unpickled when (1) its
bytes have the pinned sha256, checked before the unpickler sees a single byte, and (2) every
global the pickle names is in an explicit allow-list of ``(module, name)`` pairs; anything else
stops the load with a :class:`DataError` naming the global. The bytes are read once and the same
bytes are hashed and unpickled, so the file cannot change between the check and the load.

Pickles without a pinned checksum (the official NATS-Bench archives: none is published) go
through :func:`restricted_loads`, the allow-list alone, with only plain-data classes allowed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import DataError

#: Globals that execute code or reach the system whatever the pickle's other contents: refused
#: even when a caller lists them, since no data pickle needs them.
_NEVER_MODULES = frozenset(
    {"os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "pty"}
)
_NEVER_BUILTINS = frozenset(
    {"eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
     "globals", "locals", "vars", "input", "breakpoint"}
)  # fmt: skip


def _check_allowed(allowed: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    out = frozenset((str(m), str(n)) for m, n in allowed)
    for module, name in out:
        if module.split(".")[0] in _NEVER_MODULES or (
            module == "builtins" and name in _NEVER_BUILTINS
        ):
            raise ValueError(f"{module}.{name} can run arbitrary code; it is never allowed")
    return out


class _AllowListUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, allowed: frozenset[tuple[str, str]], path: Path) -> None:
        super().__init__(file)
        self._allowed = allowed
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._allowed:
            raise DataError(
                f"{self._path}: the pickle refers to {module}.{name}, which is not in the allowed "
                "list; refusing to load it (a different or tampered file, or a newer library "
                "version that pickles differently: extend the allow-list only after inspection)"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self._path}: the pickle uses persistent ids; refusing to load it")


def restricted_loads(data: bytes, allowed: Iterable[tuple[str, str]], path: Path) -> Any:
    """Unpickle ``data`` (read from ``path``) admitting only the ``allowed`` globals.

    For pickles whose checksum cannot be pinned (the official NATS-Bench archive has none
    published): the allow-list alone is what keeps the file from running code, so callers pass
    only plain-data classes. Raises :class:`DataError` for a disallowed global or a malformed
    pickle.
    """
    allow = _check_allowed(allowed)
    try:
        return _AllowListUnpickler(io.BytesIO(data), allow, path).load()
    except DataError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, ImportError, MemoryError, RecursionError) as e:  # fmt: skip
        raise DataError(f"{path}: not a loadable pickle ({type(e).__name__}: {e})") from e


def restricted_load(
    path: str | os.PathLike[str], expected_sha256: str, allowed: Iterable[tuple[str, str]]
) -> Any:
    """Unpickle ``path`` only if its sha256 is ``expected_sha256`` and it names only ``allowed``.

    ``allowed`` is a set of ``(module, name)`` pairs as the pickle spells them (e.g.
    ``("pandas.core.frame", "DataFrame")``). Raises :class:`DataError` for a missing file, a
    checksum mismatch (before unpickling anything), a disallowed global or a malformed pickle.
    """
    allow = _check_allowed(allowed)
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {p}: {e.strerror or e}") from e
    got = hashlib.sha256(data).hexdigest()
    if got != expected_sha256.strip().lower():
        raise DataError(
            f"{p}: sha256 {got} does not match the pinned {expected_sha256}; refusing to unpickle "
            "it. Replace it with the original named in the data README"
        )
    return restricted_loads(data, allow, p)
