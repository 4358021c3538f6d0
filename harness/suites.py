"""Reproduction suites: named lists of experiment TOMLs, with a ``--quick`` variant.

The experiments themselves live in ``experiments/<suite>/*.toml`` so that every setting is
readable and editable; this module only says which belong to a suite and how ``--quick`` shrinks
them (fewer seeds, the costliest strategies capped or left out). Quick runs are the first seeds of
the full runs (same run identities), so a later full run resumes from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.errors import NashError, unknown
from harness.paths import REPO_ROOT
from harness.runner.experiment import Experiment, RunSpec, load_experiment


@dataclass(frozen=True)
class SuiteItem:
    path: str
    quick: bool = True
    quick_seeds: int = 3
    #: strategy label -> max seeds in quick mode (0 leaves the strategy out)
    quick_caps: dict[str, int] = field(default_factory=dict)


SUITES: dict[str, tuple[SuiteItem, ...]] = {
    "acceleration": (
        SuiteItem("acceleration/nb201_study.toml", quick_seeds=3, quick_caps={"nasea_gcn_val": 0}),
        SuiteItem(
            "acceleration/nb201_native.toml", quick_seeds=3, quick_caps={"nasea_gcn_val": 1}
        ),
        SuiteItem(
            "acceleration/nb201_study_noise.toml", quick_seeds=2, quick_caps={"nasea_gcn_val": 0}
        ),
        SuiteItem(
            "acceleration/nb201_native_noise.toml", quick_seeds=2, quick_caps={"nasea_gcn_val": 0}
        ),
        SuiteItem("acceleration/baselines.toml", quick_seeds=3),
        SuiteItem("acceleration/nb201_12ep.toml", quick=False),
        SuiteItem("acceleration/baselines_12ep.toml", quick=False),
        SuiteItem("acceleration/nb101_pool.toml", quick_seeds=1, quick_caps={"ga_val": 1}),
        SuiteItem(
            "acceleration/nb101_baselines.toml", quick_seeds=2, quick_caps={"neural_predictor": 1}
        ),
    ),
    "baselines": (
        SuiteItem("baselines/nb201_table5.toml", quick_seeds=30),
        SuiteItem("baselines/naswot.toml", quick_seeds=30),
        SuiteItem("baselines/nb101_150.toml", quick_seeds=10, quick_caps={"gcn_predictor": 3}),
    ),
}

#: rough seconds per run on the 2-core reference machine (used only to order submission)
_COST_HINT = {
    "nasea_gcn_val": 100.0,
    "nasea_xgb_val": 20.0,
    "nasea_xgb_naswot": 7.0,
    "ga_val": 3.0,
    "ga_naswot": 3.0,
    "neural_predictor": 5.0,
    "gcn_predictor": 10.0,
}


def run_priority(spec: RunSpec) -> float:
    base = _COST_HINT.get(spec.strategy.label, 0.5)
    if spec.benchmark.name == "nb101-30k":
        base *= 4  # NB101 hashing in every mutation
    return base


def load_suite(name: str, *, quick: bool = False, seeds: int | None = None) -> list[Experiment]:
    """The suite's experiments, shrunk for ``quick``; ``seeds`` overrides every seed count."""
    if name not in SUITES:
        raise unknown("suite", name, SUITES)
    if seeds is not None and seeds < 1:
        raise NashError(f"--seeds must be >= 1, got {seeds}")
    out = []
    for item in SUITES[name]:
        if quick and not item.quick:
            continue
        exp = load_experiment(REPO_ROOT / "experiments" / item.path)
        n_seeds = seeds if seeds is not None else (item.quick_seeds if quick else None)
        if n_seeds is not None:
            exp = replace(exp, seeds=tuple(range(n_seeds)))
        if quick:
            strategies = []
            for s in exp.strategies:
                cap = item.quick_caps.get(s.label)
                if cap == 0:
                    continue
                if cap is not None:
                    s = replace(s, max_seeds=min(cap, s.max_seeds or cap))
                strategies.append(s)
            exp = replace(exp, strategies=tuple(strategies))
        out.append(exp)
    return out


def suite_paths(name: str) -> list[Path]:
    return [REPO_ROOT / "experiments" / i.path for i in SUITES[name]]
