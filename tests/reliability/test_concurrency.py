"""One writer per experiment directory; another process's temporary files are never removed;
a run counts as finished only when its files check out.

Before: two ``nash run`` of one experiment into one ``--out`` computed every run twice; nine
started 1.5 s apart crashed six of them (one cleaned the other's temporary directory); a
truncated ``trials.parquet`` was taken as a finished run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import NashError
from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment
from harness.runner.fsafe import DirectoryLock


def _rows(root: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet"))]
    df = pd.concat(parts, ignore_index=True)
    return df.drop(columns=["wall_s"]).sort_values(["seed", "step"]).reset_index(drop=True)


def test_a_second_run_into_a_locked_directory_names_the_holder(
    nash, one_line_error, tiny_toml, tmp_path
):
    exp_dir = tmp_path / "out" / "tiny"
    exp_dir.mkdir(parents=True)
    with DirectoryLock(exp_dir):
        r = nash("run", tiny_toml, "--out", tmp_path / "out", "--no-progress")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"pid {os.getpid()}" in r.stderr and "being written by" in r.stderr
    assert not list(exp_dir.rglob("run.json"))  # nothing computed twice
    assert nash("run", tiny_toml, "--out", tmp_path / "out", "--no-progress").returncode == 0


def test_the_lock_dies_with_its_holder(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from harness.runner.fsafe import DirectoryLock;"
            f"DirectoryLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(NashError, match=f"pid {holder.pid}"):
            DirectoryLock(tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        DirectoryLock(tmp_path).acquire().release()  # kill -9 released it
    finally:
        holder.kill()
        holder.wait()


def test_leftovers_of_a_live_process_are_kept_dead_ones_removed(tiny, tmp_path):
    exp = parse_experiment(tiny(seeds=1))
    bench = tmp_path / "tiny" / "nb201-cifar10" / "rs"
    bench.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        live_tmp = bench / f".seed=0.tmp-{sleeper.pid}-abc"
        dead_tmp = bench / f".seed=0.tmp-{dead.pid}-abc"
        old_style = bench / ".seed=1.tmp-xyz"  # written before temporary names carried a pid
        for d in (live_tmp, dead_tmp, old_style):
            d.mkdir()
            (d / "trials.parquet").write_bytes(b"partial")
        run_experiment(exp, tmp_path, workers=1, progress=False)
        assert live_tmp.is_dir()
        assert not dead_tmp.exists() and not old_style.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.slow
def test_concurrent_runs_of_one_experiment_never_crash_nor_compute_twice(tiny_toml, tmp_path):
    # 20 runs of 4,000 evaluations (several seconds on one worker, even on an idle machine):
    # the first process is still writing when the others start
    text = tiny_toml.read_text().replace("seeds = 2", "seeds = 20")
    tiny_toml.write_text(text.replace("evaluations = 5", "evaluations = 4000"))
    out = tmp_path / "out"

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "run",
                str(tiny_toml),
                "--out",
                str(out),
                "--no-progress",
                "--workers",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = start()
    t0 = time.monotonic()
    while not list(out.glob("tiny/*/*/seed=*/run.json")):
        assert first.poll() is None and time.monotonic() - t0 < 120, first.communicate()
        time.sleep(0.02)
    others = []
    for _ in range(4):
        others.append(start())
        time.sleep(0.3)
    for p in others:
        _out, err = p.communicate(timeout=120)
        assert "Traceback" not in err, err
        assert p.returncode == 2, (p.returncode, err)  # refused: nothing computed twice
        assert f"pid {first.pid}" in err and "being written by" in err, err
    _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert len(list((out / "tiny").glob("*/*/seed=*/run.json"))) == 20
    ref = tmp_path / "ref"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            str(tiny_toml),
            "--out",
            str(ref),
            "--no-progress",
            "--workers",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    pd.testing.assert_frame_equal(_rows(out / "tiny"), _rows(ref / "tiny"))


@pytest.mark.parametrize(
    "damage",
    [
        "truncate trials",
        "empty trials",
        "delete trials",
        "garble run.json",
        "run.json no hash",
        "flip a byte",
    ],
)
def test_damaged_runs_are_computed_again(tiny, tmp_path, capsys, damage):
    exp = parse_experiment(tiny(seeds=1))
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    before = _rows(root)
    run_dir = root / "nb201-cifar10" / "rs" / "seed=0"
    tp, mf = run_dir / "trials.parquet", run_dir / "run.json"
    data = tp.read_bytes()
    if damage == "truncate trials":
        tp.write_bytes(data[: len(data) // 2])
    elif damage == "empty trials":
        tp.write_bytes(b"")
    elif damage == "delete trials":
        tp.unlink()
    elif damage == "garble run.json":
        mf.write_text(mf.read_text()[:40])
    elif damage == "run.json no hash":
        mf.write_text(json.dumps({"name": "stray"}))
    else:
        b = bytearray(data)
        b[len(b) // 3] ^= 0xFF
        tp.write_bytes(bytes(b))
    capsys.readouterr()
    run_experiment(exp, tmp_path, workers=1, progress=False)
    assert "damaged files are computed again" in capsys.readouterr().err
    pd.testing.assert_frame_equal(_rows(root), before)


def test_runs_written_before_digests_were_recorded_still_resume(tiny, tmp_path, capsys):
    exp = parse_experiment(tiny(seeds=1))
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    (mf,) = root.rglob("run.json")
    m = json.loads(mf.read_text())
    del m["trials_bytes"], m["trials_sha256"]
    mf.write_text(json.dumps(m))
    capsys.readouterr()
    run_experiment(exp, tmp_path, workers=1, progress=False)
    assert "damaged" not in capsys.readouterr().err
    assert "trials_sha256" not in json.loads(mf.read_text())  # kept, not recomputed
