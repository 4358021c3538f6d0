"""Converters for users who have the official full benchmark files.

The harness ships with seed-mean tables (see ``harness.benchmarks.nb201`` / ``nb101``); per-seed,
per-epoch values and recorded training times exist only in the official downloads. These
converters turn each official format into one tidy Parquet table (one row per cell, dataset,
schedule, seed and epoch; or per NB101 record) in the harness cache, so that per-seed noise,
learning curves and time budgets can be studied without the slow official readers.

Kinds (``STATUS`` says what each was verified on):

- ``nats-tss``: the NATS-Bench topology fast-mode archive directory
  (``NATS-tss-v1_0-3ffb9-simple/``), read through ``nats_bench``;
- ``nb201-pth``: ``NAS-Bench-201-v1_1-096897.pth``, read through ``nas_201_api``;
- ``nb101-tfrecord``: ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord``, read by a small
  TFRecord + protobuf decoder (no TensorFlow).

``convert(kind, source)`` returns the cache directory
``cache_dir()/official/<kind>-<sha256 prefix>/`` (``table.parquet`` + ``manifest.json``);
``load_official(kind, source_or_cache_dir)`` returns the table as a DataFrame.
``restricted_load`` unpickles a pinned original with an allow-list of classes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.benchmarks.converters import _cache
from harness.benchmarks.converters.safe_pickle import restricted_load
from harness.errors import DataError, unknown

#: What each converter has been checked against. None has met a full real download yet.
STATUS: dict[str, str] = {
    "nats-tss": "verified on the official-format sample (3 real cells: 0, 11, 284; seed means "
    "equal the shipped NB201 tables to 1e-6); not yet verified against a full real download",
    "nb201-pth": "not yet verified against a real download (tested on a .pth built with "
    "nas_201_api's own classes from the 3 real NATS sample cells)",
    "nb101-tfrecord": "not yet verified against a real download (tested on TFRecord files written "
    "in the official framing and protobuf layout by the tests)",
}

#: Bumped when a converter's output changes; a cache from another version is rebuilt.
VERSIONS: dict[str, int] = {"nats-tss": 1, "nb201-pth": 1, "nb101-tfrecord": 1}

#: Sources whose conversion was checked against the shipped tables (tree sha256 -> what it is).
VERIFIED_SOURCES: dict[str, str] = {
    "e3f8536280362979a0d87f79b88cf61dcaaeeeefe56a2623c8520544fc6cb4a9": (
        "nats_format_sample/NATS-tss-v1_0-3ffb9-simple (3 real cells of NATS-Bench tss v1.0)"
    ),
}

_WHAT = {
    "nats-tss": "the extracted NATS-Bench topology archive directory NATS-tss-v1_0-3ffb9-simple/",
    "nb201-pth": "NAS-Bench-201-v1_1-096897.pth",
    "nb101-tfrecord": "nasbench_only108.tfrecord (or nasbench_full.tfrecord)",
}


def _check_kind(kind: str) -> None:
    if kind not in STATUS:
        raise unknown("official converter", kind, STATUS)


def convert(kind: str, source: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Convert an official file into the tidy cache table; return the cache directory.

    A source already converted (same sha256, same converter version) is not converted again
    unless ``force``. Raises :class:`UnknownName` for an unknown kind and :class:`DataError` for a
    missing, corrupted or wrong-format source; nothing half-written is left in the cache.
    """
    _check_kind(kind)
    path = _cache.resolve_source(source, kind, _WHAT[kind])
    check, run = _CONVERTERS[kind]
    check(path)  # fail on a wrong source before hashing it (1.3 GB for NATS)
    sha = _cache.source_sha256(path)  # memoised: enough to find a cache that passes its check
    final = _cache.cache_path(kind, sha)
    if not force and _cache.is_complete(final, kind, sha, VERSIONS[kind]):
        return final
    if final.exists() and not force:
        why = _cache.check_cache(final, kind, sha) or "another converter version"
        from harness.benchmarks.cache_integrity import notice

        notice(f"cache {final} failed its check ({why}); converting the source again")
    sha = _cache.source_sha256(path, full=True)  # what is converted is hashed in full
    # the cache at the (possibly new) sha is rebuilt, never trusted unchecked
    return run(path, sha, version=VERSIONS[kind], status=STATUS[kind])


def _check_nats_tss(path: Path) -> None:
    from harness.benchmarks.converters import nb201_family

    nb201_family.open_nats_tss(path)


def _check_nb201_pth(path: Path) -> None:
    from harness.benchmarks.converters import nb201_family

    if not path.is_file():
        nb201_family.open_nb201_pth(path)  # raises the clear error


def _check_nb101_tfrecord(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"nb101-tfrecord: {path} is not a file; pass {_WHAT['nb101-tfrecord']}")


def _run_nats_tss(path: Path, sha: str, **kw: Any) -> Path:
    from harness.benchmarks.converters import nb201_family

    return nb201_family.convert_nats_tss(
        path, sha, verified_sources=VERIFIED_SOURCES, force=True, **kw
    )


def _run_nb201_pth(path: Path, sha: str, **kw: Any) -> Path:
    from harness.benchmarks.converters import nb201_family

    return nb201_family.convert_nb201_pth(path, sha, force=True, **kw)


def _run_nb101_tfrecord(path: Path, sha: str, **kw: Any) -> Path:
    from harness.benchmarks.converters import nb101_tfrecord

    return nb101_tfrecord.convert_nb101_tfrecord(path, sha, force=True, **kw)


#: kind -> (a cheap check of the source, the conversion); one entry per official format
_CONVERTERS: dict[str, tuple[Callable[[Path], None], Callable[..., Path]]] = {
    "nats-tss": (_check_nats_tss, _run_nats_tss),
    "nb201-pth": (_check_nb201_pth, _run_nb201_pth),
    "nb101-tfrecord": (_check_nb101_tfrecord, _run_nb101_tfrecord),
}


def manifest(cache: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a converted cache directory."""
    m = _cache.read_manifest(Path(cache))
    if m is None:
        raise DataError(f"{cache} is not a converted official table (no readable manifest.json)")
    return m


def cache_dir_for(kind: str, source_or_cache_dir: str | os.PathLike[str]) -> Path:
    """The cache directory of a source (converting it if needed), or the directory itself."""
    _check_kind(kind)
    path = Path(source_or_cache_dir).expanduser()
    if path.is_dir() and (path / _cache.MANIFEST).is_file():
        m = manifest(path)
        if m.get("kind") != kind:
            raise DataError(f"{path} holds a converted {m.get('kind')!r} table, not {kind!r}")
        if not (path / _cache.TABLE).is_file():
            raise DataError(f"{path}: {_cache.TABLE} is missing; convert the source again")
        why = _cache.check_cache(path, kind)
        if why is not None:
            raise DataError(
                f"{path} failed its integrity check ({why}); convert the source again "
                f"(`nash data convert {kind} SOURCE`)"
            )
        return path
    return convert(kind, path)


def load_official(
    kind: str,
    source_or_cache_dir: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Any = None,
) -> Any:
    """The tidy table of an official file as a pandas DataFrame.

    ``source_or_cache_dir`` is either the official file (converted on first use) or a directory
    returned by :func:`convert`. ``columns`` and ``filters`` (pyarrow's, e.g.
    ``[("hp", "=", 200)]``) let a caller read a slice: the full NATS table has ~38 M rows.
    """
    import pyarrow.parquet as pq

    d = cache_dir_for(kind, source_or_cache_dir)
    try:
        table = pq.read_table(
            d / _cache.TABLE, columns=list(columns) if columns else None, filters=filters
        )
    except (OSError, ValueError) as e:  # pyarrow's errors derive from these
        raise DataError(f"{d / _cache.TABLE}: unreadable ({e}); convert the source again") from e
    return table.to_pandas()


__all__ = [
    "STATUS",
    "VERIFIED_SOURCES",
    "VERSIONS",
    "cache_dir_for",
    "convert",
    "load_official",
    "manifest",
    "restricted_load",
]
