"""Committed NASWOT score tables: NB201 by benchmark index, NB101 by official hash.

Score tables: ``nash dev zero-cost --compute-nb201`` computes NB201 scores
(one representative per isomorphism class first, resumable, atomic writes) into
``harness/zc_data/``; :class:`ZeroCostEvaluator` reads a committed score when the table's
settings match and computes it otherwise.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.errors import ConfigError, DataError, NashError, unknown
from harness.evaluators.zero_cost.kernel import score_cell

ZC_DATA = Path(__file__).resolve().parents[2] / "zc_data"


TABLE_COLUMNS = ("nb201_index", "class_id", "score", "seconds", "status")


def score_table_path(space: str, images: str, batch_size: int, seed: int = 0) -> Path:
    """Where the committed NASWOT table of a network family's cells lives (named by its space).

    Scores depend on the network a cell builds, not on the benchmark that reports it, so every
    benchmark on one family's cells (NB201 and AnalogNAS: NB201 cells) reads one table.
    """
    return ZC_DATA / f"{space}_naswot_{images}_b{batch_size}_seed{seed}.csv"


def table_path(images: str = "cifar10", batch_size: int = 128, seed: int = 0) -> Path:
    """Where the committed NB201 NASWOT table for these settings lives."""
    from harness.spaces.nb201 import NB201Space

    return score_table_path(NB201Space.name, images, batch_size, seed)


class _SidecarTable:
    """A committed CSV of scores plus a JSON sidecar of the settings that produced them.

    The shared part of the NB201 (by index) and NB101 (by hash) tables: reading with a column
    check, matching settings, and writing atomically (the sidecar last: it describes the CSV).
    """

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def meta_path(self) -> Path:
        return self.path.with_suffix(".json")

    @classmethod
    def _frame(cls, path: Path, **read_csv: Any) -> Any:
        import pandas as pd

        df = pd.read_csv(path, **read_csv)
        if tuple(df.columns) != cls.COLUMNS:
            raise DataError(f"{path}: expected columns {cls.COLUMNS}, got {tuple(df.columns)}")
        return df

    def settings_match(self, images: str, batch_size: int, seed: int) -> bool:
        m = self.meta
        return (m.get("images"), m.get("batch_size"), m.get("seed")) == (images, batch_size, seed)

    def _save(self, lines: list[str]) -> None:
        """Write the CSV rows, let :meth:`_describe` update the sidecar, then write it."""
        from harness.paths import atomic_path

        with atomic_path(self.path) as tmp:
            tmp.write_text("\n".join([",".join(self.COLUMNS), *lines]) + "\n")
            tmp.chmod(0o644)  # mkstemp creates 0600; the table is a committed, shared file
        self._describe()
        with atomic_path(self.meta_path) as tmp:
            tmp.write_text(json.dumps(self.meta, indent=1, sort_keys=True) + "\n")
            tmp.chmod(0o644)

    def _describe(self) -> None:
        """Coverage figures for the sidecar (subclasses)."""


class ScoreTable(_SidecarTable):
    """NASWOT scores of NB201 cells by benchmark index, with the settings that produced them.

    A CSV (``nb201_index, class_id, score, seconds, status``; ``status`` ``ok`` or
    ``degenerate``, whose score is ``-inf``) and a JSON sidecar of settings (images, batch,
    seed, threads, torch version, machine, regeneration command, coverage).
    """

    COLUMNS = TABLE_COLUMNS

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        super().__init__(path, meta)
        self.rows: dict[int, tuple[int, float, float, str]] = {}

    @classmethod
    def read(cls, path: Path) -> ScoreTable:
        t = cls(path, json.loads(path.with_suffix(".json").read_text()))
        for i, c, s, sec, st in cls._frame(path).itertuples(index=False):
            t.rows[int(i)] = (int(c), float(s), float(sec), str(st))
        return t

    def get(self, index: int) -> tuple[float, float, str] | None:
        r = self.rows.get(int(index))
        return None if r is None else (r[1], r[2], r[3])

    def by_class(self) -> dict[int, int]:
        """class id -> the benchmark index whose score the table holds (smallest index)."""
        out: dict[int, int] = {}
        for i in sorted(self.rows):
            out.setdefault(self.rows[i][0], i)
        return out

    def write(self) -> None:
        self._save(
            [f"{i},{c},{s!r},{sec:.4f},{st}" for i, (c, s, sec, st) in sorted(self.rows.items())]
        )

    def _describe(self) -> None:
        n_cells, n_classes = len(self.rows), len({r[0] for r in self.rows.values()})
        self.meta["n_cells"], self.meta["n_classes"] = n_cells, n_classes
        self.meta["coverage"] = (
            f"{n_cells} of 15,625 cells; {n_classes} of 6,466 isomorphism classes"
        )


def nb201_compute_order(scope: str = "classes") -> list[int]:
    """Benchmark indices in computing order.

    First one representative (the smallest index) of every isomorphism class none of whose
    members has a published ``zc_nwot`` value; then representatives of the other classes; with
    ``scope="all"`` then every remaining cell.
    """
    from harness.benchmarks import nb201 as tables
    from harness.spaces import nb201

    space = nb201.NB201Space()
    published = np.isfinite(np.asarray(tables.load().column("cifar10", "zc_nwot")))
    cls = np.array([space.class_id(nb201.arch_of_index(i)) for i in range(nb201.N_CELLS)])
    rep: dict[int, int] = {}
    covered: set[int] = set()
    for i in range(nb201.N_CELLS):
        rep.setdefault(int(cls[i]), i)
        if published[i]:
            covered.add(int(cls[i]))
    first = [r for c, r in sorted(rep.items(), key=lambda kv: kv[1]) if c not in covered]
    second = [r for c, r in sorted(rep.items(), key=lambda kv: kv[1]) if c in covered]
    order = first + second
    if scope == "all":
        chosen = set(order)
        order += [i for i in range(nb201.N_CELLS) if i not in chosen]
    return order


def compute_nb201_table(
    *,
    images: str = "cifar10",
    batch_size: int = 128,
    seed: int = 0,
    num_threads: int = 1,
    scope: str = "classes",
    limit: int | None = None,
    max_seconds: float | None = None,
    flush_every: int = 25,
    path: Path | None = None,
    progress: bool = True,
) -> ScoreTable:
    """Compute (or resume) the NB201 NASWOT table; partial results are written atomically."""
    import platform

    from harness.data.images import load_images
    from harness.spaces import nb201

    if scope not in ("classes", "all"):
        raise unknown("scope", scope, ("classes", "all"))
    space = nb201.NB201Space()
    path = path or table_path(images, batch_size, seed)
    if path.exists():
        table = ScoreTable.read(path)
        if not table.settings_match(images, batch_size, seed):
            raise ConfigError(f"{path} holds scores for other settings: {table.meta}")
    else:
        table = ScoreTable(path)
    table.meta.update(
        proxy="naswot",
        space=space.name,
        images=images,
        batch_size=batch_size,
        seed=seed,
        num_threads=num_threads,
        torch=torch.__version__,
        machine=platform.processor() or platform.machine(),
        command=f"python -m harness.evaluators.zero_cost --compute-nb201 --images {images} "
        f"--batch-size {batch_size} --seed {seed} --scope {scope}",
        order="one representative (smallest index) per isomorphism class, classes without a "
        "published zc_nwot value first; then (scope all) every other cell",
        images_note="CIFAR-10 images for every dataset (only CIFAR-10 images are shipped)"
        if images == "cifar10"
        else f"{images} images",
    )
    x = load_images(images, batch_size)
    todo = [i for i in nb201_compute_order(scope) if i not in table.rows]
    if limit is not None:
        todo = todo[:limit]
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="naswot nb201", unit="cell", file=sys.stderr)
    t0 = time.perf_counter()
    done_since_flush = 0
    try:
        for i in todo:
            arch = nb201.arch_of_index(i)
            r = score_cell(space.name, arch, x, seed=seed, num_threads=num_threads)
            status = "degenerate" if r.degenerate else "ok"
            table.rows[i] = (space.class_id(arch), r.score, r.seconds, status)
            done_since_flush += 1
            if bar is not None:
                bar.update(1)
            if done_since_flush >= flush_every:
                table.write()
                done_since_flush = 0
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
    finally:
        if done_since_flush:
            table.write()
        if bar is not None:
            bar.close()
    return table


# ----------------------------------------------------------------------------------------------
# the committed NB101 table (keyed by the official hash)

NB101_TABLE_COLUMNS = ("nb101_hash", "score", "seconds", "status", "n_relus")


def nb101_table_path(images: str = "cifar10", batch_size: int = 128, seed: int = 0) -> Path:
    """Where the committed NB101 NASWOT table for these settings lives."""
    from harness.spaces.nb101 import NB101Space

    return score_table_path(NB101Space.name, images, batch_size, seed)


class HashScoreTable(_SidecarTable):
    """NASWOT scores of NB101 cells by official hash, with the settings that produced them.

    A CSV (``nb101_hash, score, seconds, status, n_relus``; ``status`` ``ok`` or
    ``degenerate``, whose score is ``-inf``) and a JSON sidecar of settings (images, batch,
    seed, threads, torch version, machine, regeneration command, wall time, coverage).
    """

    COLUMNS = NB101_TABLE_COLUMNS

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        super().__init__(path, meta)
        self.rows: dict[str, tuple[float, float, str, int]] = {}

    @classmethod
    def read(cls, path: Path) -> HashScoreTable:
        t = cls(path, json.loads(path.with_suffix(".json").read_text()))
        df = cls._frame(path, dtype={"nb101_hash": str})
        for h, s, sec, st, n in df.itertuples(index=False):
            t.rows[str(h)] = (float(s), float(sec), str(st), int(n))
        return t

    def get(self, key: str) -> tuple[float, float, str] | None:
        r = self.rows.get(str(key))
        return None if r is None else (r[0], r[1], r[2])

    def write(self) -> None:
        self._save(
            [f"{h},{s!r},{sec:.4f},{st},{n}" for h, (s, sec, st, n) in sorted(self.rows.items())]
        )

    def _describe(self) -> None:
        secs = np.array([r[1] for r in self.rows.values()], dtype=float)
        self.meta["n_cells"] = len(self.rows)
        self.meta["n_degenerate"] = sum(r[2] != "ok" for r in self.rows.values())
        if secs.size:
            self.meta["cell_seconds"] = {
                "median": round(float(np.median(secs)), 3),
                "mean": round(float(secs.mean()), 3),
                "min": round(float(secs.min()), 3),
                "max": round(float(secs.max()), 3),
                "total": round(float(secs.sum()), 1),
            }


def compute_nb101_table(
    *,
    images: str = "cifar10",
    batch_size: int = 128,
    seed: int = 0,
    num_threads: int = 1,
    limit: int | None = None,
    max_seconds: float | None = None,
    flush_every: int = 5,
    path: Path | None = None,
    progress: bool = True,
) -> HashScoreTable:
    """Compute (or resume) NASWOT of the 292 distinct cells of the shipped zc500 NB101 sample.

    Cells are deduplicated by official hash (first row's spec, file order); partial results
    are written atomically every ``flush_every`` cells, so a killed run resumes where it
    stopped. The sidecar accumulates the wall time over sessions.
    """
    import platform

    from harness.benchmarks.nb101 import ZC500_FILE, zc500_cells
    from harness.data.images import load_images
    from harness.spaces.nb101 import NB101Space

    space = NB101Space()

    path = path or nb101_table_path(images, batch_size, seed)
    if path.exists() and path.with_suffix(".json").exists():
        table = HashScoreTable.read(path)
        if not table.settings_match(images, batch_size, seed):
            raise ConfigError(
                f"{path} holds scores for other settings ({table.meta.get('images')}, batch "
                f"{table.meta.get('batch_size')}, seed {table.meta.get('seed')}); pass --out "
                "for a new table"
            )
    else:
        table = HashScoreTable(path)
    x = load_images(images, batch_size)  # validates images and batch size first
    cells = zc500_cells()
    cmd = (
        f"nash score nb101 --proxy naswot --images {images} --batch-size {batch_size} "
        f"--seed {seed} --threads {num_threads}"
    )
    sessions = list(table.meta.get("sessions", []))
    table.meta.update(
        proxy="naswot",
        space=space.name,
        images=images,
        batch_size=batch_size,
        seed=seed,
        num_threads=num_threads,
        torch=torch.__version__,
        machine=platform.processor() or platform.machine(),
        command=cmd,
        cells=f"the {len(cells)} distinct cells (by official hash) of {ZC500_FILE} "
        "(NAS-Bench-Suite-Zero sample), in file order; the first row's spec of each hash",
        network="nasbench-pytorch NB101 skeleton (stem 128 channels, 3 stacks x 3 cells), "
        "built from the canonical form of the hash; PyTorch default initialisation seeded by "
        "(seed, 'nb101', hash); training mode (batch statistics); one forward pass",
        images_note="the first 128 of the 164 shipped CIFAR-10 images (normalised)"
        if images == "cifar10"
        else f"{images} images",
        coverage_of=len(cells),
    )
    todo = [h for h in cells if h not in table.rows]
    if limit is not None:
        todo = todo[:limit]
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="naswot nb101", unit="cell", file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    t0 = time.perf_counter()
    done_since_flush = n_done = 0

    def flush() -> None:
        wall = time.perf_counter() - t0
        table.meta["sessions"] = [
            *sessions,
            {"cells": n_done, "wall_s": round(wall, 1), "loadavg_1min_at_start": load},
        ]
        table.meta["wall_s"] = round(sum(s["wall_s"] for s in table.meta["sessions"]), 1)
        table.write()

    try:
        for h in todo:
            r = score_cell(space.name, cells[h], x, seed=seed, num_threads=num_threads)
            status = "degenerate" if r.degenerate else "ok"
            table.rows[h] = (r.score, r.seconds, status, r.n_relus)
            done_since_flush += 1
            n_done += 1
            if bar is not None:
                bar.update(1)
            if done_since_flush >= flush_every:
                flush()
                done_since_flush = 0
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
    finally:
        if done_since_flush or not path.exists():
            flush()
        if bar is not None:
            bar.close()
    return table


#: the job that computes a committed table, by the cells a benchmark declares it holds
#: (:attr:`harness.benchmarks.base.Benchmark.naswot_table`)
TABLE_JOBS: dict[str, Any] = {"space": compute_nb201_table, "sample": compute_nb101_table}


def table_benchmarks() -> list[str]:
    """Registered benchmarks with a committed NASWOT table (for ``nash score`` and its errors)."""
    from harness.benchmarks import BENCHMARKS, get_benchmark

    names = []
    for e in BENCHMARKS:
        try:
            bench = get_benchmark(e.name)
        except NashError:  # a benchmark whose data is missing has no table either
            continue
        if bench.naswot_table:
            names.append(" / ".join((bench.name, *bench.aliases)))
    return sorted(names)


def compute_score_table(benchmark: str, **kwargs: Any) -> ScoreTable | HashScoreTable:
    """Compute (or resume) the committed NASWOT table of ``benchmark`` (any accepted spelling).

    ``scope`` (``"classes"`` / ``"all"``) applies to whole-space tables only; other keywords go
    to the benchmark's job (:data:`TABLE_JOBS`).
    """
    from harness.benchmarks import get_benchmark

    try:
        bench = get_benchmark(benchmark)
    except NashError:
        bench = None
    if bench is None or bench.naswot_table not in TABLE_JOBS:
        raise unknown("score-table benchmark", benchmark, table_benchmarks())
    scope = kwargs.pop("scope", "classes")
    if bench.naswot_table == "space":
        kwargs["scope"] = scope
    elif scope != "classes":
        raise ConfigError(
            f"--scope applies to whole-space tables only (the {bench.name} table scores the "
            "distinct cells of the shipped sample, one per hash); leave it out"
        )
    table: ScoreTable | HashScoreTable = TABLE_JOBS[bench.naswot_table](**kwargs)
    return table
