"""Reports and summaries read exactly the runs the experiment describes, are written atomically,
and every damaged input is one clear line (exit 2), never a traceback.

Before: renamed labels or fewer seeds left stale runs that reports counted ("All expected runs
are present (4 runs)" for an experiment of 2); a killed report left 13 of 40 files and no
``report.md``; a re-report kept stale ``pairwise.csv`` / ``cd_*.png``; a stray or truncated
``experiment.json``, a truncated ``trials.parquet`` or ``--out`` naming a file gave tracebacks;
``nash list | head -1`` printed a BrokenPipeError.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis import load as L
from analysis import report as R
from analysis.summary import summarize_experiment
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment

ROOT = Path(__file__).resolve().parents[2]


def _run(cfg, out: Path) -> Path:
    return run_experiment(parse_experiment(cfg), out, workers=1, progress=False)


@pytest.fixture
def two_strategies(tiny):
    return tiny(
        strategy=[
            {"name": "random_search", "label": "rs"},
            {"name": "random_search", "label": "rs_dedup", "params": {"dedup": True}},
        ]
    )


def test_stale_runs_are_listed_not_used(tiny, tmp_path):
    _run(tiny(), tmp_path)  # rs, seeds 0 and 1
    renamed = tiny(seeds=1)
    renamed["strategy"][0]["label"] = "rs2"
    root = _run(renamed, tmp_path)
    rs = L.load_runs(root)
    assert len(rs.runs) == 1 and set(rs.runs["strategy_label"]) == {"rs2"}
    assert any("2 stale run(s)" in p for p in rs.problems), rs.problems
    text = summarize_experiment(root)
    assert "2 stale run(s)" in text and "rs2" in text
    assert "\nrs " not in text  # the stale strategy is no row of the summary


@pytest.mark.slow
def test_fewer_seeds_report_only_the_current_ones(two_strategies, tmp_path):
    _run(two_strategies, tmp_path)
    two_strategies["seeds"] = [0]
    root = _run(two_strategies, tmp_path)
    report = R.build_report(root, tmp_path / "rep", zero_cost_demo=False).read_text()
    assert "All expected runs are present" not in report
    assert "2 stale run(s)" in report
    assert L.load_runs(root).runs.shape[0] == 2


def test_damaged_runs_are_skipped_with_a_note(two_strategies, tmp_path):
    root = _run(two_strategies, tmp_path)
    tp = root / "nb201-cifar10" / "rs" / "seed=0" / "trials.parquet"
    tp.write_bytes(tp.read_bytes()[:100])
    rs = L.load_runs(root)
    assert len(rs.runs) == 3
    assert any("trials.parquet" in p and "skipped" in p for p in rs.problems)


@pytest.mark.slow
def test_a_re_report_keeps_no_stale_files_and_a_failed_one_keeps_the_old(
    two_strategies, tmp_path, monkeypatch
):
    root = _run(two_strategies, tmp_path)
    rep = tmp_path / "rep"
    R.build_report(root, rep, zero_cost_demo=False)
    first = (rep / "report.md").read_text()
    (rep / "tables" / "pairwise_from_an_earlier_report.csv").write_text("stale")
    R.build_report(root, rep, zero_cost_demo=False)
    assert not (rep / "tables" / "pairwise_from_an_earlier_report.csv").exists()
    n_files = len(list(rep.rglob("*")))

    def boom(*a, **k):  # a failure half-way through (after some tables were written)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(R.P, "save", boom)
    with pytest.raises(L.ResultsError, match=r"No space left on device.*untouched"):
        R.build_report(root, rep, zero_cost_demo=False)
    assert len(list(rep.rglob("*"))) == n_files  # the previous report, whole
    assert (rep / "report.md").read_text().split("\n", 3)[3] == first.split("\n", 3)[3]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep.")]


@pytest.mark.slow
def test_leftovers_of_a_killed_report_are_removed(two_strategies, tmp_path):
    root = _run(two_strategies, tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f".rep.tmp-{dead.pid}-x"
    (left / "tables").mkdir(parents=True)
    R.build_report(root, tmp_path / "rep", zero_cost_demo=False)
    assert not left.exists()


def test_a_directory_that_is_no_report_is_never_replaced(two_strategies, tmp_path):
    root = _run(two_strategies, tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(L.ResultsError, match="not a report directory"):
        R.build_report(root, home, zero_cost_demo=False)
    assert (home / "thesis.tex").read_text() == "years of work"


# -- the command line ----------------------------------------------------------------------------
def _damage_experiment_json(root: Path, damage: str) -> None:
    ej = root / "experiment.json"
    if damage == "stray":
        ej.write_text('{"description": "some other tool"}')
    elif damage == "truncated":
        ej.write_text(ej.read_text()[:50])
    else:
        ej.write_text("[1, 2]")


@pytest.mark.parametrize(
    ("damage", "match"),
    [("stray", "has no name"), ("truncated", "is damaged"), ("not json object", "has no name")],
)
def test_a_bad_experiment_json_is_one_results_error(tiny, tmp_path, damage, match):
    root = _run(tiny(seeds=1), tmp_path)
    _damage_experiment_json(root, damage)
    with pytest.raises(L.ResultsError, match=match):
        L.load_runs(root)
    with pytest.raises(L.ResultsError, match=match):
        summarize_experiment(root)


def test_report_on_a_truncated_experiment_json_is_one_line(nash, one_line_error, tiny, tmp_path):
    root = _run(tiny(seeds=1), tmp_path)
    _damage_experiment_json(root, "truncated")
    one_line_error(nash("report", root, "--out", tmp_path / "rep"), "is damaged")
    assert not (tmp_path / "rep").exists()


def test_report_out_pointing_at_a_file(nash, one_line_error, tiny, tmp_path):
    root = _run(tiny(seeds=1), tmp_path)
    f = tmp_path / "afile"
    f.write_text("x")
    one_line_error(nash("report", root, "--out", f), "is a file")
    assert f.read_text() == "x"


def test_score_out_pointing_at_a_directory(nash, one_line_error, tmp_path):
    one_line_error(nash("score", "nb201", "--out", tmp_path, "--limit", "1"), "ending in .csv")


def test_query_negative_index_names_the_range(nash, one_line_error):
    one_line_error(nash("query", "nb201", "-1"), "0..15624")


@pytest.mark.parametrize("args", [["list"], ["data", "status"]], ids=" ".join)
def test_a_closed_stdout_pipe_is_no_error(args):
    p = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # like `| head -1` that has already exited
    err = p.stderr.read()
    assert p.wait(60) == 0, err
    assert "BrokenPipe" not in err and "Traceback" not in err, err


@pytest.mark.slow
def test_kill_9_of_nash_report_half_way_keeps_the_previous_report(two_strategies, tmp_path):
    import os
    import signal
    import time

    root = _run(two_strategies, tmp_path)
    rep = tmp_path / "rep"
    R.build_report(root, rep, zero_cost_demo=False)

    def state() -> list[tuple[str, int]]:  # names and modification times: nothing rewritten
        return sorted((str(q.relative_to(rep)), q.stat().st_mtime_ns) for q in rep.rglob("*"))

    before = state()
    p = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "report", str(root), "--out", str(rep)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    t0 = time.monotonic()
    while not list(tmp_path.glob(f".rep.tmp-{p.pid}-*/tables/*.csv")):  # half-way
        assert p.poll() is None, "the report finished before it could be killed"
        assert time.monotonic() - t0 < 120
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    assert state() == before
    R.build_report(root, rep, zero_cost_demo=False)  # the next report removes the leftover
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".rep.")]
