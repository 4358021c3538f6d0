"""The hardware report from real (small) runs: true fronts, regrets, tests, figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.runner.config import parse_experiment
from harness.runner.experiment import run_experiment

OBJ = [
    {"metric": "val_acc@200", "direction": "max"},
    {"metric": "hw_fpga_latency", "direction": "min"},
]


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("hw")
    strategies = [
        {"name": "nsga2", "params": {"population_size": 10}},
        {"name": "mo_random_search"},
        {"name": "scalarized", "label": "rea_cheb", "params": {"inner": "aging_evolution"}},
    ]
    dev = parse_experiment(
        {
            "name": "hw_small",
            "seeds": 3,
            "budget": {"evaluations": 40},
            "benchmark": [
                {
                    "name": "nb201",
                    "label": "fpga",
                    "objectives": OBJ,
                    "reference_point": [0.0, 9.0],
                }
            ],
            "strategy": strategies,
        }
    )
    con = parse_experiment(
        {
            "name": "hw_small_con",
            "seeds": 3,
            "budget": {"evaluations": 40},
            "benchmark": [{"name": "nb201", "label": "fpga-2ms", "objectives": OBJ}],
            "strategy": [
                strategies[0],
                {
                    "name": "scalarized",
                    "label": "rea_capped",
                    "params": {"inner": "aging_evolution", "weights": [1.0, 0.0]},
                    "constraints": [{"metric": "hw_fpga_latency", "max": 2.0}],
                },
            ],
        }
    )
    return [run_experiment(e, out / "runs", workers=1, progress=False) for e in (dev, con)]


def _true_hv_fpga(ref: tuple[float, float], acc_metric: str = "val_acc@200") -> float:
    """Normalised HV of NB201's (cifar10 val_acc@200 up, FPGA latency down) front, by a
    staircase sweep over all cells: independent of the report's pymoo-based code."""
    from harness.benchmarks import nb201 as t201

    t = t201.load()
    acc = np.asarray(t.column("cifar10", acc_metric), float)
    lat = np.asarray(t.column("cifar10", "hw_fpga_latency"), float)
    ok = np.isfinite(acc) & np.isfinite(lat) & (lat >= 0)  # -1: no measurement
    acc, lat = acc[ok], lat[ok]
    ideal = (acc.max(), lat.min())
    f1 = (acc - ideal[0]) / (ref[0] - ideal[0])  # 0 at the ideal, 1 at the reference
    f2 = (lat - ideal[1]) / (ref[1] - ideal[1])
    keep = (f1 < 1) & (f2 < 1)
    order = np.lexsort((f2[keep], f1[keep]))
    x, y = f1[keep][order], f2[keep][order]
    hv, best = 0.0, 1.0
    for i in range(len(x)):
        if y[i] < best:  # a new step of the staircase, up to the next point's x
            best = y[i]
        nxt = x[i + 1] if i + 1 < len(x) else 1.0
        hv += (nxt - x[i]) * (1.0 - best)
    return hv


def test_report_states_regret_and_significance(roots: list[Path], tmp_path: Path) -> None:
    from analysis.hardware_report import write_hardware_report

    path = write_hardware_report(roots, tmp_path, quick=True)
    text = path.read_text()
    for lab in ("nsga2", "mo_random_search", "rea_cheb", "rea_capped"):
        assert lab in text
    assert "## Which differences are significant?" in text and "true HV" in text
    fin = pd.read_csv(tmp_path / "final_indicators.csv")
    assert len(fin) == 3 * 3 + 2 * 3
    assert (fin["hv_regret"] >= -1e-12).all() and (fin["hv"] > 0).all()
    # the true front's HV (hv + regret), against a hand-written 2-D sweep over every cell
    fpga = fin[fin["setting"].astype(str).str.endswith("fpga")]
    assert len(fpga) == 9
    true_hv = _true_hv_fpga(ref=(0.0, 9.0))
    assert (fpga["hv"] + fpga["hv_regret"]).to_numpy() == pytest.approx(true_hv, abs=1e-9)
    assert 0.5 < true_hv < 1.0
    # search on validation, report test: the validation-chosen fronts judged on test
    assert "### The same fronts on test accuracy" in text
    tst = pd.read_csv(tmp_path / "final_indicators_test.csv")
    assert set(tst["test_metric"]) == {"test_acc@200"} and len(tst) == 9  # device settings
    assert (tst["test_hv_regret"] >= -1e-12).all() and (tst["test_hv"] > 0).all()
    assert tst["true_test_hv"].to_numpy() == pytest.approx(
        _true_hv_fpga(ref=(0.0, 9.0), acc_metric="test_acc@200"), abs=1e-9
    )
    con = pd.read_csv(tmp_path / "constrained.csv")
    assert (con["regret"] >= 0).all() and set(con["strategy_label"]) == {"nsga2", "rea_capped"}
    for stem in ("fronts", "anytime_hv_regret", "cd_hv"):
        assert (tmp_path / "figures" / f"{stem}.pdf").stat().st_size > 0
        assert (tmp_path / "figures" / f"{stem}.png").stat().st_size > 0


def test_the_hardware_suite_is_defined() -> None:
    from harness.suites import load_suite

    exps = load_suite("hardware", quick=True)
    assert [e.name for e in exps] == [
        "hw_nb201_cifar10",
        "hw_nb201_constrained",
        "hw_analognas_drift",
    ]
    devices = {b.objectives["objectives"][1]["metric"] for b in exps[0].benchmarks}
    assert devices == {
        f"hw_{d}_latency" for d in ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
    }
    assert all(len(e.seeds) == 3 for e in exps)
    full = load_suite("hardware")
    assert all(len(e.seeds) == 30 for e in full)
    assert len({s.budget for e in full for s in e.strategies}) == 1  # equal budgets
