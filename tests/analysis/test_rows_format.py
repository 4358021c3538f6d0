"""Runs written in trial rows format 1 (before ``reported`` / ``score_s``) stay readable.

Why: format 2 renamed the reported metric's column (``test`` held validation on NB101) and
split recorded from measured seconds. A user's finished runs must neither be recomputed nor
misread: the analysis renames their columns and fills the NB101 reported values from ``val``,
as format 2 stores them. The format-1 runs here are real runs rewritten the way nash wrote them
before format 2 (the same values; the old column and manifest names; NaN where NB101 has no
test accuracy).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.load import load_runs
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment

EXP = {
    "name": "fmt",
    "seeds": 2,
    "budget": {"evaluations": 20},
    "benchmark": [
        {"name": "nb201", "dataset": "cifar10"},
        {"name": "nb101-30k", "dataset": "cifar10"},
    ],
    "strategy": [{"name": "random_search"}],
}


def _as_format1(run_dir: Path) -> None:
    """Rewrite a finished run as the format-1 writer stored it."""
    m = json.loads((run_dir / "run.json").read_text())
    t = pd.read_parquet(run_dir / "trials.parquet")
    val_reported = m["evaluator"]["report_metric"].startswith("val")
    t = t.rename(columns={"reported": "test", "incumbent_reported": "incumbent_test"})
    t = t.drop(columns=["score_s", "cum_score_s"])
    if val_reported:  # format 1 had no test value to store on NB101
        t["test"] = np.nan
        t["incumbent_test"] = np.nan
    blob = t.to_parquet(index=False)
    (run_dir / "trials.parquet").write_bytes(blob)
    m.pop("rows_format")
    m.pop("report_metric", None)
    m["final_incumbent_test"] = np.nan if val_reported else m.pop("final_incumbent_reported")
    m.pop("final_incumbent_reported", None)
    m["best_test_seen"] = np.nan if val_reported else m.pop("best_reported_seen")
    m.pop("best_reported_seen", None)
    m["trials_bytes"], m["trials_sha256"] = len(blob), hashlib.sha256(blob).hexdigest()
    (run_dir / "run.json").write_text(json.dumps(m, indent=1))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    new = run_experiment(parse_experiment(EXP), tmp_path_factory.mktemp("new"), progress=False)
    old = run_experiment(parse_experiment(EXP), tmp_path_factory.mktemp("old"), progress=False)
    for mf in old.rglob("run.json"):
        _as_format1(mf.parent)
    return new, old


def test_format1_runs_read_as_today(pair: tuple[Path, Path]) -> None:
    new, old = (load_runs(p) for p in pair)
    assert set(old.runs["rows_format"]) == {1} and set(new.runs["rows_format"]) == {2}
    assert not old.problems
    keys = ["bench_label", "seed"]
    a = new.runs.sort_values(keys).reset_index(drop=True)
    b = old.runs.sort_values(keys).reset_index(drop=True)
    for c in ("final_reported", "best_reported_seen", "final_regret"):
        np.testing.assert_array_equal(a[c].to_numpy(float), b[c].to_numpy(float))
    assert np.isfinite(b["final_reported"]).all()  # NB101's validation, filled from val
    cols = ["bench_label", "seed", "step", "reported", "incumbent_reported", "regret"]
    ta = new.trials[cols].sort_values(cols[:3]).reset_index(drop=True)
    tb = old.trials[cols].sort_values(cols[:3]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ta, tb)


def test_format1_runs_are_not_recomputed(pair: tuple[Path, Path]) -> None:
    _, old = pair
    before = {p: p.stat().st_mtime_ns for p in old.rglob("run.json")}
    run_experiment(parse_experiment(EXP), old.parent, progress=False)
    assert {p: p.stat().st_mtime_ns for p in old.rglob("run.json")} == before


def test_a_future_rows_format_is_refused_by_name(pair: tuple[Path, Path], tmp_path) -> None:
    import shutil

    root = tmp_path / "r"
    shutil.copytree(pair[0], root)
    mf = next(root.rglob("run.json"))
    m = json.loads(mf.read_text())
    m["rows_format"] = 99
    mf.write_text(json.dumps(m))
    rs = load_runs(root)
    assert any("rows format 99" in p for p in rs.problems)
    assert len(rs.runs) == 3  # the other runs are read
