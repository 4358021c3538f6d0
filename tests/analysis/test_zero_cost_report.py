"""The zero-cost report and its CLI: written from committed tables, caveats named, bad input."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.zero_cost_report import (
    CAVEAT,
    correlation,
    search_table,
    write_zero_cost_report,
)
from harness.benchmarks.nb201 import NB201Tables

ROOT = Path(__file__).resolve().parents[2]


def nash(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_correlation_ranks_minus_inf_lowest() -> None:
    x = np.array([1.0, 2.0, 3.0, -np.inf, np.nan])
    y = np.array([2.0, 3.0, 4.0, 1.0, 9.0])
    c = correlation(x, y)
    assert c["n"] == 4 and c["rho"] == pytest.approx(1.0) and c["tau"] == pytest.approx(1.0)
    assert math.isnan(correlation(x[:2], y[:2])["rho"])


def test_search_table_picks_the_best_score(tables: NB201Tables) -> None:
    val = np.asarray(tables.column("cifar10", "test_acc@200"), float)
    # an oracle score finds the best test accuracy of its draws: never below a random cell
    st = search_table({"oracle": val}, {"oracle": np.arange(15625)}, tables, runs=50, seed=0)
    assert list(st["N"]) == ["10", "100", "1000"]
    means = [float(v.split(" ± ")[0]) for v in st["oracle: cifar10"]]
    assert means[0] < means[1] < means[2] <= 94.37


def test_report_is_written_with_the_caveat(tmp_path: Path) -> None:
    path = write_zero_cost_report(tmp_path / "zc", runs=30, figures=True)
    text = path.read_text()
    assert CAVEAT == "scores on CIFAR-10 images"
    assert "cifar100 (scores on CIFAR-10 images)" in text
    assert "imagenet16_120 (scores on CIFAR-10 images)" in text
    assert "naslib_acc_test_split_one_seed" in text
    assert "Ours vs published `zc_nwot`" in text
    assert "NASWOT search" in text and "92.96 ± 0.81" in text  # the paper's row beside ours
    assert (tmp_path / "zc" / "naswot_vs_val_acc.png").stat().st_size > 0
    corr = pd.read_csv(tmp_path / "zc" / "naswot_correlations.csv")
    first = float(corr.iloc[0]["ours: rho [95 %]"].split()[0])
    assert 0.6 < first < 0.95  # NASWOT vs cifar10 validation: about 0.8
    if (ROOT / "harness/zc_data/nb201_naswot_batch_sizes.csv").exists():
        assert "conclusion (c)" in text


@pytest.mark.slow
def test_cli_score_and_report(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    r = nash("score", "nb201", "--proxy", "naswot", "--limit", "2", "--out", str(out),
             "--batch-size", "16", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert len(df) == 2 and set(df["status"]) <= {"ok", "degenerate"}
    assert out.with_suffix(".json").exists()
    # resumable: a second call adds the next cells, keeps the first ones
    r = nash("score", "nb201", "--limit", "1", "--out", str(out), "--batch-size", "16",
             "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    df2 = pd.read_csv(out)
    assert len(df2) == 3 and set(df["nb201_index"]) < set(df2["nb201_index"])
    # other settings than the file's: refused, the file untouched
    r = nash("score", "nb201", "--limit", "1", "--out", str(out), "--batch-size", "32")
    assert r.returncode == 2 and "other settings" in r.stderr
    r = nash("zc-report", "--out", str(tmp_path / "rep"), "--runs", "20")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rep" / "README.md").exists()


@pytest.mark.slow
def test_cli_bad_input(tmp_path: Path) -> None:
    out = str(tmp_path / "t.csv")
    for args, msg in [
        (("--proxy", "synflow"), "synflow"),
        (("--batch-size", "1"), "2..164"),
        (("--threads", "0"), "--threads"),
    ]:
        r = nash("score", "nb201", *args, "--limit", "1", "--out", out)
        assert r.returncode == 2 and msg in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1  # one line, no traceback
    r = nash("score", "nb102", "--out", out)
    assert r.returncode == 2 and "nb101" in r.stderr and "nb201" in r.stderr
    r = nash("score", "nb101", "--scope", "all", "--out", out)
    assert r.returncode == 2 and "--scope" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.slow
def test_cli_score_nb101_table(tmp_path: Path) -> None:
    out = tmp_path / "t101.csv"
    r = nash("score", "nb101", "--proxy", "naswot", "--limit", "1", "--out", str(out),
             "--batch-size", "8", "--threads", "1", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out, dtype={"nb101_hash": str})
    assert list(df.columns) == ["nb101_hash", "score", "seconds", "status", "n_relus"]
    assert len(df) == 1 and len(df["nb101_hash"][0]) == 32 and df["status"][0] == "ok"
    r = nash("score", "nb101", "--limit", "1", "--out", str(out), "--batch-size", "16")
    assert r.returncode == 2 and "other settings" in r.stderr


def test_nb101_section_reads_the_committed_table(tmp_path: Path) -> None:
    from analysis.zero_cost_report import NB101_TABLE, nb101_frame, nb101_section

    if not NB101_TABLE.exists():
        pytest.skip("no committed NB101 score table")
    df, meta, raw = nb101_frame()
    assert len(df) == 292 and df["rows"].sum() == len(raw) == 500
    assert df["val108_30k"].notna().sum() == 26
    assert meta["batch_size"] == 128 and meta["seed"] == 0 and meta["images"] == "cifar10"
    lines = nb101_section(NB101_TABLE, tmp_path, figures=False)
    text = "\n".join(lines)
    assert "no `nwot` column" in text and "jacov" in text
    corr = pd.read_csv(tmp_path / "nb101_correlations.csv")
    assert len(corr) == 1 + 11 + 1  # ours, the 11 published proxies, the accuracies' own row
    ours = corr.iloc[0]
    assert int(ours["n"]) == df["ours"].notna().sum() > 0
    rho = float(ours["vs zc500 val_acc_one_repeat (hash mean): rho [95 %]"].split()[0])
    assert -1 <= rho <= 1
    ceiling = corr.iloc[-1]["vs 30k val_acc@108: rho [95 %]"]
    assert float(ceiling.split()[0]) > 0.9  # two repeats of the same 26 cells agree
    vs = pd.read_csv(tmp_path / "nb101_ours_vs_published.csv")
    assert set(vs["published proxy"]) >= {"jacov", "synflow", "params", "flops"}


def test_partial_spearman_removes_a_shared_size_signal() -> None:
    from analysis.zero_cost_report import partial_spearman

    rng = np.random.default_rng(0)
    z = rng.normal(size=2000)
    e1, e2 = rng.normal(size=2000), rng.normal(size=2000)
    x, y = z + 0.3 * e1, z + 0.3 * e2  # related only through z
    assert correlation(x, y)["rho"] > 0.8
    assert abs(partial_spearman(x, y, z)) < 0.1
    assert partial_spearman(e1, e1 + 0.01 * e2, z) > 0.99  # unrelated to z: unchanged
    assert math.isnan(partial_spearman(x[:3], y[:3], z[:3]))
