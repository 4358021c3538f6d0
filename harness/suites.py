"""Reproduction suites: named lists of experiment TOMLs, with a ``--quick`` variant.

The experiments themselves live in ``harness/experiments/<suite>/*.toml`` (package data, so an
installed ``nash`` finds them from any working directory; ``experiments/`` in a checkout points
there) so that every setting is readable and editable; this module only says which belong to a
suite and how ``--quick`` shrinks them (fewer seeds, the costliest strategies capped or left
out). Quick runs are the first seeds of the full runs (same run identities), so a later full run
resumes from them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import NashError, unknown
from harness.runner.config import Experiment, RunSpec, load_experiment


def experiments_dir() -> Path:
    """The shipped experiment TOMLs: package data of ``harness`` (a checkout or a wheel alike)."""
    return Path(str(resources.files("harness") / "experiments"))


#: the gate of the NB101 settings with NASWOT fitness (about 6 CPU-seconds per new cell)
NB101_NASWOT = "nb101-naswot"
#: the gate of whole experiments too costly for the default run (``--with-model-based``: the
#: model-based NB101 150-query ordering, minutes per BANANAS / GP-BO run, and the NB201
#: multi-fidelity comparison behind the report's anytime figure on charged cost)
MODEL_BASED = "model-based"
GATES = (NB101_NASWOT, MODEL_BASED)


@dataclass(frozen=True)
class SuiteItem:
    path: str
    quick: bool = True
    quick_seeds: int = 3
    #: strategy label -> max seeds in quick mode (0 leaves the strategy out)
    quick_caps: dict[str, int] = field(default_factory=dict)
    #: strategy label -> gate: such strategies run only where the gate is open (see
    #: :func:`resolve_suite`): costly settings that need a GPU, a score cache or a flag
    gated: dict[str, str] = field(default_factory=dict)
    #: a gate for the whole experiment: it runs only where that gate is open
    gate: str | None = None


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
        SuiteItem(
            "acceleration/nb101_pool.toml",
            quick_seeds=1,
            quick_caps={"ga_val": 1},
            gated={"ga_naswot": NB101_NASWOT, "nasea_xgb_naswot": NB101_NASWOT},
        ),
        SuiteItem(
            "acceleration/nb101_baselines.toml", quick_seeds=2, quick_caps={"neural_predictor": 1}
        ),
        SuiteItem("acceleration/nb101_surrogate.toml", quick_seeds=1),
        SuiteItem("acceleration/nb101_surrogate_baselines.toml", quick_seeds=2),
    ),
    "baselines": (
        SuiteItem("baselines/nb201_table5.toml", quick_seeds=30),
        SuiteItem("baselines/nb201_table5_bohb.toml", quick_seeds=5),
        SuiteItem("baselines/naswot.toml", quick_seeds=30),
        SuiteItem("baselines/nb101_150.toml", quick_seeds=10, quick_caps={"gcn_predictor": 3}),
        SuiteItem("baselines/nb101_150_model_based.toml", quick=False, gate=MODEL_BASED),
        SuiteItem("baselines/nb101_150_model_based_surrogate.toml", quick=False, gate=MODEL_BASED),
        SuiteItem("baselines/multi_fidelity_nb201.toml", quick=False, gate=MODEL_BASED),
    ),
    "hardware": (
        SuiteItem("hardware/devices.toml", quick_seeds=3),
        SuiteItem("hardware/constrained.toml", quick_seeds=3),
        SuiteItem("hardware/analognas.toml", quick_seeds=3),
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
    "bohb": 5.0,
    "bananas": 20.0,
    "gp_bo": 75.0,
    "tpe": 100.0,
}


def run_priority(spec: RunSpec) -> float:
    """Submission order, larger first: costly runs first (they bound the wall time), except
    that the opt-in experiments (a gate of their own) run after every other run, cheapest
    first, so an interrupted opt-in part leaves the default suite complete and the opt-in
    strategies each with some finished seeds."""
    base = _COST_HINT.get(spec.strategy.label, 0.5)
    from harness.benchmarks import get_benchmark

    base *= get_benchmark(spec.benchmark.name).cost_hint
    if (spec.strategy.evaluator or spec.benchmark.evaluator) == "naswot":
        base *= 100  # real NASWOT scoring of every new cell
    if spec.experiment in _opt_in_experiments():
        return -base
    return base


@functools.cache
def _opt_in_experiments() -> frozenset[str]:
    return frozenset(
        load_experiment(experiments_dir() / i.path).name
        for items in SUITES.values()
        for i in items
        if i.gate is not None
    )


def load_suite(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    gates: Collection[str] | None = None,
) -> list[Experiment]:
    """The suite's experiments, shrunk for ``quick``; ``seeds`` overrides every seed count.

    ``gates``: the open gates; gated strategies behind a closed gate are left out (None: every
    gate open, the suite as written).
    """
    if name not in SUITES:
        raise unknown("suite", name, SUITES)
    if seeds is not None and seeds < 1:
        raise NashError(f"--seeds must be >= 1, got {seeds}")
    out = []
    for item in SUITES[name]:
        if quick and not item.quick:
            continue
        if item.gate is not None and gates is not None and item.gate not in gates:
            continue
        exp = load_experiment(experiments_dir() / item.path)
        n_seeds = seeds if seeds is not None else (item.quick_seeds if quick else None)
        if n_seeds is not None:
            exp = replace(exp, seeds=tuple(range(n_seeds)))
        strategies = []
        for s in exp.strategies:
            gate = item.gated.get(s.label)
            if gate is not None and gates is not None and gate not in gates:
                continue
            if quick:
                cap = item.quick_caps.get(s.label)
                if cap == 0:
                    continue
                if cap is not None:
                    s = replace(s, max_seeds=min(cap, s.max_seeds or cap))
            strategies.append(s)
        if strategies:
            out.append(replace(exp, strategies=tuple(strategies)))
    return out


def gated_strategies(name: str, gate: str) -> dict[str, set[str]]:
    """Experiment name -> labels of its strategies behind ``gate``."""
    out: dict[str, set[str]] = {}
    for item in SUITES[name]:
        labels = {lab for lab, g in item.gated.items() if g == gate}
        if labels:
            out[load_experiment(experiments_dir() / item.path).name] = labels
    return out


# -- gates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateDecision:
    """Whether a gated setting ran, and how (written into the report's timing section)."""

    gate: str
    #: "gpu" / "flag": computed (GPU found / flag given); "cache": only runs whose every score
    #: was already cached (or which had finished before); "off": nothing to run
    mode: str
    runs_total: int
    runs_included: int
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "mode": self.mode,
            "runs_total": self.runs_total,
            "runs_included": self.runs_included,
            "note": self.note,
        }


@contextmanager
def _env(key: str, value: str) -> Iterator[None]:
    old = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _seed(spec: RunSpec) -> int:
    return spec.seed


def _from_cache(
    exp: Experiment, labels: set[str], runs_dir: Path
) -> tuple[Experiment, int, int, int]:
    """Run the gated strategies' unfinished runs with cache-only scoring, in this process.

    A run that meets an uncached cell stops at once (nothing is written); a run whose every
    score is committed or cached completes and is written like any run. Returns the
    experiment restricted to the gated strategies' leading seeds that are finished now (so the
    suite never computes a score for them), the runs in total, the runs included, and how many
    of those had finished before (the rest completed now from cached scores).
    """
    from harness.evaluators.zero_cost import CACHE_ONLY_ENV, ScoreCacheMiss
    from harness.runner.experiment import execute_run

    gated = replace(exp, strategies=tuple(s for s in exp.strategies if s.label in labels))
    root = Path(runs_dir) / exp.name
    runs = gated.runs()
    strategies = []
    included = before = 0
    with _env(CACHE_ONLY_ENV, "1"):
        for s in gated.strategies:
            lead = 0
            for spec in sorted((r for r in runs if r.strategy.label == s.label), key=_seed):
                if (root / spec.rel_dir / "run.json").exists():  # the runner checks it
                    before += 1
                else:
                    try:
                        execute_run(spec, str(root))
                    except ScoreCacheMiss:
                        break  # later seeds would not be reported anyway (leading seeds only)
                lead += 1
            if lead:
                strategies.append(replace(s, max_seeds=lead))
                included += lead
    return replace(gated, strategies=tuple(strategies)), len(runs), included, before


def resolve_suite(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    with_nb101_naswot: bool = False,
    with_model_based: bool = False,
    runs_dir: Path,
    gpu: bool | None = None,
) -> tuple[list[Experiment], list[GateDecision]]:
    """The suite's experiments with each gate decided, and the decisions (for the report).

    The NB101 NASWOT gate is open with ``with_nb101_naswot`` (``--with-nb101-naswot``) or when
    torch sees a GPU (``gpu``; None: ask torch). Closed, its runs go ahead only from the score
    cache: each unfinished run is tried with cache-only scoring, and only runs that complete
    (every score committed or cached, e.g. by an earlier run with the flag) are reported; a
    run that would compute a score is left out, so the suite never spends CPU-hours unasked.
    The model-based gate is open with ``with_model_based`` only (``--with-model-based``); its
    decision is reported where the suite has such experiments and the run is not ``quick``.
    """
    if gpu is None:
        import torch

        gpu = bool(torch.cuda.is_available())
    gated = gated_strategies(name, NB101_NASWOT) if name in SUITES else {}
    is_open = bool(gpu or with_nb101_naswot)
    opened = (NB101_NASWOT,) * is_open + (MODEL_BASED,) * with_model_based
    exps = load_suite(name, quick=quick, seeds=seeds, gates=opened)
    decisions = _model_based_decision(name, quick, seeds, with_model_based)
    if not gated:
        return exps, decisions
    full = {e.name: e for e in load_suite(name, quick=quick, seeds=seeds, gates=GATES)}
    total = sum(
        len([r for r in full[n].runs() if r.strategy.label in labels])
        for n, labels in gated.items()
        if n in full
    )
    enable = "enable with `--with-nb101-naswot` (about 6 CPU-s per new cell) or run on a GPU"
    if is_open:
        how = "a GPU (torch.cuda)" if gpu else "--with-nb101-naswot"
        note = f"computed: NASWOT scores of new cells computed on {how}; scores are cached"
        flag = GateDecision(NB101_NASWOT, "gpu" if gpu else "flag", total, total, note)
        return exps, [flag, *decisions]
    included = before = 0
    by_name = {e.name: i for i, e in enumerate(exps)}
    for n, labels in gated.items():
        if n not in full:
            continue
        part, _, k, b = _from_cache(full[n], labels, runs_dir)
        included += k
        before += b
        if not part.strategies:
            continue
        if n in by_name:
            e = exps[by_name[n]]
            exps[by_name[n]] = replace(e, strategies=e.strategies + part.strategies)
        else:
            exps.append(part)
    if included == 0:
        note = f"not run: no run completes from the NASWOT score cache; {enable}"
        mode = "off"
    else:
        note = (
            f"from the score cache: {included} of {total} runs included ({before} finished "
            f"in an earlier invocation, {included - before} completed now from cached scores "
            f"only); the others would compute scores and were left out; {enable}"
        )
        mode = "cache"
    return exps, [GateDecision(NB101_NASWOT, mode, total, included, note), *decisions]


def _model_based_decision(
    name: str, quick: bool, seeds: int | None, with_model_based: bool
) -> list[GateDecision]:
    items = [i for i in SUITES.get(name, ()) if i.gate == MODEL_BASED and not quick]
    if not items:
        return []
    exps = [load_experiment(experiments_dir() / i.path) for i in items]
    if seeds is not None:
        exps = [replace(e, seeds=tuple(range(seeds))) for e in exps]
    total = sum(len(e.runs()) for e in exps)
    if with_model_based:
        return [GateDecision(MODEL_BASED, "flag", total, total, "computed: --with-model-based")]
    note = "not run: enable with `--with-model-based` (minutes per BANANAS / GP-BO run)"
    return [GateDecision(MODEL_BASED, "off", total, 0, note)]


def suite_paths(name: str) -> list[Path]:
    return [experiments_dir() / i.path for i in SUITES[name]]


def experiment_path(path: str | Path) -> Path:
    """``path`` as given when it exists; else an ``experiments/...`` path read from the shipped
    experiments, so the README's ``nash run experiments/X.toml`` works from any directory."""
    p = Path(path)
    if p.exists() or p.is_absolute() or not p.parts or p.parts[0] != "experiments":
        return p
    shipped = experiments_dir().joinpath(*p.parts[1:])
    return shipped if shipped.exists() else p
