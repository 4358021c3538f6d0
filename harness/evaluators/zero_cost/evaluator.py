"""ZeroCostEvaluator: NASWOT scores behind the one evaluator interface."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.errors import ConfigError, NashError, unknown
from harness.evaluators._base import Evaluator
from harness.evaluators.zero_cost.cache import ScoreCache, ScoreCacheMiss
from harness.evaluators.zero_cost.kernel import DEFAULT_THREADS, score_cell
from harness.evaluators.zero_cost.tables import (
    HashScoreTable,
    ScoreTable,
    score_table_path,
)
from harness.records import STATUS_FAILED, Cost, EvalResult
from harness.spaces._base import SearchSpace

PROXIES = ("naswot",)
#: set to "1" to make every :class:`ZeroCostEvaluator` read scores only (a miss raises
#: :class:`ScoreCacheMiss`): a run-time switch of ``nash reproduce``, not part of any config
CACHE_ONLY_ENV = "NASH_NASWOT_CACHE_ONLY"


CACHE_MODES = ("cell", "class", "off")


def _answered_again(res: EvalResult) -> EvalResult:
    """A memoised result asked for again: the same score and recorded seconds, 0 measured."""
    return dataclasses.replace(res, cost=dataclasses.replace(res.cost, measured_s=0.0))


class ZeroCostEvaluator(Evaluator):
    """NASWOT scoring behind the one evaluator interface (a proxy: no training is charged).

    ``signal`` is the NASWOT score (higher is better); ``cost`` is ``Cost(n_proxy=1,
    score_s=<scoring seconds>, measured_s=<seconds spent now>)``: a score computed now has both
    equal; a score read from a committed table or the score cache keeps the seconds recorded
    when it was computed in ``score_s`` and costs 0 measured seconds (``extras["cached"] = 1``;
    ``extras["score_cache"] = 1`` when it came from the cache). ``reported`` is the benchmark's
    reported metric (NB201: 200-epoch test accuracy, seed mean; NB101, which ships no test
    accuracy: the 108-epoch validation accuracy where the 30k table has the cell, NaN
    otherwise, then also in ``val``), for reporting only; the search never sees either. For
    cifar100 / ImageNet16-120 the score is still computed on CIFAR-10 images (the only ones
    shipped): the dataset only selects the reported accuracy, and ``describe()`` says so.

    A degenerate cell (singular kernel, e.g. output cut off by ``none``) is a failed evaluation
    with the reason, so searches rank it below every real score.

    Where scores come from, in order (``cache`` not ``"off"``): this evaluator's memo; the
    committed table (``harness/zc_data``) when its settings (images, batch, seed) match; for
    NB101, the persistent score cache (:class:`ScoreCache`, outside the repository, keyed by
    the official hash with the settings in its directory name), which every NB101 score
    computed here is added to, so no process computes a cell twice; else NASWOT is computed.

    Args:
        benchmark: a registered benchmark whose cells build networks (any accepted spelling:
            ``"nb201"``, ``"nb101"``, ``"nb101-30k"``, ...); scores are kept per network family
            (the space of its cells, :attr:`benchmark`), so benchmarks on one family share them.
        dataset: NB201 dataset whose test accuracy is reported (``cifar10`` / ``cifar100`` /
            ``imagenet16_120``); NB101: ``cifar10``.
        proxy: ``"naswot"`` (the only proxy so far).
        images: image set (``"cifar10"`` or ``"mnist"``, :mod:`harness.data.images`).
        batch_size: images per scoring batch (2..images available; 128 by default).
        space: the space whose architectures are passed in (its ``to_cell`` maps them to
            benchmark cells); default: the benchmark's native space.
        device: torch device for scoring; ``"auto"``: CUDA when available, else CPU.
        num_threads: torch CPU threads while scoring (fixed, for reproducible timings).
        cache: ``"cell"`` (default) reads a committed score of exactly this cell (NB201: its
            index; NB101: its hash, which names the isomorphism class) and the NB101 score
            cache; ``"class"`` also uses, on NB201, the score of the cell's isomorphism-class
            representative (an approximation: isomorphic NB201 cells get other random weights,
            and dead branches' ReLUs still count); on NB101 it is the same as ``"cell"``;
            ``"off"`` always computes and reads or writes no cache.
        table: a score table or path to use instead of the committed one.
        score_cache: directory of the NB101 score cache (default: ``<cache dir>/zc_scores``,
            see :func:`harness.paths.cache_dir`); ``False`` disables it.
        cache_only: never compute: a cell without a committed or cached score raises
            :class:`ScoreCacheMiss` (default: the ``NASH_NASWOT_CACHE_ONLY`` environment
            variable is ``"1"``).
    """

    is_proxy = True
    default_fidelity = None

    def __init__(
        self,
        benchmark: str = "nb201",
        dataset: str = "cifar10",
        *,
        proxy: str = "naswot",
        images: str = "cifar10",
        batch_size: int = 128,
        space: SearchSpace[Any] | None = None,
        device: str = "cpu",
        num_threads: int | None = DEFAULT_THREADS,
        cache: str = "cell",
        table: ScoreTable | HashScoreTable | Path | None = None,
        score_cache: str | Path | bool | None = None,
        cache_only: bool | None = None,
    ) -> None:
        from harness.benchmarks import get_benchmark
        from harness.data.images import load_images
        from harness.spaces import cell_space_of, make_space

        bench = get_benchmark(benchmark)  # any accepted spelling (nb101: nb101-30k)
        native = make_space(bench.space)
        #: the network family of the benchmark's cells: names the score tables and caches
        benchmark = cell_space_of(native)
        if not builds_networks(benchmark):
            raise unknown("zero-cost benchmark", bench.name, zero_cost_benchmarks())
        self._bench = bench
        dataset = bench.dataset(dataset)
        #: index-keyed benchmarks keep scores by index; the others by their cells' hashes
        probe = native.to_cell(native.sample(np.random.default_rng(0)))
        self._indexed = isinstance(bench.key_of(probe), int)
        if proxy not in PROXIES:
            raise unknown("zero-cost proxy", proxy, PROXIES)
        if cache not in CACHE_MODES:
            raise unknown("score cache mode", cache, CACHE_MODES)
        self.benchmark, self.dataset, self.proxy = benchmark, dataset, proxy
        self.images_name, self.batch_size = images, int(batch_size)
        self.device, self.num_threads, self.cache = resolve_device(device), num_threads, cache
        self.images = load_images(images, batch_size)  # validates name and batch size
        if cache_only is None:
            cache_only = os.environ.get(CACHE_ONLY_ENV, "") == "1"
        self.cache_only = bool(cache_only)
        self._memo: dict[tuple[str, int], EvalResult] = {}
        self.n_computed = 0
        self.n_cached = 0
        self.n_score_cache = 0
        self._score_caches: dict[int, ScoreCache] = {}
        self._score_cache_root: Path | None = None
        self._cell_space: Any = make_space(benchmark)  # the family's native space
        self.report_metric = bench.report_metric(dataset)
        self.report_label = bench.report_label(dataset)
        if not bench.has_test:
            self.report_label += " where the table has the cell"
        self._table: ScoreTable | HashScoreTable | None = self._open_table(table)
        if not self._indexed and cache != "off" and score_cache is not False:
            # hashed cells (NB101): scores persist per hash across runs and processes
            self._score_cache_root = (
                Path(score_cache).expanduser() if isinstance(score_cache, str | Path) else None
            )
            self._score_caches[0] = self._score_cache(0)  # created (and checked) now
        if self.cache_only and cache == "off":
            raise ConfigError("cache_only needs a score cache: cache='off' reads none")
        self.space = space if space is not None else self._cell_space

    def _score_cache(self, seed: int) -> ScoreCache:
        sc = self._score_caches.get(seed)
        if sc is None:
            sc = ScoreCache(
                self.benchmark,
                self.images_name,
                self.batch_size,
                seed,
                root=self._score_cache_root,
            )
            self._score_caches[seed] = sc
        return sc

    def _open_table(
        self, table: ScoreTable | HashScoreTable | Path | None
    ) -> ScoreTable | HashScoreTable | None:
        if self.cache == "off":
            return None
        if isinstance(table, ScoreTable | HashScoreTable):
            return table
        if table is not None:
            path = Path(table)
        else:
            path = score_table_path(self.benchmark, self.images_name, self.batch_size)
        if not path.exists() or not path.with_suffix(".json").exists():
            return None
        if self._indexed:
            return ScoreTable.read(path)
        return HashScoreTable.read(path)

    def _cell(self, arch: Hashable) -> tuple[Any, str]:
        cell = self._cell_space.check_cell(self.space.to_cell(arch))  # InvalidArchitecture
        return cell, self._cell_space.cell_id(cell)

    def _cached(self, key: str, seed: int) -> tuple[float, float, str] | None:
        """A committed score of this cell (settings must match), or None."""
        t = self._table
        if t is None or not t.settings_match(self.images_name, self.batch_size, seed):
            return None
        if isinstance(t, HashScoreTable):
            return t.get(key)
        hit = t.get(int(key))
        if hit is None and self.cache == "class":
            rep = t.by_class().get(self._cell_space.class_id(self._cell_space.from_str(key)))
            hit = t.get(rep) if rep is not None else None
        return hit

    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        cell, key = self._cell(arch)
        memo = self._memo.get((key, seed))
        if memo is not None:
            return memo if memo.cost.measured_s == 0.0 else _answered_again(memo)
        hit = self._cached(key, seed)
        extras: dict[str, float] = {}
        if hit is None and self._score_caches:
            hit = self._score_cache(seed).get(key)
            if hit is not None:
                extras["score_cache"] = 1.0
                self.n_score_cache += 1
        if hit is not None:
            score, seconds, status = hit
            degenerate, reason = status != "ok", "degenerate cell (recorded with its score)"
            extras["cached"] = 1.0
            self.n_cached += 1
        elif self.cache_only:
            where = self._score_cache(seed).dir if self._score_caches else "no score cache"
            raise ScoreCacheMiss(
                f"{self.benchmark} cell {key}: no NASWOT score for images={self.images_name}, "
                f"batch={self.batch_size}, seed={seed} in the committed table or the score "
                f"cache ({where}), and this evaluator may not compute (cache only). Allow "
                f"computing: unset {CACHE_ONLY_ENV}, or `nash reproduce acceleration "
                "--with-nb101-naswot`, or run on a GPU"
            )
        else:
            r = score_cell(
                self.benchmark,
                cell,
                self.images,
                seed=seed,
                device=self.device,
                num_threads=self.num_threads,
            )
            score, seconds, degenerate, reason = r.score, r.seconds, r.degenerate, r.reason
            extras["n_relus"] = float(r.n_relus)
            self.n_computed += 1
            if self._score_caches:
                self._score_cache(seed).put(
                    key, r, device=str(self.device), threads=self.num_threads
                )
        # a score read from a table or the cache keeps its recorded seconds; this call cost ~0
        measured = 0.0 if hit is not None else float(seconds)
        cost = Cost(n_proxy=1, score_s=float(seconds), measured_s=measured)
        test = self._report(key)
        # NB101 reports validation accuracy (no test exists): ``val`` carries it too
        val = math.nan if self._bench.has_test else test
        if degenerate:
            res = EvalResult(
                signal=-math.inf,
                cost=cost,
                val=val,
                reported=test,
                status=STATUS_FAILED,
                reason=f"NASWOT undefined: {reason}",
                extras=extras,
            )
        else:
            res = EvalResult(signal=score, cost=cost, val=val, reported=test, extras=extras)
        self._memo[(key, seed)] = res
        return res

    def _report(self, key: str) -> float:
        from harness.errors import NotInBenchmark

        try:
            k: Hashable = int(key) if self._indexed else key
            return self._bench.value(self.dataset, self.report_metric, k)
        except NotInBenchmark:  # e.g. an NB101 cell outside the 30k sample
            return math.nan

    def describe(self) -> dict[str, Any]:
        images_note = (
            "scores computed on CIFAR-10 images for every dataset (only CIFAR-10 images are "
            f"shipped); dataset {self.dataset!r} only selects the reported accuracy"
            if self.images_name == "cifar10"
            else f"scores computed on {self.images_name} images"
        )
        return {
            "class": type(self).__name__,
            "benchmark": self.benchmark,
            "dataset": self.dataset,
            "signal": f"zero-cost {self.proxy} score (Hamming-kernel NASWOT, higher is better)",
            "proxy": self.proxy,
            "images": self.images_name,
            "batch_size": self.batch_size,
            "images_note": images_note,
            "device": str(self.device),
            "num_threads": self.num_threads,
            "cache": self.cache,
            "cache_only": self.cache_only,
            "score_table": str(self._table.path) if self._table is not None else None,
            "score_cache": str(self._score_cache(0).dir) if self._score_caches else None,
            "n_computed": self.n_computed,
            "n_cached": self.n_cached,
            "n_score_cache": self.n_score_cache,
            "report_metric": self.report_metric,
            "report_label": self.report_label,
            "space": self.space.name,
        }


def builds_networks(space_name: str) -> bool:
    """Whether the registered space ``space_name`` builds real networks (NASWOT needs one)."""
    from harness.spaces import SPACES, make_space

    if space_name not in SPACES:
        return False
    return type(make_space(space_name)).network is not SearchSpace.network


def zero_cost_benchmarks() -> list[str]:
    """Registered benchmarks whose cells build networks: those NASWOT can score (for errors)."""
    from harness.benchmarks import BENCHMARKS, get_benchmark
    from harness.spaces import cell_space_of, make_space

    names = []
    for e in BENCHMARKS:
        try:
            bench = get_benchmark(e.name)
            if builds_networks(cell_space_of(make_space(bench.space))):
                names.append(bench.name)
        except NashError:  # a benchmark whose data is missing here
            continue
    return names


def resolve_device(device: str) -> str:
    """``"auto"``: ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other names unchanged."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)
