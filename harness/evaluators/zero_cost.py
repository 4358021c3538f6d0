"""Zero-cost scoring: NASWOT (Mellor et al., ICML 2021) on real untrained networks.

NASWOT, the Hamming-kernel version (``nwot`` in NAS-Bench-Suite-Zero; not the Jacobian-covariance
"v1" score of the paper's first version): push one batch of real images through the untrained
network, read every ReLU's binary activation code per image (unit active or not), and build the
kernel ``K[a, b]`` = number of units on which images ``a`` and ``b`` agree (``N_A`` minus their
Hamming distance), summed over all ReLUs. The score is ``log|det K|`` (``slogdet``): networks
that separate the images well have a well-conditioned kernel.

Semantics, matched to the authors' code (BayesWatch/nas-without-training, ``score_networks.py``
with ``--score hook_logdet``; read for semantics only):

- **Which ReLUs count**: every ``nn.ReLU`` module the forward pass runs (a forward hook on each;
  the code is ``input > 0``, the same as ``output > 0``). The authors count a ReLU only when
  their backward pass reached it; on NB201 that is every ReLU, because their ``none`` op
  multiplies by zero and so keeps dead branches in the autograd graph. The project's NB201 net
  skips dead branches but still applies their ReLUs for this reason (:mod:`.nb201_net`); on NB101
  the official pruning leaves no dead vertex. Each ReLU counts separately even when several read
  the same tensor (as the authors' per-module hooks do); the kernel of a tensor already seen in
  this forward pass is reused instead of recomputed.
- **Mode**: the network stays in training mode, so batch norm normalises with the batch's own
  statistics (the authors never call ``eval()``); no dropout.
- **Initialisation**: PyTorch's defaults (the authors' default ``--init ''``); NB101 networks
  keep nasbench-pytorch's own initialisation.
- **Images**: 128 real CIFAR-10 training-pipeline images (theirs: the first batch of a shuffled,
  augmented CIFAR-10 loader; here: the first 128 of the 164 shipped images, normalised and
  crop-augmented upstream). Alternative: MNIST-5k (see :mod:`harness.data.images`).

Where this differs, and why:

- **One forward pass** instead of the authors' two (a Jacobian pass, then the hooked pass): in
  training mode without dropout both passes compute the same activations, so the second adds
  nothing but time. It runs under ``torch.inference_mode`` and stops at the last ReLU (pooling
  and the classifier never change a code).
- **Seeding**: the authors seed the global RNG once per run, so a network's weights depend on
  the order in which cells are scored. Here the weights of a cell are drawn from a fork of the
  RNG seeded by ``(seed, space, cell)``: the same cell and seed give the same score whatever
  else was scored, in any process. Scores of the same cell under different seeds differ (a
  property of NASWOT, not of this code); torch's thread count is fixed during scoring.
- **Arithmetic**: ``K = C C^T + (1 - C)(1 - C)^T`` is computed as
  ``2 C C^T - r 1^T - 1 r^T + F`` (``r`` the active counts): one exact int8 matrix product per
  distinct ReLU input (:func:`agreement_counts`), accumulated in float64; ``slogdet`` in float64.
- **Degenerate cells**: when ``K`` is singular (sign of the determinant <= 0: e.g. every image
  gets the same codes because the cell's output is cut off by ``none`` edges) the authors record
  ``-inf`` (their ``slogdet`` returns it) or NaN. Here the result is flagged ``degenerate`` with
  its reason, the score is ``-inf``, and the evaluator reports a failed evaluation (ranked below
  every real score), never a silent NaN.

Score tables: ``nash dev zero-cost --compute-nb201`` computes NB201 scores
(one representative per isomorphism class first, resumable, atomic writes) into
``harness/zc_data/``; :class:`ZeroCostEvaluator` reads a committed score when the table's
settings match and computes it otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import weakref
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.errors import ConfigError, DataError, InvalidArchitecture, NashError, unknown
from harness.evaluators._base import Evaluator
from harness.records import STATUS_FAILED, Cost, EvalResult
from harness.spaces._base import SearchSpace

PROXIES = ("naswot",)
BENCHMARKS = ("nb201", "nb101")
#: benchmark names of the experiment files that score cells of another benchmark's space
BENCHMARK_ALIASES = {"nb101-30k": "nb101"}
DEFAULT_THREADS = 2
ZC_DATA = Path(__file__).resolve().parent.parent / "zc_data"
#: set to "1" to make every :class:`ZeroCostEvaluator` read scores only (a miss raises
#: :class:`ScoreCacheMiss`): a run-time switch of ``nash reproduce``, not part of any config
CACHE_ONLY_ENV = "NASH_NASWOT_CACHE_ONLY"


class ScoreCacheMiss(NashError):
    """A cache-only zero-cost evaluator met a cell whose score is neither committed nor cached."""


@dataclass(frozen=True, slots=True)
class NaswotResult:
    """One NASWOT scoring.

    ``score`` is ``log|det K|`` (``-inf`` when degenerate); ``n_relus`` the ReLU calls counted,
    ``n_units`` the total number of units ``N_A`` (so ``K``'s diagonal is ``n_units``);
    ``seconds`` the wall time of building and scoring the network.
    """

    score: float
    n_relus: int
    n_units: int
    seconds: float
    degenerate: bool = False
    reason: str = ""


# ----------------------------------------------------------------------------------------------
# the kernel


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Fix torch's CPU threads while scoring: reductions, hence scores, depend on it."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def _exact_cuda_conv() -> Iterator[None]:
    """Float32 (not TF32) convolutions and matrix products on CUDA while scoring."""
    conv, mm = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, mm


def _gram01(codes: torch.Tensor) -> torch.Tensor:
    """``C C^T`` of a boolean code matrix as float64, exactly.

    An int8 matrix product with int32 accumulation (``torch._int_mm``; AMX/VNNI on CPUs that
    have it, about 15x faster than float32 here) where the backend offers it, else float32
    (exact: sums of 0/1 below 2^24).
    """
    c8 = codes.view(torch.int8)
    if hasattr(torch, "_int_mm") and c8.shape[0] > 16 and c8.shape[1] % 8 == 0:
        try:
            return torch._int_mm(c8, c8.t()).double()
        except (RuntimeError, NotImplementedError):
            pass
    cf = codes.to(torch.float32)
    return torch.mm(cf, cf.t()).double()


def agreement_counts(codes: torch.Tensor) -> torch.Tensor:
    """``K = C C^T + (1 - C)(1 - C)^T`` for boolean codes ``[B, F]`` (float64 ``[B, B]``).

    Expanded as ``2 C C^T - r 1^T - 1 r^T + F`` with ``r`` the active-unit counts (the diagonal
    of ``C C^T``), so one matrix product suffices.
    """
    g = _gram01(codes)
    r = torch.diagonal(g)
    return 2.0 * g - r[:, None] - r[None, :] + codes.shape[1]


def naswot_kernel(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """The NASWOT kernel of ``model`` on ``images``: (K float64 [B, B], ReLU calls, units).

    The model is put in training mode (batch statistics) and run once under inference mode; a
    forward hook on every ``nn.ReLU`` accumulates the agreement counts of its input's codes.
    Models with a ``features`` method (the NB201 net) stop at the last ReLU.
    """
    b = images.shape[0]
    k = torch.zeros(b, b, dtype=torch.float64, device=images.device)
    state = {"relus": 0, "units": 0}
    seen: dict[int, tuple[weakref.ref[torch.Tensor], torch.Tensor, int]] = {}

    def hook(_module: nn.Module, inp: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
        x = inp[0]
        state["relus"] += 1
        hit = seen.get(id(x))
        if hit is not None and hit[0]() is x:  # same tensor read by another ReLU: same codes
            agree, units = hit[1], hit[2]
        else:
            codes = x.reshape(b, -1) > 0
            units = codes.shape[1]
            agree = agreement_counts(codes)
            seen[id(x)] = (weakref.ref(x), agree, units)
        k.add_(agree)
        state["units"] += units

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        model.train()
        with torch.inference_mode():
            features = getattr(model, "features", None)
            if callable(features):
                features(images)
            else:
                model(images)
    finally:
        for h in handles:
            h.remove()
    return k, state["relus"], state["units"]


def naswot_score(model: nn.Module, images: torch.Tensor) -> NaswotResult:
    """NASWOT score of an already built network (see the module docstring)."""
    from harness.data.images import check_images

    check_images(images)
    t0 = time.perf_counter()
    k, n_relus, n_units = naswot_kernel(model, images)
    return _result(k, n_relus, n_units, time.perf_counter() - t0)


def _result(k: torch.Tensor, n_relus: int, n_units: int, seconds: float) -> NaswotResult:
    if n_relus == 0:
        return NaswotResult(
            -math.inf, 0, 0, seconds, True, "the network has no ReLU: NASWOT is undefined"
        )
    sign, logdet = torch.linalg.slogdet(k.cpu())
    if float(sign) <= 0 or not math.isfinite(float(logdet)):
        return NaswotResult(
            -math.inf,
            n_relus,
            n_units,
            seconds,
            True,
            "singular NASWOT kernel: images are not separated by the ReLU codes "
            "(e.g. the cell's output is cut off by 'none' edges)",
        )
    return NaswotResult(float(logdet), n_relus, n_units, seconds)


def cell_seed(seed: int, space_name: str, cell_key: str) -> int:
    """The weight-initialisation seed of one cell: a stable hash of (seed, space, cell)."""
    digest = hashlib.sha256(f"{int(seed)}|{space_name}|{cell_key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _cell_key(space_name: str, cell: Any) -> str:
    from harness.models import network_space

    return network_space(space_name).network_key(cell)


def score_cell(
    space_name: str,
    cell: Hashable,
    images: torch.Tensor,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_threads: int | None = DEFAULT_THREADS,
) -> NaswotResult:
    """Build the untrained network of ``cell`` (seeded) and score it with NASWOT.

    NB101 cells are built from their canonical form (:func:`harness.spaces.nb101.canonical_form`)
    and seeded by their official hash, so isomorphic cells (one hash) get the same network,
    weights and score: a score is a function of the hash, which the NB101 score table and the
    score cache are keyed by. On CUDA, TF32 convolutions are switched off while scoring (codes
    are signs of activations: reduced precision flips more of them than float32 rounding).

    ``seconds`` covers building the network, moving it to ``device`` and scoring (not loading
    the images). ``num_threads`` fixes torch's CPU threads while scoring (None: leave as is).
    """
    from harness.data.images import check_images
    from harness.models import build_network

    check_images(images)
    with torch_threads(num_threads), _exact_cuda_conv():
        t0 = time.perf_counter()
        init_seed = cell_seed(seed, space_name, _cell_key(space_name, cell))
        from harness.models import network_space

        cell = network_space(space_name).network_cell(cell)  # equal keys, equal networks
        net = build_network(space_name, cell, 10, seed=init_seed)
        net = net.to(device)
        x = images.to(device)
        k, n_relus, n_units = naswot_kernel(net, x)
        res = _result(k, n_relus, n_units, 0.0)
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        seconds = time.perf_counter() - t0
    return NaswotResult(res.score, res.n_relus, res.n_units, seconds, res.degenerate, res.reason)


# ----------------------------------------------------------------------------------------------
# the evaluator

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
        benchmark: ``"nb201"`` or ``"nb101"`` (``"nb101-30k"``: the same, for experiment files).
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

        bench = get_benchmark(BENCHMARK_ALIASES.get(benchmark, benchmark))
        #: the network family of the benchmark's cells: names the score tables and caches
        benchmark = cell_space_of(make_space(bench.space))
        if benchmark not in BENCHMARKS:
            raise unknown("zero-cost benchmark", benchmark, (*BENCHMARKS, *BENCHMARK_ALIASES))
        self._bench = bench
        dataset = bench.dataset(dataset)
        #: index-keyed benchmarks keep scores by index; the others by their cells' hashes
        native = make_space(bench.space)
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
        elif self._indexed:
            path = table_path(self.images_name, self.batch_size)
        else:
            path = nb101_table_path(self.images_name, self.batch_size)
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


def resolve_device(device: str) -> str:
    """``"auto"``: ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other names unchanged."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


# ----------------------------------------------------------------------------------------------
# the persistent score cache (outside the repository)

SCORE_CACHE_FORMAT = 1
#: overrides the score cache's root directory (default ``<cache dir>/zc_scores``)
SCORE_CACHE_ENV = "NASH_ZC_CACHE_DIR"


class ScoreCache:
    """NASWOT scores computed on this machine, kept across runs and processes.

    One small JSON file per cell (``<key>.json``: score, seconds, status, ReLU count, device,
    threads, torch version) in a directory named after everything the score depends on:
    ``<root>/<space>_naswot_<images>-<image data fingerprint>_b<batch>_seed<seed>_v<format>``
    (root: ``$NASH_ZC_CACHE_DIR``, default ``<cache dir>/zc_scores``, next to the converted
    benchmark tables). Append-only: a
    file is written once, atomically (temporary file + rename), and never changed, so
    concurrent writers in several processes are safe (both computed the same cell with the
    same settings; the last rename wins) and a killed writer leaves no partial file. A file
    that does not parse is a miss (and is replaced by the next computation).

    The device is recorded but is not part of the key: CPU and CUDA scores of a cell differ
    only where float rounding flips an activation's sign (TF32 is off while scoring).
    """

    def __init__(
        self,
        space: str,
        images: str,
        batch_size: int,
        seed: int,
        *,
        root: Path | None = None,
    ) -> None:
        from harness.benchmarks.registry import source_fingerprint
        from harness.data.images import IMAGE_SETS
        from harness.paths import cache_dir

        if images not in IMAGE_SETS:
            raise unknown("image set", images, IMAGE_SETS)
        fp = source_fingerprint(IMAGE_SETS[images][0])
        if root is None:
            env = os.environ.get(SCORE_CACHE_ENV)
            root = Path(env).expanduser() if env else cache_dir() / "zc_scores"
        base = Path(root)
        self.space = space
        self.settings = {"images": images, "batch_size": int(batch_size), "seed": int(seed)}
        self.dir = (
            base / f"{space}_naswot_{images}-{fp}_b{int(batch_size)}_seed{int(seed)}"
            f"_v{SCORE_CACHE_FORMAT}"
        )
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"score cache directory {self.dir} cannot be created ({e.strerror or e}); set "
                "NASH_CACHE_DIR to a writable directory or pass score_cache=False"
            ) from None

    def _path(self, key: str) -> Path:
        """The file of a cell id (an NB201 index, an NB101 hash): a plain file name only."""
        if not (key and all(c.isalnum() or c in "-_" for c in key)):
            raise InvalidArchitecture(
                f"score-cache key {key!r} is not a cell id (letters, digits, '-' and '_' only)"
            )
        return self.dir / f"{key}.json"

    def get(self, key: str) -> tuple[float, float, str] | None:
        """(score, seconds, status) of a cached cell, or None."""
        path = self._path(key)
        try:
            rec = json.loads(path.read_text())
            return float(rec["score"]), float(rec["seconds"]), str(rec["status"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is a miss; the next put replaces it

    def put(
        self, key: str, r: NaswotResult, *, device: str = "cpu", threads: int | None = None
    ) -> None:
        """Record one scoring (atomic; never leaves a partial file)."""
        from harness.paths import atomic_path

        rec = {
            "key": key,
            "score": r.score if math.isfinite(r.score) else "-inf",
            "seconds": round(r.seconds, 4),
            "status": "degenerate" if r.degenerate else "ok",
            "n_relus": r.n_relus,
            "device": device,
            "threads": threads,
            "torch": torch.__version__,
            **self.settings,
        }
        with atomic_path(self._path(key)) as tmp:
            tmp.write_text(json.dumps(rec) + "\n")

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json"))

    def __len__(self) -> int:
        return len(self.keys())


# ----------------------------------------------------------------------------------------------
# committed score tables

TABLE_COLUMNS = ("nb201_index", "class_id", "score", "seconds", "status")


def table_path(images: str = "cifar10", batch_size: int = 128, seed: int = 0) -> Path:
    """Where the committed NB201 NASWOT table for these settings lives."""
    return ZC_DATA / f"nb201_naswot_{images}_b{batch_size}_seed{seed}.csv"


class _SidecarTable:
    """A committed CSV of scores plus a JSON sidecar of the settings that produced them.

    The shared part of the NB201 (by index) and NB101 (by hash) tables: reading with a column
    check, matching settings, and writing atomically (the sidecar last: it describes the CSV).
    """

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def meta_path(self) -> Path:
        return self.path.with_suffix(".json")

    @classmethod
    def _frame(cls, path: Path, **read_csv: Any) -> Any:
        import pandas as pd

        df = pd.read_csv(path, **read_csv)
        if tuple(df.columns) != cls.COLUMNS:
            raise DataError(f"{path}: expected columns {cls.COLUMNS}, got {tuple(df.columns)}")
        return df

    def settings_match(self, images: str, batch_size: int, seed: int) -> bool:
        m = self.meta
        return (m.get("images"), m.get("batch_size"), m.get("seed")) == (images, batch_size, seed)

    def _save(self, lines: list[str]) -> None:
        """Write the CSV rows, let :meth:`_describe` update the sidecar, then write it."""
        from harness.paths import atomic_path

        with atomic_path(self.path) as tmp:
            tmp.write_text("\n".join([",".join(self.COLUMNS), *lines]) + "\n")
            tmp.chmod(0o644)  # mkstemp creates 0600; the table is a committed, shared file
        self._describe()
        with atomic_path(self.meta_path) as tmp:
            tmp.write_text(json.dumps(self.meta, indent=1, sort_keys=True) + "\n")
            tmp.chmod(0o644)

    def _describe(self) -> None:
        """Coverage figures for the sidecar (subclasses)."""


class ScoreTable(_SidecarTable):
    """NASWOT scores of NB201 cells by benchmark index, with the settings that produced them.

    A CSV (``nb201_index, class_id, score, seconds, status``; ``status`` ``ok`` or
    ``degenerate``, whose score is ``-inf``) and a JSON sidecar of settings (images, batch,
    seed, threads, torch version, machine, regeneration command, coverage).
    """

    COLUMNS = TABLE_COLUMNS

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        super().__init__(path, meta)
        self.rows: dict[int, tuple[int, float, float, str]] = {}

    @classmethod
    def read(cls, path: Path) -> ScoreTable:
        t = cls(path, json.loads(path.with_suffix(".json").read_text()))
        for i, c, s, sec, st in cls._frame(path).itertuples(index=False):
            t.rows[int(i)] = (int(c), float(s), float(sec), str(st))
        return t

    def get(self, index: int) -> tuple[float, float, str] | None:
        r = self.rows.get(int(index))
        return None if r is None else (r[1], r[2], r[3])

    def by_class(self) -> dict[int, int]:
        """class id -> the benchmark index whose score the table holds (smallest index)."""
        out: dict[int, int] = {}
        for i in sorted(self.rows):
            out.setdefault(self.rows[i][0], i)
        return out

    def write(self) -> None:
        self._save(
            [f"{i},{c},{s!r},{sec:.4f},{st}" for i, (c, s, sec, st) in sorted(self.rows.items())]
        )

    def _describe(self) -> None:
        n_cells, n_classes = len(self.rows), len({r[0] for r in self.rows.values()})
        self.meta["n_cells"], self.meta["n_classes"] = n_cells, n_classes
        self.meta["coverage"] = (
            f"{n_cells} of 15,625 cells; {n_classes} of 6,466 isomorphism classes"
        )


def nb201_compute_order(scope: str = "classes") -> list[int]:
    """Benchmark indices in computing order.

    First one representative (the smallest index) of every isomorphism class none of whose
    members has a published ``zc_nwot`` value; then representatives of the other classes; with
    ``scope="all"`` then every remaining cell.
    """
    from harness.benchmarks import nb201 as tables
    from harness.spaces import nb201

    space = nb201.NB201Space()
    published = np.isfinite(np.asarray(tables.load().column("cifar10", "zc_nwot")))
    cls = np.array([space.class_id(nb201.arch_of_index(i)) for i in range(nb201.N_CELLS)])
    rep: dict[int, int] = {}
    covered: set[int] = set()
    for i in range(nb201.N_CELLS):
        rep.setdefault(int(cls[i]), i)
        if published[i]:
            covered.add(int(cls[i]))
    first = [r for c, r in sorted(rep.items(), key=lambda kv: kv[1]) if c not in covered]
    second = [r for c, r in sorted(rep.items(), key=lambda kv: kv[1]) if c in covered]
    order = first + second
    if scope == "all":
        chosen = set(order)
        order += [i for i in range(nb201.N_CELLS) if i not in chosen]
    return order


def compute_nb201_table(
    *,
    images: str = "cifar10",
    batch_size: int = 128,
    seed: int = 0,
    num_threads: int = 1,
    scope: str = "classes",
    limit: int | None = None,
    max_seconds: float | None = None,
    flush_every: int = 25,
    path: Path | None = None,
    progress: bool = True,
) -> ScoreTable:
    """Compute (or resume) the NB201 NASWOT table; partial results are written atomically."""
    import platform

    from harness.data.images import load_images
    from harness.spaces import nb201

    if scope not in ("classes", "all"):
        raise unknown("scope", scope, ("classes", "all"))
    path = path or table_path(images, batch_size, seed)
    if path.exists():
        table = ScoreTable.read(path)
        if not table.settings_match(images, batch_size, seed):
            raise ConfigError(f"{path} holds scores for other settings: {table.meta}")
    else:
        table = ScoreTable(path)
    table.meta.update(
        proxy="naswot",
        space="nb201",
        images=images,
        batch_size=batch_size,
        seed=seed,
        num_threads=num_threads,
        torch=torch.__version__,
        machine=platform.processor() or platform.machine(),
        command=f"python -m harness.evaluators.zero_cost --compute-nb201 --images {images} "
        f"--batch-size {batch_size} --seed {seed} --scope {scope}",
        order="one representative (smallest index) per isomorphism class, classes without a "
        "published zc_nwot value first; then (scope all) every other cell",
        images_note="CIFAR-10 images for every dataset (only CIFAR-10 images are shipped)"
        if images == "cifar10"
        else f"{images} images",
    )
    x = load_images(images, batch_size)
    space = nb201.NB201Space()
    todo = [i for i in nb201_compute_order(scope) if i not in table.rows]
    if limit is not None:
        todo = todo[:limit]
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="naswot nb201", unit="cell", file=sys.stderr)
    t0 = time.perf_counter()
    done_since_flush = 0
    try:
        for i in todo:
            arch = nb201.arch_of_index(i)
            r = score_cell("nb201", arch, x, seed=seed, num_threads=num_threads)
            status = "degenerate" if r.degenerate else "ok"
            table.rows[i] = (space.class_id(arch), r.score, r.seconds, status)
            done_since_flush += 1
            if bar is not None:
                bar.update(1)
            if done_since_flush >= flush_every:
                table.write()
                done_since_flush = 0
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
    finally:
        if done_since_flush:
            table.write()
        if bar is not None:
            bar.close()
    return table


# ----------------------------------------------------------------------------------------------
# the committed NB101 table (keyed by the official hash)

NB101_TABLE_COLUMNS = ("nb101_hash", "score", "seconds", "status", "n_relus")


def nb101_table_path(images: str = "cifar10", batch_size: int = 128, seed: int = 0) -> Path:
    """Where the committed NB101 NASWOT table for these settings lives."""
    return ZC_DATA / f"nb101_naswot_{images}_b{batch_size}_seed{seed}.csv"


class HashScoreTable(_SidecarTable):
    """NASWOT scores of NB101 cells by official hash, with the settings that produced them.

    A CSV (``nb101_hash, score, seconds, status, n_relus``; ``status`` ``ok`` or
    ``degenerate``, whose score is ``-inf``) and a JSON sidecar of settings (images, batch,
    seed, threads, torch version, machine, regeneration command, wall time, coverage).
    """

    COLUMNS = NB101_TABLE_COLUMNS

    def __init__(self, path: Path, meta: dict[str, Any] | None = None) -> None:
        super().__init__(path, meta)
        self.rows: dict[str, tuple[float, float, str, int]] = {}

    @classmethod
    def read(cls, path: Path) -> HashScoreTable:
        t = cls(path, json.loads(path.with_suffix(".json").read_text()))
        df = cls._frame(path, dtype={"nb101_hash": str})
        for h, s, sec, st, n in df.itertuples(index=False):
            t.rows[str(h)] = (float(s), float(sec), str(st), int(n))
        return t

    def get(self, key: str) -> tuple[float, float, str] | None:
        r = self.rows.get(str(key))
        return None if r is None else (r[0], r[1], r[2])

    def write(self) -> None:
        self._save(
            [f"{h},{s!r},{sec:.4f},{st},{n}" for h, (s, sec, st, n) in sorted(self.rows.items())]
        )

    def _describe(self) -> None:
        secs = np.array([r[1] for r in self.rows.values()], dtype=float)
        self.meta["n_cells"] = len(self.rows)
        self.meta["n_degenerate"] = sum(r[2] != "ok" for r in self.rows.values())
        if secs.size:
            self.meta["cell_seconds"] = {
                "median": round(float(np.median(secs)), 3),
                "mean": round(float(secs.mean()), 3),
                "min": round(float(secs.min()), 3),
                "max": round(float(secs.max()), 3),
                "total": round(float(secs.sum()), 1),
            }


def compute_nb101_table(
    *,
    images: str = "cifar10",
    batch_size: int = 128,
    seed: int = 0,
    num_threads: int = 1,
    limit: int | None = None,
    max_seconds: float | None = None,
    flush_every: int = 5,
    path: Path | None = None,
    progress: bool = True,
) -> HashScoreTable:
    """Compute (or resume) NASWOT of the 292 distinct cells of the shipped zc500 NB101 sample.

    Cells are deduplicated by official hash (first row's spec, file order); partial results
    are written atomically every ``flush_every`` cells, so a killed run resumes where it
    stopped. The sidecar accumulates the wall time over sessions.
    """
    import platform

    from harness.benchmarks.nb101 import ZC500_FILE, zc500_cells
    from harness.data.images import load_images

    path = path or nb101_table_path(images, batch_size, seed)
    if path.exists() and path.with_suffix(".json").exists():
        table = HashScoreTable.read(path)
        if not table.settings_match(images, batch_size, seed):
            raise ConfigError(
                f"{path} holds scores for other settings ({table.meta.get('images')}, batch "
                f"{table.meta.get('batch_size')}, seed {table.meta.get('seed')}); pass --out "
                "for a new table"
            )
    else:
        table = HashScoreTable(path)
    x = load_images(images, batch_size)  # validates images and batch size first
    cells = zc500_cells()
    cmd = (
        f"nash score nb101 --proxy naswot --images {images} --batch-size {batch_size} "
        f"--seed {seed} --threads {num_threads}"
    )
    sessions = list(table.meta.get("sessions", []))
    table.meta.update(
        proxy="naswot",
        space="nb101",
        images=images,
        batch_size=batch_size,
        seed=seed,
        num_threads=num_threads,
        torch=torch.__version__,
        machine=platform.processor() or platform.machine(),
        command=cmd,
        cells=f"the {len(cells)} distinct cells (by official hash) of {ZC500_FILE} "
        "(NAS-Bench-Suite-Zero sample), in file order; the first row's spec of each hash",
        network="nasbench-pytorch NB101 skeleton (stem 128 channels, 3 stacks x 3 cells), "
        "built from the canonical form of the hash; PyTorch default initialisation seeded by "
        "(seed, 'nb101', hash); training mode (batch statistics); one forward pass",
        images_note="the first 128 of the 164 shipped CIFAR-10 images (normalised)"
        if images == "cifar10"
        else f"{images} images",
        coverage_of=len(cells),
    )
    todo = [h for h in cells if h not in table.rows]
    if limit is not None:
        todo = todo[:limit]
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="naswot nb101", unit="cell", file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    t0 = time.perf_counter()
    done_since_flush = n_done = 0

    def flush() -> None:
        wall = time.perf_counter() - t0
        table.meta["sessions"] = [
            *sessions,
            {"cells": n_done, "wall_s": round(wall, 1), "loadavg_1min_at_start": load},
        ]
        table.meta["wall_s"] = round(sum(s["wall_s"] for s in table.meta["sessions"]), 1)
        table.write()

    try:
        for h in todo:
            r = score_cell("nb101", cells[h], x, seed=seed, num_threads=num_threads)
            status = "degenerate" if r.degenerate else "ok"
            table.rows[h] = (r.score, r.seconds, status, r.n_relus)
            done_since_flush += 1
            n_done += 1
            if bar is not None:
                bar.update(1)
            if done_since_flush >= flush_every:
                flush()
                done_since_flush = 0
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
    finally:
        if done_since_flush or not path.exists():
            flush()
        if bar is not None:
            bar.close()
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="nash dev zero-cost",
        description="Compute the committed NB201 NASWOT score table (resumable).",
    )
    p.add_argument("--compute-nb201", action="store_true", required=True)
    p.add_argument("--images", default="cifar10")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scope", default="classes", choices=("classes", "all"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    try:
        t = compute_nb201_table(
            images=args.images,
            batch_size=args.batch_size,
            seed=args.seed,
            num_threads=args.threads,
            scope=args.scope,
            limit=args.limit,
            max_seconds=args.max_seconds,
            path=args.out,
        )
    except (ConfigError, InvalidArchitecture) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{t.path}: {len(t.rows)} cells, {t.meta.get('n_classes')} classes")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
