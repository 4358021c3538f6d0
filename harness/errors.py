"""User-facing errors.

Every mistake a user can make (a typo in an architecture string, an unknown dataset, a missing or
corrupted data file) raises a subclass of :class:`NashError`. The command line turns these into
one line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NashError(Exception):
    """Base class of errors caused by user input or by the data a user supplied."""


class InvalidArchitecture(NashError, ValueError):
    """An architecture string, index, tuple or matrix that does not name a cell of the space."""


class UnknownName(NashError, KeyError):
    """A name (benchmark, dataset, metric, strategy, ...) that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class DataError(NashError):
    """A data file is missing, corrupted or does not match its pinned checksum."""


class NotInBenchmark(NashError, KeyError):
    """A valid cell that the benchmark table does not contain (e.g. outside the NB101-30k pool)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(NashError, ValueError):
    """An experiment configuration that is malformed or asks for something impossible."""


def unknown(kind: str, name: object, valid: Iterable[str]) -> UnknownName:
    """Build an :class:`UnknownName` that lists the valid names and suggests the closest one."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownName(f"unknown {kind} {name!r}{hint} (valid: {', '.join(valid)})")
