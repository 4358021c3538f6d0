"""The Ray engine on a local 2-CPU Ray instance that these tests start and stop themselves."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import ConfigError, UnknownName
from harness.runner.config import parse_experiment
from harness.runner.engines import LocalEngine, RayEngine, make_engine
from harness.runner.experiment import run_experiments
from harness.runner.raycluster import check_address, ray_version_hint

ray = pytest.importorskip("ray")

# columns measured on the machine (time) differ between any two executions
TIMING = {"wall_s", "measured_s", "cum_measured_s", "score_s", "cum_score_s"}


ASYNC = {
    "name": "async",
    "seeds": 1,
    "budget": {"queries": 6},
    "benchmark": [
        {
            "name": "nb201",
            "evaluator": "naswot",
            "evaluator_params": {"batch_size": 16, "num_threads": 1},
        }
    ],
    "strategy": [{"name": "random_search", "workers": 2}],
}


def test_real_async_evaluations_need_ray(tmp_path):
    # runs first in this module, before the local Ray instance exists
    assert not ray.is_initialized()
    exp = parse_experiment(ASYNC)
    with pytest.raises(
        ConfigError, match=r"real asynchronous evaluations run on Ray.*--engine ray"
    ):
        run_experiments([exp], tmp_path, progress=False, engine=LocalEngine(1))


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _frames(root: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet"))]
    df = pd.concat(parts, ignore_index=True).sort_values(
        ["bench_label", "strategy_label", "seed", "step"]
    )
    return df[[c for c in df.columns if c not in TIMING]].reset_index(drop=True)


GRID = {
    "name": "grid",
    "seeds": 3,
    "budget": {"evaluations": 60},
    "benchmark": [{"name": "nb201", "dataset": "cifar10"}, {"name": "nb101-30k"}],
    "strategy": [
        {"name": "aging_evolution"},
        {"name": "random_search"},
        {"name": "genetic", "params": {"population_size": 10}},
    ],
}


def test_ray_and_local_engines_write_identical_rows(local_ray, tmp_path):
    exp = parse_experiment(GRID)
    local = run_experiments([exp], tmp_path / "local", progress=False, engine=LocalEngine(2))
    with RayEngine() as eng:
        assert eng.describe()["cluster_cpus"] == 2
        grid = run_experiments([exp], tmp_path / "ray", progress=False, engine=eng)
    assert not grid.failed and not local.failed
    a, b = _frames(local.roots[0]), _frames(grid.roots[0])
    ends = a.groupby(["bench_label", "strategy_label", "seed"]).cum_evals.max()
    assert len(ends) == 18 and (ends == 60).all()
    pd.testing.assert_frame_equal(a, b)
    manifests = [json.loads(p.read_text()) for p in grid.roots[0].rglob("run.json")]
    assert len(manifests) == 18 and all(m["attempts"] == 1 for m in manifests)
    # resume: a second call finds everything done and computes nothing
    with RayEngine() as eng:
        again = run_experiments([exp], tmp_path / "ray", progress=False, engine=eng)
    assert not again.failed
    assert sorted(
        json.loads(p.read_text())["end"] for p in grid.roots[0].rglob("run.json")
    ) == sorted(m["end"] for m in manifests)


# real NASWOT scoring (cache off): each run takes seconds, long enough to kill its worker
SLOW = {
    "name": "slow",
    "seeds": 3,
    "budget": {"queries": 30},
    "benchmark": [
        {
            "name": "nb201",
            "evaluator": "naswot",
            "evaluator_params": {"cache": "off", "batch_size": 16, "num_threads": 1},
        }
    ],
    "strategy": [{"name": "random_search"}],
}


def _kill_first_running(eng: RayEngine, timeout: float = 60.0) -> str:
    t0 = time.time()
    while time.time() - t0 < timeout:
        running = eng.running()
        if running:
            rid, info = sorted(running.items())[0]
            os.kill(info["pid"], signal.SIGKILL)
            return rid
        time.sleep(0.05)
    raise AssertionError("no run started within the timeout")


def _run_in_thread(exp, out, eng):
    box: dict[str, object] = {}

    def target() -> None:
        box["grid"] = run_experiments([exp], out, progress=False, engine=eng)

    th = threading.Thread(target=target)
    th.start()
    return th, box


def test_a_killed_worker_is_retried_and_nothing_is_lost(local_ray, tmp_path):
    exp = parse_experiment(SLOW)
    with RayEngine(max_retries=2) as eng:
        th, box = _run_in_thread(exp, tmp_path / "ray", eng)
        killed = _kill_first_running(eng)
        th.join(timeout=300)
    grid = box["grid"]
    assert not grid.failed
    manifests = {
        f"slow/{p.parent.relative_to(grid.roots[0])}": json.loads(p.read_text())
        for p in grid.roots[0].rglob("run.json")
    }
    assert len(manifests) == 3
    assert manifests[killed]["attempts"] == 2
    assert sum(m["attempts"] for m in manifests.values()) == 4
    local = run_experiments([exp], tmp_path / "local", progress=False, engine=LocalEngine(1))
    pd.testing.assert_frame_equal(_frames(local.roots[0]), _frames(grid.roots[0]))


def test_a_run_killed_more_often_than_retries_is_recorded_failed(local_ray, tmp_path):
    exp = parse_experiment(SLOW)
    with RayEngine(max_retries=0) as eng:
        th, box = _run_in_thread(exp, tmp_path, eng)
        killed = _kill_first_running(eng)
        th.join(timeout=300)
    grid = box["grid"]
    assert [s.run_id for s, _ in grid.failed] == [killed]
    run_dir = tmp_path / killed
    info = json.loads((run_dir / "failed.json").read_text())
    assert "worker died" in info["error"] and info["attempts"] == 1
    assert not (run_dir / "run.json").exists()
    assert len(list(grid.roots[0].rglob("run.json"))) == 2  # the others finished
    # the next invocation retries only the failed run and replaces its failure record
    again = run_experiments([exp], tmp_path, progress=False, engine=LocalEngine(1))
    assert not again.failed
    assert (run_dir / "run.json").exists() and not (run_dir / "failed.json").exists()


def test_real_evaluations_run_as_ray_tasks_inside_one_run(local_ray, tmp_path):
    exp = parse_experiment(ASYNC)
    with RayEngine() as eng:
        grid = run_experiments([exp], tmp_path, progress=False, engine=eng)
    assert not grid.failed
    (mf,) = grid.roots[0].rglob("run.json")
    assert json.loads(mf.read_text())["executor"] == "ray"
    df = pd.read_parquet(mf.parent / "trials.parquet")
    search = df[df.phase == "search"]
    assert search.cum_evals.iloc[-1] == 0 and len(search) == 6  # proxies: no training charged
    assert set(search.worker) == {0, 1}
    assert search.clock_s.is_monotonic_increasing and (search.clock_s > 0).all()
    # the same cells as the sequential run of the same seed (random search ignores results)
    seq = parse_experiment({**ASYNC, "strategy": [{"name": "random_search"}]})
    root = run_experiments([seq], tmp_path / "seq", progress=False, engine=LocalEngine(1)).roots[0]
    (sq,) = root.rglob("trials.parquet")
    s = pd.read_parquet(sq)
    assert sorted(s[s.phase == "search"].arch_key) == sorted(search.arch_key)


def test_gpus_the_cluster_does_not_have_are_refused(local_ray, tmp_path):
    raw = {**ASYNC, "strategy": [{"name": "random_search", "workers": 2, "gpus_per_eval": 1}]}
    exp = parse_experiment(raw)
    with RayEngine() as eng, pytest.raises(ConfigError, match=r"asks for 1 GPU.*cluster has 0"):
        run_experiments([exp], tmp_path, progress=False, engine=eng)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_or_malformed_addresses_are_clear_errors():
    port = _closed_port()
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=f"cannot reach a Ray cluster at 127.0.0.1:{port}"):
        make_engine("ray", address=f"127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 10
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        check_address("headnode")
    with pytest.raises(ConfigError, match="--address is for --engine ray"):
        make_engine("local", address="10.0.0.1:6379")
    with pytest.raises(UnknownName, match="unknown engine 'dask'"):
        make_engine("dask")


def test_version_mismatch_message_names_both_sides_and_the_fix():
    msg = ray_version_hint("Version mismatch: The cluster was started with:\n Ray: 2.9.0")
    assert ray.__version__ in msg and "2.9.0" not in msg.split(":")[0]
    assert "pip install 'ray==<cluster version>'" in msg


def test_cli_run_with_the_ray_engine(tmp_path):
    import subprocess
    import sys

    toml = tmp_path / "e.toml"
    toml.write_text(
        'name = "cli"\nseeds = 2\n[budget]\nevaluations = 20\n'
        '[[benchmark]]\nname = "nb201"\n[[strategy]]\nname = "random_search"\n'
    )
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(toml), "--out", str(tmp_path / "o"),
         "--engine", "ray", "--workers", "2", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(list((tmp_path / "o" / "cli").rglob("run.json"))) == 2
    port = _closed_port()
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(toml), "--out", str(tmp_path / "o"),
         "--engine", "ray", "--address", f"127.0.0.1:{port}"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "cannot reach a Ray cluster" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2
