"""Published baseline numbers beside this harness's, under the closest setting the data allows.

Each published row (DESIGN.md section 5) is matched with the runs of ``nash reproduce baselines``
and marked *reproduced* when our mean lies within the published standard deviation of the
published mean (the spread the paper reports over its runs), otherwise *not reproduced*, with
the setting differences that explain it. The NB101 comparison can only be an ordering (see
:data:`NB101_ORDER`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as ss

from analysis.conclusions import answers
from analysis.load import load_runs
from analysis.report import to_markdown
from analysis.suite_report import COLUMNS

DATASETS = ("cifar10", "cifar100", "imagenet16_120")

#: (source, method, our setting label, our strategy label, {dataset: (mean, std)}, difference)
PUBLISHED: tuple[tuple[str, str, str, str, dict[str, tuple[float, float]], str], ...] = (
    (
        "NB201 paper, Table 5",
        "REA",
        "base_nb201_table5",
        "aging_evolution",
        {"cifar10": (93.92, 0.30), "cifar100": (71.84, 0.99), "imagenet16_120": (45.54, 1.03)},
        "12-epoch seed-mean signal and 100 evaluations here; the paper: one random seed per "
        "query and a 12,000 s simulated budget",
    ),
    (
        "NB201 paper, Table 5",
        "RS",
        "base_nb201_table5",
        "random_search",
        {"cifar10": (93.70, 0.36), "cifar100": (71.04, 1.07), "imagenet16_120": (44.57, 1.25)},
        "as above",
    ),
    (
        "NB201 paper, Table 5",
        "REINFORCE",
        "base_nb201_table5",
        "reinforce",
        {"cifar10": (93.85, 0.37), "cifar100": (71.71, 1.09), "imagenet16_120": (45.24, 1.18)},
        "as above; learning rate 0.001 as in the paper's script",
    ),
    (
        "NASWOT (ICML 2021)",
        "N=10",
        "base_naswot",
        "naswot_n10",
        {"cifar10": (92.44, 1.13), "cifar100": (68.62, 2.04), "imagenet16_120": (41.31, 4.11)},
        "NAS-Bench-Suite-Zero nwot scores (CIFAR-10 images) for every dataset; cells with a "
        "cut-off branch have no score",
    ),
    (
        "NASWOT (ICML 2021)",
        "N=100",
        "base_naswot",
        "naswot_n100",
        {"cifar10": (92.81, 0.99), "cifar100": (69.48, 1.70), "imagenet16_120": (43.10, 3.16)},
        "as above",
    ),
    (
        "NASWOT (ICML 2021)",
        "N=1000",
        "base_naswot",
        "naswot_n1000",
        {"cifar10": (92.96, 0.81), "cifar100": (69.98, 1.22), "imagenet16_120": (44.44, 2.10)},
        "as above",
    ),
)

#: BANANAS paper, NB101, 150 queries, mean test error (%) over 200 trials (BANANAS: 5.923)
NB101_ERRORS = {
    "local_search": 5.932,
    "regularized_evolution": 6.109,
    "gcn_predictor": 6.331,
    "random_search": 6.341,
}
NB101_ORDER = sorted(NB101_ERRORS, key=NB101_ERRORS.__getitem__)


def _dataset_of(setting: str) -> str | None:
    for ds in sorted(DATASETS, key=len, reverse=True):
        if ds in setting:
            return ds
    return None


def baseline_table(dirs: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(NB201 rows against the published numbers, NB101 ordering rows)."""
    rs = load_runs(list(dirs), columns=COLUMNS)
    ans = answers(rs)
    rows = []
    for source, method, exp, strat, pub, why in PUBLISHED:
        for ds, (pm, psd) in pub.items():
            sel = ans[
                (ans["experiment"] == exp)
                & (ans["strategy_label"] == strat)
                & (ans["setting"].map(_dataset_of) == ds)
            ]
            x = sel["answer_test"].to_numpy(float)
            x = x[np.isfinite(x)]
            if x.size == 0:
                rows.append(
                    {
                        "source": source,
                        "method": method,
                        "dataset": ds,
                        "published": f"{pm:.2f} ± {psd:.2f}",
                        "ours": "no runs",
                        "runs": 0,
                        "verdict": "not run",
                        "setting differences": why,
                    }
                )
                continue
            m, sd = float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan
            ok = abs(m - pm) <= psd
            rows.append(
                {
                    "source": source,
                    "method": method,
                    "dataset": ds,
                    "published": f"{pm:.2f} ± {psd:.2f}",
                    "ours": f"{m:.2f} ± {sd:.2f}",
                    "runs": int(x.size),
                    "verdict": "reproduced" if ok else "not reproduced",
                    "setting differences": why,
                }
            )
    nb = ans[ans["experiment"] == "base_nb101_150"]
    nb_rows = []
    means = {}
    for strat in NB101_ORDER:
        g = nb[nb["strategy_label"] == strat]["answer_val"].to_numpy(float)
        if g.size:
            means[strat] = float(np.mean(g))
            nb_rows.append(
                {
                    "method": strat,
                    "published test error (%)": f"{NB101_ERRORS[strat]:.3f}",
                    "ours: validation accuracy (%)": f"{np.mean(g):.3f} ± {np.std(g, ddof=1):.3f}",
                    "runs": int(g.size),
                }
            )
    nb_df = pd.DataFrame(nb_rows)
    if len(means) >= 2:
        ours = [-means[s] for s in NB101_ORDER if s in means]  # lower is better, like error
        errs = [NB101_ERRORS[s] for s in NB101_ORDER if s in means]
        tau = float(ss.kendalltau(ours, errs).statistic)
        nb_df.attrs["tau"] = tau
    return pd.DataFrame(rows), nb_df


def write_baselines_report(dirs: Sequence[Path], out_dir: str | Path, timing: dict) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb201, nb101 = baseline_table(dirs)
    tau = nb101.attrs.get("tau", math.nan)
    n_ok = int((nb201["verdict"] == "reproduced").sum()) if len(nb201) else 0
    lines = [
        "# Reproduction: published baselines",
        "",
        f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `nash reproduce "
        "baselines`. A row is *reproduced* when our mean lies within the published standard "
        "deviation of the published mean. Reported: 200-epoch test accuracy (seed mean) of "
        "the chosen cell.",
        "",
        f"## NB201 ({n_ok} of {len(nb201)} rows reproduced)",
        "",
        to_markdown(nb201),
        "",
        "## NB101, 150 queries: ordering of the methods",
        "",
        "The shipped NB101 data has no test accuracy and covers 7 % of the space: methods are "
        "compared by the 108-epoch VALIDATION accuracy of the chosen cell on the real "
        "30,001-cell pool, against the published ordering by test error (BANANAS, 5.923 %, is "
        "not implemented here).",
        "",
        to_markdown(nb101) if len(nb101) else "(no runs)",
        "",
        f"Kendall tau between our ordering and the published one: {tau:.2f} "
        f"({'same ordering' if tau == 1 else 'ordering differs'}).",
        "",
        "Why the ordering can differ here: the pool holds 7 % of NB101, so a cell has on "
        "average about 1.4 pool members among its ~30 one-move neighbours; local search, the "
        "published winner, then exhausts its neighbourhood after a handful of evaluations and "
        "restarts almost every time (it degenerates towards random restarts), while a predictor "
        "that ranks the closed pool directly loses nothing to the pool's sparsity. Validation "
        "(one repeat) replaces test error, and the 30k pool's optimum differs from the space's.",
        "",
        "## Run time",
        "",
        f"{timing.get('machine', '?')}; runs executed now: {timing.get('runs_executed')} of "
        f"{timing.get('runs_total')}; search wall time {timing.get('search_s', 0):.0f} s.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    nb201.to_csv(out / "nb201_published.csv", index=False)
    nb101.to_csv(out / "nb101_ordering.csv", index=False)
    return path
