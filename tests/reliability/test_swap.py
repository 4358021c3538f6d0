"""A directory swap that fails half-way leaves the old directory in place, never nothing.

The second rename (the new directory into place) is made to fail, by an OSError (a full disk,
a quota) or by an interrupt (Ctrl-C, SIGTERM turned into an exception): the path must still
hold the old run or report, and no temporary directory may stay behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import NashError
from harness.runner import fsafe


def _failing_second_rename(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    real = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if ".tmp-" in Path(src).name:  # the new directory going into place
            raise exc
        real(src, dst)

    monkeypatch.setattr(fsafe.os, "replace", replace)


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_swap_keeps_the_old_directory(tmp_path, monkeypatch, exc):
    final = tmp_path / "exp" / "seed=0"
    fsafe.write_dir_atomic(tmp_path, final, {"run.json": b"old"})
    _failing_second_rename(monkeypatch, exc)
    with pytest.raises(NashError if isinstance(exc, OSError) else KeyboardInterrupt):
        fsafe.write_dir_atomic(tmp_path, final, {"run.json": b"new"})
    assert (final / "run.json").read_bytes() == b"old"
    assert sorted(p.name for p in final.parent.iterdir()) == ["seed=0"]  # nothing left over


def test_a_failed_report_swap_keeps_the_old_report(tmp_path, monkeypatch, tiny):
    from analysis.load import ResultsError
    from analysis.report import build_report
    from harness.runner.config import parse_experiment
    from harness.runner.experiment import run_experiment

    root = run_experiment(parse_experiment(tiny()), tmp_path / "runs", workers=1, progress=False)
    out = tmp_path / "rep"
    build_report(root, out, zero_cost_demo=False)
    before = (out / "report.md").read_text()
    _failing_second_rename(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(ResultsError, match="previous report"):
        build_report(root, out, zero_cost_demo=False)
    assert (out / "report.md").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "runs"]
