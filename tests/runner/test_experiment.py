from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import ConfigError, NashError, UnknownName
from harness.runner.config import load_experiment, parse_experiment
from harness.runner.experiment import execute_run, run_experiment

BASE = {
    "name": "t",
    "seeds": 3,
    "budget": {"evaluations": 40},
    "benchmark": [{"name": "nb201", "dataset": "cifar10"}],
    "strategy": [{"name": "aging_evolution"}, {"name": "random_search"}],
}


def _frames(root: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted(root.rglob("trials.parquet"))]
    return pd.concat(parts, ignore_index=True).sort_values(["strategy", "seed", "step"])


def test_rows_identical_whatever_the_number_of_workers(tmp_path):
    exp = parse_experiment(BASE)
    a = _frames(run_experiment(exp, tmp_path / "a", workers=1, progress=False))
    b = _frames(run_experiment(exp, tmp_path / "b", workers=2, progress=False))
    cols = [c for c in a.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
    last = a.groupby(["strategy", "seed"])["cum_evals"].max()
    assert len(last) == 6 and (last == 40).all()
    # one row per evaluation with the documented fields
    for c in (
        "experiment",
        "benchmark",
        "dataset",
        "strategy",
        "config_hash",
        "seed",
        "step",
        "arch_key",
        "arch",
        "signal",
        "val",
        "reported",
        "score_s",
        "measured_s",
        "cum_evals",
        "wall_s",
        "status",
    ):
        assert c in a.columns


def test_resume_skips_finished_and_redoes_killed(tmp_path):
    exp = parse_experiment(BASE)
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    runs = sorted(root.rglob("run.json"))
    assert len(runs) == 6
    before = {p: p.stat().st_mtime_ns for p in runs}
    # simulate a killed run: its directory vanishes except a temporary leftover
    victim = runs[0].parent
    for f in victim.iterdir():
        f.unlink()
    victim.rmdir()
    (victim.parent / f".{victim.name}.tmp-abc").mkdir()
    run_experiment(exp, tmp_path, workers=1, progress=False)
    after = sorted(root.rglob("run.json"))
    assert len(after) == 6
    for p in after:
        if p.parent != victim:
            assert p.stat().st_mtime_ns == before[p]  # untouched
    assert not list(root.rglob(".*.tmp-*"))
    # the redone run equals an uninterrupted one
    again = execute_run(exp.runs()[0], str(tmp_path / "fresh"))
    assert (
        again["final_incumbent_reported"]
        == json.loads((root / exp.runs()[0].rel_dir / "run.json").read_text())[
            "final_incumbent_reported"
        ]
    )


def test_changed_config_is_not_mixed(tmp_path):
    run_experiment(parse_experiment(BASE), tmp_path, workers=1, progress=False)
    changed = parse_experiment({**BASE, "budget": {"evaluations": 41}})
    with pytest.raises(ConfigError, match="different configuration"):
        run_experiment(changed, tmp_path, workers=1, progress=False)


@pytest.mark.parametrize(
    ("patch", "err", "match"),
    [
        ({"budgt": {"evaluations": 1}}, ConfigError, "did you mean 'budget'"),
        (
            {"strategy": [{"name": "aging_evolution", "parms": {}}]},
            ConfigError,
            "did you mean 'params'",
        ),
        (
            {"strategy": [{"name": "agin_evolution"}]},
            UnknownName,
            "did you mean 'aging_evolution'",
        ),
        ({"benchmark": [{"name": "nb201", "dataset": "cifar1000"}]}, UnknownName, "cifar100"),
        (
            {"benchmark": [{"name": "nb201", "dataset": "cifar100", "fidelity": 200}]},
            NashError,
            "fidelity 12",
        ),
        ({"budget": {"evaluations": -5}}, ConfigError, "positive"),
        ({"budget": {"train_s": 1000}}, ConfigError, "training seconds"),
        (
            {"strategy": [{"name": "aging_evolution", "params": {"population_size": 99999}}]},
            ConfigError,
            "larger than the search space",
        ),
        ({"seeds": 0}, ConfigError, "seeds"),
        ({"name": "../x"}, ConfigError, "plain directory name"),
    ],
)
def test_bad_configs(patch, err, match):
    with pytest.raises(err, match=match):
        parse_experiment({**BASE, **patch})


def test_unwritable_output_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions are not enforced
            blocker = tmp_path / "file"
            blocker.write_text("x")
            target = blocker
        else:
            target = ro
        with pytest.raises(NashError, match="not writable"):
            run_experiment(parse_experiment(BASE), target, workers=1, progress=False)
    finally:
        os.chmod(ro, 0o700)


def test_shipped_experiments_parse():
    for p in sorted(Path(__file__).resolve().parents[2].glob("experiments/*.toml")):
        assert load_experiment(p).runs()


def test_max_seeds_limits_a_costly_strategy_without_changing_run_identity(tmp_path):
    cfg = {
        **BASE,
        "strategy": [{"name": "aging_evolution"}, {"name": "random_search", "max_seeds": 1}],
    }
    exp = parse_experiment(cfg)
    assert len(exp.runs()) == 3 + 1
    run_experiment(exp, tmp_path, workers=1, progress=False)
    more = parse_experiment(
        {
            **cfg,
            "strategy": [{"name": "aging_evolution"}, {"name": "random_search", "max_seeds": 2}],
        }
    )
    run_experiment(more, tmp_path, workers=1, progress=False)  # resumes: no config clash
    assert len(list(tmp_path.rglob("run.json"))) == 5


@pytest.mark.slow
def test_nb101_surrogate_benchmark_runs_the_full_space(tmp_path):
    exp = parse_experiment(
        {
            "name": "sur",
            "seeds": 1,
            "budget": {"evaluations": 30},
            "benchmark": [{"name": "nb101-surrogate", "dataset": "cifar10"}],
            "strategy": [{"name": "aging_evolution_nb101", "params": {"population_size": 10}}],
        }
    )
    root = run_experiment(exp, tmp_path, workers=1, progress=False)
    m = json.loads(next(root.rglob("run.json")).read_text())
    assert "SURROGATE" in json.dumps(m["evaluator"]).upper()
    assert m["n_evaluations_charged"] == 30
    with pytest.raises(ConfigError, match="surrogate table"):
        parse_experiment(
            {
                **exp_dict_for_surrogate(),
                "benchmark": [{"name": "nb101-surrogate", "dataset": "cifar100"}],
            }
        )


def exp_dict_for_surrogate() -> dict:
    return {
        "name": "s2",
        "seeds": 1,
        "budget": {"evaluations": 5},
        "strategy": [{"name": "random_search"}],
    }
