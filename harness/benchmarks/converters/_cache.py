"""The converted-table cache shared by every official-format converter.

Why a cache of tidy Parquet tables: the official readers are slow (the NATS reader unpickles one
cell per call, the NB201 reader loads a multi-GB pickle, NB101 has no reader without TensorFlow),
so each official file is converted once into one long table (one row per seed/repeat and epoch)
that pandas and pyarrow read directly.

Layout: ``cache_dir()/official/<kind>-<first 16 hex of the source sha256>/`` holding
``table.parquet`` and ``manifest.json``. The directory name is derived from the source's sha256,
so a changed source gets a new cache and an unchanged one is never converted twice. No checksum is
published for the official full files, so the sha256 is *recorded* at the first conversion (it
identifies what was converted; it does not prove the file is the genuine download).

Atomicity: everything is written into a temporary directory beside the target and moved into
place with one ``os.replace``; a crash leaves either no cache or the previous complete one.

Integrity: the directory also holds ``integrity.json`` (:mod:`harness.benchmarks.cache_integrity`):
the source sha256 (hashed in full when the cache is built, never taken from the memo) and the
size and sha256 of ``table.parquet`` and ``manifest.json``, checked once per process before the
table is read. A cache failing it is converted again from its source (with a notice), or refused
when only the cache directory is given.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.benchmarks import cache_integrity
from harness.errors import DataError
from harness.paths import cache_dir, sha256_file

TABLE = "table.parquet"
MANIFEST = "manifest.json"
SHA_NOTE = (
    "no checksum is published for the official file: this sha256 was recorded at the first "
    "conversion and identifies the file converted, it does not prove that it is the genuine "
    "download"
)


def official_root() -> Path:
    """Parent directory of all converted official tables."""
    root = cache_dir() / "official"
    root.mkdir(parents=True, exist_ok=True)
    return root


# ---------------------------------------------------------------------------------------------
# Source checksums (memoised by the registry's checksum memo: the official files are GBs;
# hashing them on every call would dominate)


def _dir_files(path: Path) -> list[Path]:
    """The regular files of a source directory that make up the source (hidden files excluded)."""
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))


def source_sha256(path: Path, *, full: bool = False) -> str:
    """sha256 of a source file, or of a source directory as a tree.

    A directory's sha256 is that of the lines ``name NUL sha256(file) LF`` over its non-hidden
    regular files in name order (not recursive): it changes when any file is added, removed,
    renamed or modified. Each file's checksum is memoised by its stat state
    (:func:`harness.benchmarks.registry.file_sha256`), enough to find an existing cache; ``full``
    (before a conversion) hashes every byte again and updates the memo.
    """
    from harness.benchmarks.registry import file_sha256, remember_sha256

    def one(p: Path) -> str:
        if not full:
            return file_sha256(p)
        digest = sha256_file(p)
        remember_sha256(p, digest)
        return digest

    if not path.is_dir():
        return one(path)
    h = hashlib.sha256()
    for p in _dir_files(path):
        h.update(f"{p.name}\0{one(p)}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Writing a table in batches (a full NATS table has ~38 M rows: it never fits in one DataFrame)


@dataclass
class TableWriter:
    """Append column batches to one Parquet file with a fixed schema; counts rows per group."""

    path: Path
    schema: Any  # pyarrow.Schema
    group_by: tuple[str, ...] = ()
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    _writer: Any = None

    def write(self, columns: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = []
        for f in self.schema:
            values = columns[f.name]
            if pa.types.is_dictionary(f.type):
                arr = pa.array(values, type=pa.string()).dictionary_encode()
                arr = arr.cast(f.type)
            else:
                arr = pa.array(values, type=f.type, from_pandas=True)
            arrays.append(arr)
        batch = pa.Table.from_arrays(arrays, schema=self.schema)
        if batch.num_rows == 0:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(str(self.path), self.schema, compression="zstd")
        self._writer.write_table(batch)
        self.rows += batch.num_rows
        if self.group_by:
            import pandas as pd

            sizes = pd.DataFrame({g: columns[g] for g in self.group_by}).value_counts(sort=False)
            for k, n in sizes.items():
                key = k if isinstance(k, tuple) else (k,)
                name = "/".join(str(x) for x in key)
                self.counts[name] = self.counts.get(name, 0) + int(n)

    def close(self) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:  # an empty source still gives a readable (empty) table
            self._writer = pq.ParquetWriter(str(self.path), self.schema, compression="zstd")
        self._writer.close()


def concat_columns(parts: Iterable[dict[str, Any]], names: Iterable[str]) -> dict[str, Any]:
    """Concatenate column dicts of numpy arrays / lists into one batch."""
    parts = list(parts)
    out: dict[str, Any] = {}
    for n in names:
        chunks = [p[n] for p in parts]
        if chunks and isinstance(chunks[0], np.ndarray):
            out[n] = np.concatenate(chunks)
        else:
            out[n] = [x for c in chunks for x in c]
    return out


# ---------------------------------------------------------------------------------------------
# Building and finding caches


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def integrity_kind(kind: str) -> str:
    return f"official-{kind}"


def check_cache(directory: Path, kind: str, sha: str | None = None) -> str | None:
    """Why a converted cache cannot be trusted (its integrity record), or None."""
    if sha is None:
        m = read_manifest(directory)
        sha = str(m.get("source_sha256")) if m else None
    if sha is None:
        return f"{MANIFEST} is missing or unreadable"
    return cache_integrity.check(directory, kind=integrity_kind(kind), sources={"source": sha})


def is_complete(directory: Path, kind: str, sha: str, version: int) -> bool:
    m = read_manifest(directory)
    return (
        m is not None
        and m.get("kind") == kind
        and m.get("source_sha256") == sha
        and m.get("converter_version") == version
        and (directory / TABLE).is_file()
        and check_cache(directory, kind, sha) is None
    )


def cache_path(kind: str, sha: str) -> Path:
    return official_root() / f"{kind}-{sha[:16]}"


def build(
    *,
    kind: str,
    version: int,
    source: Path,
    sha: str,
    schema: Any,
    group_by: tuple[str, ...],
    produce: Callable[[TableWriter], dict[str, Any]],
    manifest_extra: dict[str, Any],
    force: bool = False,
) -> Path:
    """Run ``produce`` into a temporary directory and move the result into place atomically."""
    final = cache_path(kind, sha)
    if not force and is_complete(final, kind, sha, version):
        return final

    def write(tmp: Path) -> None:
        writer = TableWriter(tmp / TABLE, schema, group_by)
        try:
            extra = produce(writer)
        finally:
            writer.close()
        manifest = {
            "kind": kind,
            "converter_version": version,
            "source": str(source.resolve()),
            "source_sha256": sha,
            "source_sha256_note": SHA_NOTE,
            "rows": writer.rows,
            "row_counts": {"by " + "/".join(group_by): dict(sorted(writer.counts.items()))},
            "columns": [f.name for f in schema],
            "created_utc": _now(),
            **manifest_extra,
            **extra,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=_json_default))

    official_root()
    return cache_integrity.build(final, write, kind=integrity_kind(kind), sources={"source": sha})


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def resolve_source(source: str | os.PathLike[str], kind: str, what: str) -> Path:
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(
            f"{kind}: source {str(path)!r} not found; pass the path of {what} "
            f"(the official download, which is not shipped with the harness)"
        )
    return path
