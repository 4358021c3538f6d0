"""Type checks for experiment configurations: every value against its declared type.

Why: TOML has real booleans, integers and floats, and a value of the wrong type must never be
coerced silently (``bool("false")`` is True, ``int(2.5)`` is 2). Each getter here returns a value
of exactly the declared type or raises one :class:`~harness.errors.ConfigError` that names the
key, what it must be and what it got. Labels become directory names, so they are restricted to
one safe character set (see :func:`check_label`).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from harness.errors import ConfigError

#: A label or experiment name: one path component, portable, never hidden, never special.
LABEL_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
#: Most seeds one experiment may list (larger grids are a typo, and would not fit in memory)
MAX_SEEDS = 100_000
#: Most runs one experiment may describe
MAX_RUNS = 1_000_000

_MISSING = object()


def _got(v: Any) -> str:
    return f"{v!r} ({type(v).__name__})"


def check_label(where: str, raw: Any) -> str:
    """A name used as one directory level: ``[A-Za-z0-9._-]``, 1..100 chars, not starting '.'."""
    if not isinstance(raw, str):
        raise ConfigError(f"{where} must be a string, got {_got(raw)}")
    if not LABEL_RE.fullmatch(raw):
        raise ConfigError(
            f"{where} {raw!r} is not a plain directory name: use 1 to 100 characters from "
            "A-Z a-z 0-9 . _ - (no separators, spaces or control characters), not starting "
            "with '.'"
        )
    return raw


def check_unique(kind: str, labels: list[str]) -> None:
    """Labels become directories: they must differ even on case-insensitive file systems."""
    seen: dict[str, str] = {}
    for lab in labels:
        key = lab.casefold()
        if key in seen:
            raise ConfigError(
                f"{kind} labels must be unique (ignoring case): {seen[key]!r} and {lab!r} "
                "would share one results directory; give one of them another label"
            )
        seen[key] = lab


def get_str(where: str, table: Mapping[str, Any], key: str, default: Any = _MISSING) -> Any:
    v = table.get(key, default)
    if v is _MISSING:
        raise ConfigError(f'{where} needs {key} = "..."')
    if v is None and default is None:
        return None
    if not isinstance(v, str):
        raise ConfigError(f"{where} {key} must be a string, got {_got(v)}")
    if "\x00" in v:
        raise ConfigError(f"{where} {key} must not contain a NUL character")
    return v


def get_bool(where: str, table: Mapping[str, Any], key: str, default: bool) -> bool:
    v = table.get(key, default)
    if not isinstance(v, bool):
        bare = str(v).lower()
        hint = f" (write {key} = {bare}, without quotes)" if bare in ("true", "false") else ""
        raise ConfigError(f"{where} {key} must be true or false, got {_got(v)}{hint}")
    return v


def get_int(
    where: str,
    table: Mapping[str, Any],
    key: str,
    default: Any,
    *,
    minimum: int | None = None,
) -> Any:
    v = table.get(key, default)
    if v is None and default is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where} {key} must be an integer, got {_got(v)}")
    if minimum is not None and v < minimum:
        raise ConfigError(f"{where} {key} must be >= {minimum}, got {v}")
    return v


def get_number(
    where: str, table: Mapping[str, Any], key: str, default: float, *, minimum: float = 0.0
) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not v >= minimum:
        raise ConfigError(f"{where} {key} must be a number >= {minimum:g}, got {_got(v)}")
    if v != v or v in (float("inf"), float("-inf")):
        raise ConfigError(f"{where} {key} must be finite, got {v!r}")
    return float(v)


def get_table(where: str, table: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = table.get(key, default)
    if v is None and default is None:
        return None
    if not isinstance(v, dict):
        raise ConfigError(f"{where} {key} must be a table, e.g. {key} = {{ ... }}, got {_got(v)}")
    return dict(v)


def get_tables(key: str, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    v = raw.get(key)
    if not isinstance(v, list) or not v:
        raise ConfigError(f"the experiment needs at least one [[{key}]] table")
    for i, t in enumerate(v):
        if not isinstance(t, dict):
            raise ConfigError(f"[[{key}]] #{i + 1} must be a table, got {_got(t)}")
    return v


#: Budget limits and their types: counts are integers, seconds are numbers.
BUDGET_TYPES = {
    "evaluations": int,
    "distinct": int,
    "queries": int,
    "train_s": float,
    "wall_s": float,
}


def check_budget(where: str, raw: Mapping[str, Any]) -> None:
    """Counts are integers (``evaluations = 2.5`` is refused, not rounded); seconds numbers."""
    for k, v in raw.items():
        want = BUDGET_TYPES.get(k)
        if want is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise ConfigError(f"{where} {k} must be a positive integer, got {_got(v)}")
        if want is float and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ConfigError(f"{where} {k} must be a positive number of seconds, got {_got(v)}")


# -- parameters against a factory's annotations -------------------------------------------------
def _describe(ann: Any) -> str:
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(ann))
    if ann is type(None):
        return "absent"
    if ann is bool:
        return "true or false"
    if ann is int:
        return "an integer"
    if ann is float:
        return "a number"
    if ann is str:
        return "a string"
    return getattr(ann, "__name__", str(ann))


def _matches(v: Any, ann: Any) -> bool:
    """Whether a TOML value fits an annotation; unknown annotations are not second-guessed."""
    if ann is Any or ann is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(v, a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return v in typing.get_args(ann)
    if ann is type(None):
        return v is None
    if ann is bool:
        return isinstance(v, bool)
    if ann is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if ann is float:
        return isinstance(v, int | float) and not isinstance(v, bool)
    if ann is str:
        return isinstance(v, str)
    base = origin or ann
    if base in (list, tuple) or base is typing.Sequence:
        return isinstance(v, list | tuple)
    if base is dict or base is typing.Mapping:
        return isinstance(v, dict)
    return True


def check_params(where: str, factory: Any, params: Mapping[str, Any]) -> None:
    """Each parameter against the factory's type annotation (a string ``"false"`` is no bool)."""
    init = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # an annotation this module cannot resolve: leave it to the factory
        return
    for k, v in params.items():
        ann = hints.get(k)
        if ann is not None and not _matches(v, ann):
            raise ConfigError(f"{where} params.{k} must be {_describe(ann)}, got {_got(v)}")
