"""docs/EXTENDING.md is executed: its files are written and its commands run, as documented."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "EXTENDING.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(DOC.read_text())]


def _run(cmd: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    m = re.match(r"((?:\w+=\S+\s+)*)(.*)", cmd)
    assert m
    extra = dict(kv.split("=", 1) for kv in m.group(1).split())
    if "PYTHONPATH" in extra:  # relative to the scratch dir, then the plug-in module itself
        extra["PYTHONPATH"] = f"{cwd / extra['PYTHONPATH']}{os.pathsep}{env['PYTHONPATH']}"
    argv = shlex.split(m.group(2))
    if argv[0] == "nash":
        argv = [sys.executable, "-m", "harness.cli", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    return subprocess.run(
        argv, cwd=cwd, env={**env, **extra}, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_extending_guide_runs_as_written(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    outputs = {}
    for lang, body in _blocks():
        first, _, rest = body.partition("\n")
        if first.startswith("# file: "):
            (tmp_path / first.removeprefix("# file: ").strip()).write_text(rest)
            continue
        if lang == "bash":
            for line in body.strip().splitlines():
                r = _run(line, tmp_path, env)
                assert r.returncode == 0, f"{line}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
                outputs[line] = r.stdout + r.stderr
    assert any("plug-ins pass the contract kits" in o for o in outputs.values())
    # the run: 2 benchmarks x 2 strategies x 4 seeds, and regret against the table's optimum
    runs = list((tmp_path / "runs" / "my_first_experiment").rglob("run.json"))
    assert len(runs) == 16
    m = json.loads(runs[0].read_text())
    assert "my_nas_plugins" in json.dumps(m["config"])
    import pandas as pd

    def rows(root: str) -> pd.DataFrame:
        files = sorted((tmp_path / root / "my_first_experiment").rglob("trials.parquet"))
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        return df[[c for c in df.columns if not any(k in c for k in ("measured", "wall"))]]

    pd.testing.assert_frame_equal(rows("runs"), rows("runs-ray"))  # Ray == local pool
    report = (tmp_path / "report" / "report.md").read_text()
    assert "regret" in report.lower()
    assert (tmp_path / "predictors").is_dir()
    listing = next(o for k, o in outputs.items() if k.endswith("nash list"))
    for name in ("my-nb201-12ep", "nb201-nopool", "greedy_mutation", "knn"):
        assert name in listing, name
