"""Fixtures of the fault-injection suite: tiny real experiments and real ``nash`` subprocesses.

The suite runs the real runner on the real shipped NB201 table (random search, 5 evaluations,
2 seeds: well under a second per run), so every case exercises the code a user runs.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.benchmarks import nb101, nb201

ROOT = Path(__file__).resolve().parents[2]

#: the smallest real experiment: random search on NB201, 5 evaluations, 2 seeds
TINY: dict[str, Any] = {
    "name": "tiny",
    "seeds": 2,
    "budget": {"evaluations": 5},
    "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
    "strategy": [{"name": "random_search", "label": "rs"}],
}

TINY_TOML = """name = "tiny"
seeds = 2
budget = { evaluations = 5 }

[[benchmark]]
name = "nb201"
dataset = "cifar10"

[[strategy]]
name = "random_search"
label = "rs"
"""

Nash = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def tiny() -> Callable[..., dict[str, Any]]:
    """A fresh copy of the tiny experiment table, with top-level keys replaced."""

    def make(**top: Any) -> dict[str, Any]:
        d = copy.deepcopy(TINY)
        d.update(top)
        return d

    return make


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.toml"
    p.write_text(TINY_TOML)
    return p


@pytest.fixture
def nash() -> Nash:
    """``nash ARGS`` as a real subprocess (``python -m harness.cli``) in the repository root."""

    def run(
        *args: str, cwd: Path = ROOT, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness.cli", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
        )

    return run


@pytest.fixture
def one_line_error() -> Callable[[subprocess.CompletedProcess[str], str], None]:
    """Assert exit code 2 and exactly one stderr line containing ``match``, no traceback."""

    def check(r: subprocess.CompletedProcess[str], match: str) -> None:
        assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
        assert "Traceback" not in r.stderr, r.stderr[-2000:]
        lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
        assert len(lines) == 1, r.stderr
        assert match in lines[0], lines[0]

    return check


# -- the data-side cases (cache integrity, data errors) edit real caches built from the data --


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory with the NB201 and NB101 caches built once from the shipped data."""
    root = tmp_path_factory.mktemp("built_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NASH_CACHE_DIR", str(root))
        nb201.NB201Tables()
        nb101.NB101Table()
    return root


@pytest.fixture
def cache(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built caches, as NASH_CACHE_DIR."""
    root = tmp_path / "cache"
    shutil.copytree(built, root)
    monkeypatch.setenv("NASH_CACHE_DIR", str(root))
    return root
