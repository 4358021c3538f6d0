"""The command line as a user meets it: real subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def nash(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_query_by_index_and_string():
    r = nash("query", "nb201", "6111", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["index"] == 6111
    assert out["metrics"]["cifar10"]["test_acc@200"] == pytest.approx(94.373333)
    assert "hw_edgegpu_latency" in out["metrics"]["cifar100"]
    r2 = nash("query", "nb201", out["arch_str"])
    assert r2.returncode == 0 and "94.3733" in r2.stdout


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["query", "nb201", "|bogus~0|"], "malformed NB201 arch string"),
        (["query", "nb201", "99999"], "out of range"),
        (["query", "nb2001", "1"], "did you mean 'nb201'"),
        (["run", "does/not/exist.toml"], "not found"),
        (["data", "convert", "bogus-kind", "/nowhere"], "unknown"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args, match):
    r = nash(*args)
    assert r.returncode == 2
    assert match in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_data_verify_and_summary():
    r = nash("data", "verify")
    assert r.returncode == 0, r.stderr
    assert "MISMATCH" not in r.stdout and "MISSING" not in r.stdout
    s = nash("summary")
    assert s.returncode == 0
    assert "94.37" in s.stdout and "73.51" in s.stdout and "47.31" in s.stdout


def test_list():
    r = nash("list")
    assert r.returncode == 0
    for name in ("aging_evolution", "genetic_study", "random_search", "local_search", "nb201"):
        assert name in r.stdout


def test_run_and_resume(tmp_path):
    cfg = tmp_path / "e.toml"
    cfg.write_text(
        'name = "cli"\nseeds = 2\nbudget = { evaluations = 20 }\n'
        '[[benchmark]]\nname = "nb201"\ndataset = "cifar100"\n'
        '[[strategy]]\nname = "random_search"\n'
    )
    r = nash("run", str(cfg), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "random_search" in r.stdout and "200-epoch test" in r.stdout
    assert len(list((tmp_path / "out").rglob("trials.parquet"))) == 2
    r2 = nash("run", str(cfg), "--out", str(tmp_path / "out"), "--no-progress")
    assert r2.returncode == 0 and r2.stdout == r.stdout  # resumed: nothing new, same summary


def test_run_bad_config_key(tmp_path):
    cfg = tmp_path / "e.toml"
    cfg.write_text('name = "x"\nbudgett = 3\n')
    r = nash("run", str(cfg))
    assert r.returncode == 2 and "did you mean 'budget'" in r.stderr
