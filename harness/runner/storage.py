"""Storing runs: each run's directory written atomically, and what a directory's files say.

A run is finished iff its ``run.json`` exists and its trials file matches what the manifest
recorded; a failed run has a ``failed.json`` and no ``run.json`` (so it is retried). Only the
driver calls the writers, whatever engine computed the run.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, NashError
from harness.runner.compute import RunOutput, git_commit, machine
from harness.runner.fsafe import write_dir_atomic
from harness.runner.loop import ROWS_FORMAT

#: row layouts a finished run may have: 1 (before ``reported`` / ``score_s``: the analysis
#: renames its columns on reading, so old runs are neither recomputed nor misread) and today's
READABLE_ROWS_FORMATS = (1, ROWS_FORMAT)

if TYPE_CHECKING:
    from harness.runner.config import RunSpec


def write_run(spec: RunSpec, out_dir: str | Path, output: RunOutput, **extra: Any) -> Path:
    """Write a computed run under ``out_dir`` atomically (by the driver, whatever the engine).

    The manifest records the size and sha256 of ``trials.parquet``, so a later resume can tell
    a finished run from a damaged one.
    """
    root = Path(out_dir)
    final = root / spec.rel_dir
    manifest = {
        **output.manifest,
        **extra,
        "trials_bytes": len(output.trials_parquet),
        "trials_sha256": hashlib.sha256(output.trials_parquet).hexdigest(),
    }
    text = json.dumps(manifest, indent=1, default=str).encode()
    write_dir_atomic(root, final, {"trials.parquet": output.trials_parquet, "run.json": text})
    return final


def write_failure(spec: RunSpec, out_dir: str | Path, error: str, attempts: int) -> Path:
    """Record a run that failed: ``failed.json`` and no ``run.json`` (a later call retries it)."""
    root = Path(out_dir)
    final = root / spec.rel_dir
    info = {
        "config_hash": spec.config_hash(),
        "config": spec.resolved(),
        "error": error,
        "attempts": attempts,
        "time": datetime.now(UTC).isoformat(),
        "git_commit": git_commit(),
        "machine": machine(),
    }
    blob = json.dumps(info, indent=1, default=str).encode()
    write_dir_atomic(root, final, {"failed.json": blob})
    return final


def verify_run_files(run_dir: Path, manifest: Mapping[str, Any]) -> str | None:
    """Why a run directory with a ``run.json`` is not a finished run, or None when it is.

    Checks the trials file against the size and sha256 its manifest recorded (runs written
    before those were recorded: a readable Parquet footer with one row per query).
    """
    fmt = manifest.get("rows_format", 1)
    if fmt not in READABLE_ROWS_FORMATS:
        return (
            f"written in trial rows format {fmt}, which this nash cannot read (it reads "
            f"{', '.join(map(str, READABLE_ROWS_FORMATS))})"
        )
    tp = run_dir / "trials.parquet"
    if not tp.is_file():
        return "trials.parquet is missing"
    size = tp.stat().st_size
    want_bytes, want_sha = manifest.get("trials_bytes"), manifest.get("trials_sha256")
    if want_bytes is not None and size != want_bytes:
        return f"trials.parquet has {size} bytes, its manifest recorded {want_bytes}"
    if want_sha is not None:
        if hashlib.sha256(tp.read_bytes()).hexdigest() != want_sha:
            return "trials.parquet does not match the sha256 its manifest recorded"
        return None
    try:
        import pyarrow.parquet as pq

        rows = pq.read_metadata(tp).num_rows
    except Exception as e:  # pyarrow raises several kinds on a damaged footer
        return f"trials.parquet is unreadable ({type(e).__name__})"
    if manifest.get("n_queries") is not None and rows != manifest["n_queries"]:
        return f"trials.parquet has {rows} rows, its manifest recorded {manifest['n_queries']}"
    return None


def run_state(spec: RunSpec, out_dir: Path) -> str:
    """``todo``, ``done``, or ``damaged`` (a run.json whose files do not check: redone)."""
    d = out_dir / spec.rel_dir
    mf = d / "run.json"
    if not mf.is_file():
        return "todo"
    try:
        m = json.loads(mf.read_text())
        got = m.get("config_hash") if isinstance(m, dict) else None
    except (OSError, ValueError):
        return "damaged"
    if got is None:
        return "damaged"
    if got != spec.config_hash():
        was = (m.get("config") or {}).get("plugins", {}) if isinstance(m, dict) else {}
        now = spec.resolved().get("plugins", {})
        what = ""
        if was != now:  # say which plug-in changed: the run is not resumed, it must be redone
            what = f" (plug-in versions changed: {was or 'none'} -> {now or 'none'})"
        raise ConfigError(
            f"{d} holds a run of a different configuration{what} (config hash {got}, now "
            f"{spec.config_hash()}); it is not resumed: use another experiment name or --out, "
            "or remove it to recompute"
        )
    return "damaged" if verify_run_files(d, m) else "done"


def check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe", delete=True)
        probe.close()
    except OSError as e:
        raise NashError(f"output directory {path} is not writable: {e.strerror or e}") from None
