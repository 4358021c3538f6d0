"""The built wheel, installed outside the checkout, runs ``nash`` from any working directory.

Offline by construction: the wheel is built without build isolation (the current environment's
setuptools) and installed with ``--no-deps --no-index`` into a fresh venv that sees this
environment's packages through a ``.pth`` line, so only the project itself comes from the wheel.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness.paths import data_roots

ROOT = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip"]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    r = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


@pytest.mark.slow
def test_wheel_installs_and_reproduces_from_another_directory(tmp_path):
    data = next((r for r in data_roots() if (r / "nb201").is_dir()), None)
    if data is None:
        pytest.skip("no benchmark data found")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["NASH_DATA_DIR"] = str(data.resolve())
    wheels = tmp_path / "wheels"
    out = _run(
        [
            *PIP,
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(wheels),
        ],
        tmp_path,
        env,
        300,
    )
    # a quiet build: no page of setuptools deprecation warnings
    assert "Warning" not in out and "deprecated" not in out, out
    (wheel,) = wheels.glob("nasbench_harness-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env, 120)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # this environment's packages (numpy, torch, ...) after the venv's own
    (site / "_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [*PIP, "--python", str(py), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        tmp_path,
        env,
        300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(py), "-c", "import harness; print(harness.__file__)"], work, env, 60)
    assert str(venv) in where and str(ROOT) not in where, where
    nash = str(venv / "bin" / "nash")
    assert "nb201" in _run([nash, "list", "benchmarks"], work, env, 120)
    # the smallest real suite (about 20 runs, a minute on 2 busy cores); `nash reproduce
    # acceleration --quick --seeds 1` loads from the same package data but takes minutes
    out = _run(
        [nash, "reproduce", "baselines", "--quick", "--seeds", "1", "--no-progress"],
        work,
        env,
        600,
    )
    report = work / "reports" / "baselines" / "report.md"
    assert report.is_file(), out
    text = report.read_text()
    # one run per row decides nothing: every NB201 row is inconclusive, however many rows
    rows = re.search(r"## NB201 rows \((\d+) inconclusive of (\d+)\)", text)
    assert rows is not None and rows[1] == rows[2] and int(rows[2]) >= 18, text[:2000]
    assert "`nash reproduce baselines`" in text  # ... and names the command that does
    # the acceleration suite's experiments load from package data too (no runs)
    probe = "from harness.suites import load_suite; print(len(load_suite('acceleration')))"
    assert _run([str(py), "-c", probe], work, env, 120).strip() == "11"
    # the shipped experiment files are package data, so the README's `nash run` path works
    out = _run(
        [nash, "run", "experiments/nb201_rea_vs_rs.toml", "--seeds", "1", "--no-progress"],
        work,
        env,
        300,
    )
    assert (work / "reports" / "runs" / "nb201_rea_vs_rs").is_dir(), out
    # where no data can be found, one line says where it looked (exit 2, nothing written)
    bare = {
        **env,
        "NASH_DATA_DIR": str(tmp_path / "no-data"),
        "NASH_CACHE_DIR": str(tmp_path / "c"),
    }
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    r = subprocess.run(
        [nash, "reproduce", "baselines", "--quick", "--seeds", "1", "--no-progress"],
        cwd=nowhere,
        env=bare,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 2, r.stderr
    assert "looked in" in r.stderr and str(tmp_path / "no-data") in r.stderr, r.stderr
    assert not (nowhere / "reports" / "baselines" / "report.md").exists()
