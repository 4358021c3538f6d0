"""Tabular evaluation: benchmark lookups behind the one evaluator interface.

Fidelity is always explicit (epochs): 200 or 12 on NB201, 4/12/36/108 on NB101. The NATS-Bench
API silently defaults to 12 epochs; here a missing fidelity means the evaluator's own default,
which is printed in every run manifest.

Noise model (optional, off by default): the shipped NB201 signals are means over three training
seeds, smoother than the single training a real search sees (the reference study read ONE random
seed per query). ``noise_sigma`` adds N(0, sigma^2) to the signal, an approximation labelled as
such: sigma = 0.34 points approximates one cifar10 seed at 200 epochs (DESIGN.md section 3).
The draw is a pure function of (noise_seed, cell, fidelity, seed), so runs stay reproducible and
a query with the same seed returns the same value.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np

from harness.errors import ConfigError, NashError, unknown
from harness.evaluators._base import Evaluator
from harness.records import Cost, EvalResult
from harness.spaces._base import SearchSpace

#: documented one-seed noise of the cifar10 200-epoch validation signal (percentage points)
ONE_SEED_SIGMA_CIFAR10_200 = 0.34
BENCHMARKS = ("nb201", "nb101-30k")


class TabularEvaluator(Evaluator):
    """Look up an architecture's search signal and report metric in a benchmark table.

    Args:
        benchmark: ``"nb201"`` or ``"nb101-30k"``.
        dataset: ``cifar10`` / ``cifar100`` / ``imagenet16_120`` (NB201); ``cifar10`` (NB101).
        signal: ``"val_acc"`` (validation at the query's fidelity) or a zero-cost proxy column
            (e.g. ``"zc_nwot"``); test-split columns are refused.
        fidelity: default epochs (NB201: 200 for cifar10, 12 otherwise; NB101: 108).
        space: the space whose architectures are passed in (its ``to_cell`` maps them to the
            benchmark's cells); default: the benchmark's native space.
        noise_sigma: standard deviation of the optional one-seed noise model (points).
        noise_seed: seed of the noise model.
        proxy_dataset: read a zero-cost signal from another dataset's column, e.g. cifar10's
            NASWOT scores to search cifar100 (the NASWOT paper scores every dataset with its own
            images; only CIFAR-10 images and cifar10 scores are complete here): the search is
            labelled "scores computed on <proxy_dataset> images".
    """

    def __init__(
        self,
        benchmark: str = "nb201",
        dataset: str = "cifar10",
        *,
        signal: str = "val_acc",
        fidelity: int | None = None,
        space: SearchSpace[Any] | None = None,
        noise_sigma: float = 0.0,
        noise_seed: int = 0,
        proxy_dataset: str | None = None,
    ) -> None:
        if benchmark not in BENCHMARKS:
            raise unknown("tabular benchmark", benchmark, BENCHMARKS)
        if not (noise_sigma >= 0 and math.isfinite(noise_sigma)):
            raise ConfigError(f"noise_sigma must be a finite number >= 0, got {noise_sigma}")
        self.benchmark, self.dataset, self.signal = benchmark, dataset, signal
        self.noise_sigma, self.noise_seed = float(noise_sigma), int(noise_seed)
        self.proxy_dataset = proxy_dataset
        self.query_log: list[tuple[str, int | None, int]] = []
        self._cache: dict[tuple[Hashable, int | None, int], EvalResult] = {}
        if benchmark == "nb201":
            self._init_nb201(space, fidelity)
        else:
            self._init_nb101(space, fidelity)

    # -- NB201 -----------------------------------------------------------------------------
    def _init_nb201(self, space: SearchSpace[Any] | None, fidelity: int | None) -> None:
        from harness.benchmarks import nb201 as tables
        from harness.spaces import nb201

        self._t201 = tables.load()
        if self.dataset not in tables.DATASETS:
            raise unknown("NB201 dataset", self.dataset, tables.DATASETS)
        self.space = space if space is not None else nb201.NB201Space()
        self.fidelities = (200, 12)
        self.report_metric = "test_acc@200"
        self.report_label = "200-epoch test accuracy (seed mean)"
        if self.signal == "val_acc":
            if self.proxy_dataset:
                raise NashError(
                    "proxy_dataset only applies to zero-cost signals; validation signals come "
                    "from the searched dataset"
                )
            self.default_fidelity = fidelity or (200 if self.dataset == "cifar10" else 12)
            self._check_fidelity(self.default_fidelity)
        else:
            src = self.proxy_dataset or self.dataset
            if src not in tables.DATASETS:
                raise unknown("NB201 proxy dataset", src, tables.DATASETS)
            self._t201.check_search_signal(src, self.signal)
            self.is_proxy = self._t201.role(src, self.signal) == "proxy"
            if self.proxy_dataset and not self.is_proxy:
                raise NashError(
                    "proxy_dataset only applies to zero-cost signals; validation signals come "
                    "from the searched dataset"
                )
            self.default_fidelity = None
        self._index_of = nb201.index_of

    def _nb201_signal_metric(self, fidelity: int | None) -> str:
        if self.signal != "val_acc":
            return self.signal
        f = fidelity or self.default_fidelity
        self._check_fidelity(f)
        return f"val_acc@{f}"

    def _check_fidelity(self, f: int | None) -> None:
        if f not in self.fidelities:
            raise NashError(
                f"{self.benchmark} has no fidelity {f} "
                f"(valid: {', '.join(map(str, self.fidelities))})"
            )
        if self.benchmark == "nb201":
            metric = f"val_acc@{f}"
            if metric not in self._t201.metrics(self.dataset):
                have = self._t201.metrics(self.dataset, "signal")
                raise NashError(
                    f"nb201 has no {f}-epoch validation accuracy for {self.dataset} (only "
                    f"cifar10 has a 200-epoch validation column). Use fidelity 12 "
                    f"({', '.join(have)}) or a zero-cost proxy signal"
                )

    # -- NB101 -----------------------------------------------------------------------------
    def _init_nb101(self, space: SearchSpace[Any] | None, fidelity: int | None) -> None:
        from harness.benchmarks import nb101 as table
        from harness.spaces.nb101 import NB101Space

        if self.dataset != "cifar10":
            raise unknown("NB101 dataset", self.dataset, ["cifar10"])
        if self.signal != "val_acc":
            raise NashError(
                f"nb101-30k has no search signal {self.signal!r}: only 'val_acc' (validation "
                "accuracy of one training repeat) is in the shipped data"
            )
        self._t101 = table.load()
        self._cell_space = NB101Space()
        self.space = space if space is not None else self._cell_space
        self.fidelities = table.FIDELITIES
        self.default_fidelity = fidelity or 108
        self._check_fidelity(self.default_fidelity)
        self.records_train_time = True
        self.report_metric = "val_acc@108"
        self.report_label = "108-epoch VALIDATION accuracy (the shipped NB101 data has no test)"

    # -- the interface ---------------------------------------------------------------------
    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        cell = self.space.to_cell(arch)
        if self.benchmark == "nb201":
            key: Hashable = self._index_of(cell)  # type: ignore[arg-type]
        else:
            key = self._cell_space.canonical(cell)  # type: ignore[arg-type]
        f = fidelity if fidelity is not None else self.default_fidelity
        self.query_log.append((str(key), f, seed))
        ck = (key, f, seed)
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        res = self._lookup(key, f, seed)
        self._cache[ck] = res
        return res

    def _lookup(self, key: Hashable, f: int | None, seed: int) -> EvalResult:
        if self.benchmark == "nb201":
            idx = int(key)  # type: ignore[call-overload]
            metric = self._nb201_signal_metric(f)
            val = self._t201.value(
                (self.proxy_dataset or self.dataset) if self.is_proxy else self.dataset,
                metric,
                idx,
            )
            test = self._t201.value(self.dataset, self.report_metric, idx)
            train_s = math.nan
            if self.is_proxy:
                t_col = f"{metric}_time_s"
                extras = {}
                if t_col in self._t201.metrics(self.dataset):
                    t = self._t201.value(self.dataset, t_col, idx)
                    if math.isfinite(t):
                        extras["scoring_s"] = t  # the proxy's recorded compute time
                cost = Cost(n_proxy=1, measured_s=0.0)
                if not math.isfinite(val):
                    return EvalResult(
                        signal=math.nan,
                        cost=cost,
                        test=test,
                        status="failed",
                        reason=f"no {metric} value for this cell",
                    )
                return EvalResult(signal=val, cost=cost, fidelity=None, val=math.nan, test=test,
                                  extras=extras)  # fmt: skip
            fid = f
        else:
            h = str(key)
            fid = f if f is not None else 108
            self._check_fidelity(fid)
            val = self._t101.value(f"val_acc@{fid}", h)
            test = math.nan
            train_s = self._t101.value("train_time_s@108", h) if fid == 108 else math.nan
        signal = val
        if self.noise_sigma > 0 and not self.is_proxy:
            cell_id = int(key) if self.benchmark == "nb201" else int(str(key)[:15], 16)  # type: ignore[call-overload]
            rng = np.random.default_rng([self.noise_seed, cell_id, fid or 0, seed])
            signal = val + self.noise_sigma * float(rng.standard_normal())
        return EvalResult(
            signal=signal, cost=Cost(n_full=1, train_s=train_s), fidelity=fid, val=val, test=test
        )

    def describe(self) -> dict[str, Any]:
        return {
            "class": type(self).__name__,
            "benchmark": self.benchmark,
            "dataset": self.dataset,
            "signal": self.signal,
            "default_fidelity": self.default_fidelity,
            "report_metric": self.report_metric,
            "report_label": self.report_label,
            "noise_sigma": self.noise_sigma,
            "noise_model": "one-seed approximation: signal + N(0, sigma^2)"
            if self.noise_sigma
            else "none (seed-mean signal)",
            "space": self.space.name,
            "proxy_scores_from": (self.proxy_dataset or self.dataset) if self.is_proxy else None,
        }
