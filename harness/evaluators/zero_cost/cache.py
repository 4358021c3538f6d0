"""The persistent NASWOT score cache: scores computed on this machine, outside the repository."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from harness.errors import ConfigError, InvalidArchitecture, NashError, unknown
from harness.evaluators.zero_cost.kernel import NaswotResult


class ScoreCacheMiss(NashError):
    """A cache-only zero-cost evaluator met a cell whose score is neither committed nor cached."""


SCORE_CACHE_FORMAT = 1
#: overrides the score cache's root directory (default ``<cache dir>/zc_scores``)
SCORE_CACHE_ENV = "NASH_ZC_CACHE_DIR"


class ScoreCache:
    """NASWOT scores computed on this machine, kept across runs and processes.

    One small JSON file per cell (``<key>.json``: score, seconds, status, ReLU count, device,
    threads, torch version) in a directory named after everything the score depends on:
    ``<root>/<space>_naswot_<images>-<image data fingerprint>_b<batch>_seed<seed>_v<format>``
    (root: ``$NASH_ZC_CACHE_DIR``, default ``<cache dir>/zc_scores``, next to the converted
    benchmark tables). Append-only: a
    file is written once, atomically (temporary file + rename), and never changed, so
    concurrent writers in several processes are safe (both computed the same cell with the
    same settings; the last rename wins) and a killed writer leaves no partial file. A file
    that does not parse is a miss (and is replaced by the next computation).

    The device is recorded but is not part of the key: CPU and CUDA scores of a cell differ
    only where float rounding flips an activation's sign (TF32 is off while scoring).
    """

    def __init__(
        self,
        space: str,
        images: str,
        batch_size: int,
        seed: int,
        *,
        root: Path | None = None,
    ) -> None:
        from harness.benchmarks.registry import source_fingerprint
        from harness.data.images import IMAGE_SETS
        from harness.paths import cache_dir

        if images not in IMAGE_SETS:
            raise unknown("image set", images, IMAGE_SETS)
        fp = source_fingerprint(IMAGE_SETS[images][0])
        if root is None:
            env = os.environ.get(SCORE_CACHE_ENV)
            root = Path(env).expanduser() if env else cache_dir() / "zc_scores"
        base = Path(root)
        self.space = space
        self.settings = {"images": images, "batch_size": int(batch_size), "seed": int(seed)}
        self.dir = (
            base / f"{space}_naswot_{images}-{fp}_b{int(batch_size)}_seed{int(seed)}"
            f"_v{SCORE_CACHE_FORMAT}"
        )
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"score cache directory {self.dir} cannot be created ({e.strerror or e}); set "
                "NASH_CACHE_DIR to a writable directory or pass score_cache=False"
            ) from None

    def _path(self, key: str) -> Path:
        """The file of a cell id (an NB201 index, an NB101 hash): a plain file name only."""
        if not (key and all(c.isalnum() or c in "-_" for c in key)):
            raise InvalidArchitecture(
                f"score-cache key {key!r} is not a cell id (letters, digits, '-' and '_' only)"
            )
        return self.dir / f"{key}.json"

    def get(self, key: str) -> tuple[float, float, str] | None:
        """(score, seconds, status) of a cached cell, or None."""
        path = self._path(key)
        try:
            rec = json.loads(path.read_text())
            return float(rec["score"]), float(rec["seconds"]), str(rec["status"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is a miss; the next put replaces it

    def put(
        self, key: str, r: NaswotResult, *, device: str = "cpu", threads: int | None = None
    ) -> None:
        """Record one scoring (atomic; never leaves a partial file)."""
        from harness.paths import atomic_path

        rec = {
            "key": key,
            "score": r.score if math.isfinite(r.score) else "-inf",
            "seconds": round(r.seconds, 4),
            "status": "degenerate" if r.degenerate else "ok",
            "n_relus": r.n_relus,
            "device": device,
            "threads": threads,
            "torch": torch.__version__,
            **self.settings,
        }
        with atomic_path(self._path(key)) as tmp:
            tmp.write_text(json.dumps(rec) + "\n")

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json"))

    def __len__(self) -> int:
        return len(self.keys())
