"""Tabular evaluation: lookups in any registered benchmark behind the one evaluator interface.

One evaluator serves every tabular benchmark: it reads only the :class:`Benchmark` interface
(metric roles, fidelities, report metric, recorded training times), so a user's table runs
exactly as the built-ins do. Fidelity is always explicit (epochs): the NATS-Bench API silently
defaults to 12 epochs; here a missing fidelity means the benchmark's declared default, printed
in every run manifest.

Noise model (optional, off by default): the shipped NB201 signals are means over three training
seeds, smoother than the single training a real search sees (the reference study read ONE random
seed per query). ``noise_sigma`` adds N(0, sigma^2) to the signal, an approximation labelled as
such (0.34 points approximates one cifar10 seed at 200 epochs, the spread between the seeds of
the official files). The draw is a pure function of (noise_seed, cell, fidelity, seed), so runs
stay reproducible and a query with the same seed returns the same value. Where a benchmark has
real per-seed values (seed policy ``"real"``), a query's seed reads that seed's value instead.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from harness.benchmarks.base import Benchmark
from harness.errors import ConfigError, NashError
from harness.evaluators._base import Evaluator
from harness.records import Cost, EvalResult
from harness.spaces._base import SearchSpace

#: documented one-seed noise of the cifar10 200-epoch validation signal (percentage points)
ONE_SEED_SIGMA_CIFAR10_200 = 0.34


def resolve_benchmark(benchmark: str | Benchmark) -> Benchmark:
    from harness.benchmarks import get_benchmark

    return benchmark if isinstance(benchmark, Benchmark) else get_benchmark(benchmark)


def noise_cell_id(key: Hashable) -> int:
    """A stable integer per cell key for the noise draw (index, or the leading hex digits)."""
    if isinstance(key, int | np.integer):
        return int(key)
    s = str(key)
    try:
        return int(s[:15], 16)
    except ValueError:
        return int(hashlib.sha256(s.encode()).hexdigest()[:15], 16)


class TabularEvaluator(Evaluator):
    """Look up an architecture's search signal and report metric in a benchmark table.

    Args:
        benchmark: a registered benchmark name (``"nb201"``, ``"nb101-30k"``, ...) or instance.
        dataset: one of the benchmark's datasets (any accepted spelling).
        signal: ``"val_acc"`` (validation at the query's fidelity) or the name of a signal or
            proxy metric (e.g. ``"zc_nwot"``); test-split (``report``) columns are refused.
        fidelity: default epochs (default: the benchmark's highest with a validation signal).
        space: the space whose architectures are passed in (its ``to_cell`` maps them to the
            benchmark's cells); default: the benchmark's own space.
        noise_sigma: standard deviation of the optional one-seed noise model (points).
        noise_seed: seed of the noise model.
        proxy_dataset: read a zero-cost signal from another dataset's column, e.g. cifar10's
            NASWOT scores to search cifar100; the search is labelled "scores computed on
            <proxy_dataset> images".
    """

    def __init__(
        self,
        benchmark: str | Benchmark = "nb201",
        dataset: str = "cifar10",
        *,
        signal: str = "val_acc",
        fidelity: int | None = None,
        space: SearchSpace[Any] | None = None,
        noise_sigma: float = 0.0,
        noise_seed: int = 0,
        proxy_dataset: str | None = None,
    ) -> None:
        if not (noise_sigma >= 0 and math.isfinite(noise_sigma)):
            raise ConfigError(f"noise_sigma must be a finite number >= 0, got {noise_sigma}")
        self.bench = bench = resolve_benchmark(benchmark)
        self.benchmark = bench.name
        self.dataset = bench.dataset(dataset)
        self.signal = signal
        self.noise_sigma, self.noise_seed = float(noise_sigma), int(noise_seed)
        self.proxy_dataset = bench.dataset(proxy_dataset) if proxy_dataset else None
        #: the latest queries (key, fidelity, seed), for inspection; bounded, because one
        #: evaluator serves every run of a worker
        self.query_log: deque[tuple[Hashable, int | None, int]] = deque(maxlen=10_000)
        self._cache: dict[tuple[Hashable, int | None, int], EvalResult] = {}
        self._keys: dict[Hashable, Hashable] = {}  # arch -> table key (to_cell + key_of)
        self._signal_metrics: dict[int | None, str] = {}
        self._train_metrics: dict[int | None, str | None] = {}
        if space is None:
            from harness.spaces import make_space

            space = make_space(bench.space)
        self.space = space
        self.fidelities = bench.fidelities
        self.report_metric = bench.report_metric(self.dataset)
        self.report_label = bench.report_label(self.dataset)
        self.records_train_time = bench.records_train_time(self.dataset)
        if signal == "val_acc":
            if self.proxy_dataset:
                raise NashError(
                    "proxy_dataset only applies to zero-cost signals; validation signals come "
                    "from the searched dataset"
                )
            self.default_fidelity = fidelity or bench.default_fidelity(self.dataset)
            self._check_fidelity(self.default_fidelity)
        else:
            src = self.proxy_dataset or self.dataset
            m = bench.check_search_signal(src, signal)
            self.is_proxy = m.role == "proxy"
            if self.proxy_dataset and not self.is_proxy:
                raise NashError(
                    "proxy_dataset only applies to zero-cost signals; validation signals come "
                    "from the searched dataset"
                )
            self.default_fidelity = None

    def signal_metric(self, fidelity: int | None) -> str:
        """The benchmark metric whose value (with noise or a seed's value) is the signal."""
        if self.signal != "val_acc":
            return self.signal
        f = fidelity or self.default_fidelity
        hit = self._signal_metrics.get(f)
        if hit is None:  # checked once per fidelity, not per query
            self._check_fidelity(f)
            hit = self._signal_metrics[f] = self.bench.signal_metric(self.dataset, f)
        return hit

    def _check_fidelity(self, f: int | None) -> None:
        if f is None and not self.fidelities:
            return  # a benchmark without fidelities: one value per cell
        if f not in self.fidelities:
            raise NashError(
                f"{self.benchmark} has no fidelity {f} "
                f"(valid: {', '.join(map(str, self.fidelities))})"
            )
        have = self.bench.signal_fidelities(self.dataset)
        if f not in have:
            names = self.bench.metric_names(self.dataset, "signal")
            raise NashError(
                f"{self.benchmark} has no {f}-epoch validation accuracy for {self.dataset}. "
                f"Use fidelity {' or '.join(map(str, have))} ({', '.join(names)}) or a "
                "zero-cost proxy signal"
            )

    # -- the interface ---------------------------------------------------------------------
    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        try:
            key = self._keys.get(arch)
        except TypeError:  # an unhashable spelling (a list): no memo
            key = self.bench.key_of(self.space.to_cell(arch))
        if key is None:
            if len(self._keys) >= 1 << 17:  # bounded: NB101 genomes are unbounded in number
                self._keys.clear()
            key = self._keys[arch] = self.bench.key_of(self.space.to_cell(arch))
        f = fidelity if fidelity is not None else self.default_fidelity
        self.query_log.append((key, f, seed))
        ck = (key, f, seed)
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        res = self._lookup(key, f, seed)
        self._cache[ck] = res
        return res

    def _value(self, dataset: str, metric: str, key: Hashable, seed: int) -> float:
        if self.bench.seed_policy == "real" and self.bench.metric(dataset, metric).seeds > 1:
            return float(self.bench.seed_values(dataset, metric, [key], seed)[0])
        return self.bench.value(dataset, metric, key)

    def _lookup(self, key: Hashable, f: int | None, seed: int) -> EvalResult:
        b = self.bench
        metric = self.signal_metric(f)
        if self.is_proxy:
            src = self.proxy_dataset or self.dataset
            val = b.value(src, metric, key)
            test = b.value(self.dataset, self.report_metric, key)
            extras: dict[str, float] = {}
            t_col = f"{metric}_time_s"
            score_s = math.nan
            if t_col in b.metric_names(self.dataset):
                score_s = b.value(self.dataset, t_col, key)  # the proxy's recorded compute time
            cost = Cost(n_proxy=1, score_s=score_s, measured_s=0.0)
            if not math.isfinite(val):
                return EvalResult(
                    signal=math.nan,
                    cost=cost,
                    reported=test,
                    status="failed",
                    reason=f"no {metric} value for this cell",
                )
            return EvalResult(
                signal=val, cost=cost, fidelity=None, val=math.nan, reported=test, extras=extras
            )
        fid = f if f is not None else self.default_fidelity
        val = self._value(self.dataset, metric, key, seed)
        test = b.value(self.dataset, self.report_metric, key)
        if fid not in self._train_metrics:  # looked up once per fidelity, not per query
            self._train_metrics[fid] = b.train_time_metric(self.dataset, fid)
        t_metric = self._train_metrics[fid]
        train_s = b.value(self.dataset, t_metric, key) if t_metric else math.nan
        signal = val
        if self.noise_sigma > 0:
            rng = np.random.default_rng([self.noise_seed, noise_cell_id(key), fid or 0, seed])
            signal = val + self.noise_sigma * float(rng.standard_normal())
        return EvalResult(
            signal=signal,
            cost=Cost(n_full=1, train_s=train_s),
            fidelity=fid,
            val=val,
            reported=test,
        )

    def evaluate_many(
        self, archs: Sequence[Hashable], *, fidelity: int | None = None, seed: int = 0
    ) -> list[EvalResult]:
        """Evaluate many architectures (one result per architecture, same as one by one)."""
        return [self.evaluate(a, fidelity=fidelity, seed=seed) for a in archs]

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
