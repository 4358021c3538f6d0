"""Multi-fidelity strategies: successive halving, Hyperband, BOHB and ASHA.

Each proposes :class:`~harness.strategies._base.Proposal` objects (a cell and the epochs to train
it for); the run loop charges each proposal its fidelity's cost (:mod:`harness.runner.fidelity`)
so these methods and single-fidelity ones spend the same budget in full-evaluation equivalents.

**Rungs.** Tabular benchmarks offer a few fixed fidelities (NB101: 4/12/36/108 epochs; NB201:
12/200), so the rungs are the benchmark's fidelities between ``min_fidelity`` and
``max_fidelity`` (told by the run loop through ``bind_fidelities``, or given as ``fidelities``),
and ``eta`` is the promotion ratio: each rung keeps the best ``1/eta`` of the one below. On
NB101 with ``eta = 3`` the rungs are exactly Hyperband's geometric budgets (4 * 3^i epochs); on
NB201 the two rungs are 16.7x apart whatever ``eta`` is.

Why written here rather than taken from a library: hpbandster and DEHB drive their own worker
loop (a nameserver / a ``run`` call that evaluates), Syne Tune schedulers need its backend and a
``Trial`` lifecycle, and optuna's Hyperband pruner decides by reported learning curves, which the
benchmarks do not have (NB101's fidelities are separate trainings). None fits ask/tell over a
fixed rung ladder, so the algorithms are written from the papers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import ConfigError
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import (
    Proposal,
    SeedLike,
    Strategy,
    check_fraction,
    check_positive_int,
    fitness,
)


def check_eta(eta: object) -> float:
    """Successive halving keeps 1/eta of each rung: eta below 2 halves nothing meaningfully."""
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not eta >= 2:
        raise ConfigError(
            f"eta must be a number >= 2 (the promotion ratio of successive halving), got {eta!r}"
        )
    return float(eta)


class _MultiFidelity(Strategy):
    """Shared parts: the rung ladder, matching results to proposals, the recommendation."""

    multi_fidelity = True

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        eta: float = 3,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        fidelities: Sequence[int] | None = None,
    ) -> None:
        super().__init__(space, seed=seed)
        self.eta = check_eta(eta)
        self.min_fidelity, self.max_fidelity = min_fidelity, max_fidelity
        self._given = tuple(int(f) for f in fidelities) if fidelities is not None else None
        self.rungs: tuple[int, ...] = ()
        if self._given is not None:
            self.bind_fidelities(self._given, max(self._given))
        self._init_state()

    def _init_state(self) -> None:
        """The schedule's bookkeeping (each method its own); parameters are set before."""

    def bind_fidelities(self, available: Sequence[int], full: int) -> None:
        avail = sorted(set(int(f) for f in available))
        wanted = sorted(set(self._given)) if self._given is not None else avail
        for f in (*wanted, self.min_fidelity, self.max_fidelity):
            if f is not None and f not in avail:
                raise ConfigError(
                    f"{self.name}: the benchmark has no fidelity {f} (fidelities up to the "
                    f"run's {full}: {', '.join(map(str, avail))}); choose rungs among those"
                )
        lo = self.min_fidelity if self.min_fidelity is not None else wanted[0]
        hi = self.max_fidelity if self.max_fidelity is not None else wanted[-1]
        rungs = tuple(f for f in wanted if lo <= f <= hi)
        if not rungs or lo > hi:
            raise ConfigError(
                f"{self.name}: min_fidelity {lo} > max_fidelity {hi}; no rungs to search"
            )
        self.rungs = rungs

    def _check_bound(self) -> None:
        if not self.rungs:
            raise ConfigError(
                f"{self.name} needs its rungs: run it through run_search (which tells it the "
                "benchmark's fidelities) or pass fidelities=[...]"
            )

    def _sample(self) -> Hashable:
        """A new configuration (uniform here; BOHB samples from its density model)."""
        return self.space.sample(self.rng)

    def recommend(self) -> Hashable | None:
        """The best signal at the highest fidelity evaluated (lower rungs are not comparable)."""
        ok = [o for o in self.history if o.ok]
        if not ok:
            return None
        top = max(o.fidelity or 0 for o in ok)
        return max((o for o in ok if (o.fidelity or 0) == top), key=fitness).arch


@dataclass
class _Rung:
    """One rung of a bracket: ``size`` cells evaluated at ``fidelity``, and their results."""

    fidelity: int
    size: int
    archs: list[Hashable] = field(default_factory=list)
    signals: list[float] = field(default_factory=list)


class _Brackets(_MultiFidelity):
    """Synchronous brackets of successive halving: the rung bookkeeping of SH, Hyperband, BOHB.

    A bracket is a list of rungs; its first rung's cells are sampled when asked, each later
    rung holds the best of the one below once all its results are told. Subclasses choose the
    next bracket (:meth:`_next_bracket`) and how a new cell is sampled (:meth:`_sample`).
    """

    def _init_state(self) -> None:
        self._bracket: list[_Rung] = []
        self._level = 0
        self._queue: deque[Hashable] = deque()
        self._to_sample = 0
        self._awaiting = 0
        self.n_brackets = 0

    def _next_bracket(self) -> list[_Rung]:
        raise NotImplementedError

    def _bracket_of(self, s: int, n: int) -> list[_Rung]:
        """A bracket that starts ``s`` rungs below the top with ``n`` cells."""
        fids = self.rungs[len(self.rungs) - 1 - s :]
        return [_Rung(f, max(1, math.floor(n * self.eta ** (-i)))) for i, f in enumerate(fids)]

    def _advance(self) -> None:
        """Promote the best of the finished rung to the next one, or start a new bracket."""
        if self._bracket and self._level + 1 < len(self._bracket):
            r, nxt = self._bracket[self._level], self._bracket[self._level + 1]
            order = np.argsort(-np.asarray(r.signals), kind="stable")
            nxt.archs = [r.archs[int(j)] for j in order[: nxt.size]]
            self._level += 1
            self._queue = deque(nxt.archs)
            return
        self._bracket, self._level = self._next_bracket(), 0
        self._to_sample = self._bracket[0].size  # sampled when asked (BOHB's model learns)
        self.n_brackets += 1

    def ask(self) -> Hashable:
        self._check_bound()
        if not self._queue and not self._to_sample:
            if self._awaiting:
                raise RuntimeError(f"{self.name} asked before its rung's results were told")
            self._advance()
        rung = self._bracket[self._level]
        if self._to_sample:
            self._to_sample -= 1
            arch = self._sample()
            rung.archs.append(arch)
        else:
            arch = self._queue.popleft()
        self._awaiting += 1
        return Proposal(arch, rung.fidelity)

    def _tell(self, obs: Observation) -> None:
        self._awaiting = max(self._awaiting - 1, 0)
        if self._bracket:
            self._bracket[self._level].signals.append(fitness(obs))


class SuccessiveHalving(_Brackets):
    """Successive halving (Jamieson & Talwalkar 2016; Li et al. 2017, Hyperband's inner loop).

    Repeated brackets: ``n_configs`` new cells (default ``ceil(eta^K)`` for K+1 rungs) at the
    lowest rung, the best ``floor(n / eta^i)`` of them at rung i, until the budget is spent.
    """

    name = "successive_halving"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        eta: float = 3,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        fidelities: Sequence[int] | None = None,
        n_configs: int | None = None,
    ) -> None:
        self.n_configs = None if n_configs is None else check_positive_int("n_configs", n_configs)
        super().__init__(
            space,
            seed=seed,
            eta=eta,
            min_fidelity=min_fidelity,
            max_fidelity=max_fidelity,
            fidelities=fidelities,
        )

    def _next_bracket(self) -> list[_Rung]:
        k = len(self.rungs) - 1
        return self._bracket_of(k, self.n_configs or max(1, math.ceil(self.eta**k)))


class Hyperband(_Brackets):
    """Hyperband (Li et al. 2017): successive halving over brackets s = K, ..., 0, repeated.

    Bracket s starts ``ceil((K+1)/(s+1) * eta^s)`` cells at rung K-s, so the brackets trade many
    cheap evaluations against few full ones.
    """

    name = "hyperband"

    def _init_state(self) -> None:
        super()._init_state()
        self._s_next = -1

    def _next_bracket(self) -> list[_Rung]:
        k = len(self.rungs) - 1
        s = k if self._s_next < 0 else self._s_next
        self._s_next = s - 1
        return self._bracket_of(s, math.ceil((k + 1) / (s + 1) * self.eta**s))


class BOHB(Hyperband):
    """BOHB (Falkner et al. 2018): Hyperband whose new cells come from TPE-style densities.

    For each new cell: with probability ``random_fraction`` a uniform sample; otherwise, when the
    highest rung with at least ``min_points_in_model + 2`` results has enough good and bad
    points, the results there are split into the best ``top_n_percent`` (``l``) and the rest
    (``g``), a product of Aitchison-Aitken kernels is fitted to each over the space's one-hot
    encoding (bandwidths by the normal-reference rule, at least ``min_bandwidth``), and of
    ``num_samples`` candidates the one maximising ``l(x) / g(x)`` is proposed.

    Candidates: BOHB draws them from ``l`` with bandwidths widened by ``bandwidth_factor``. A
    cell space need not be a product of categorical choices (NB101 cells are pruned graphs; most
    edge-bit vectors are invalid, and the 30k pool holds 7 % of the valid ones), so here they are
    drawn from the widened ``l`` *restricted to the space's cells* by sampling-importance-
    resampling: ``n_candidates`` uniform cells of the space, resampled ``num_samples`` times with
    weights proportional to the widened ``l``. Every candidate is a valid cell of the space.
    ``min_points_in_model`` defaults to the number of categorical choices + 1 (hpbandster's
    default), or the encoding length + 1 where the space exposes no categorical parametrization.

    A variant, not a replica of hpbandster (the authors' code), whose KDE works on the choice
    indices of a categorical parametrization with normal-reference bandwidths on those indices:
    on NB201 with the NB201 paper's settings ours finds better cells than hpbandster on the same
    tables (``bench/reference_bohb.py``; the comparison is in bench/RESULTS.md). ``kde =
    "hpbandster"`` computes the reference's model instead (:class:`_HpbandsterKDE`; on a space
    with a categorical parametrization; ``bandwidth_factor`` then has no effect, as hpbandster
    widens only continuous parameters), and is not separated from hpbandster on those tables.
    """

    name = "bohb"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        eta: float = 3,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        fidelities: Sequence[int] | None = None,
        random_fraction: float = 1 / 3,
        top_n_percent: float = 15,
        num_samples: int = 64,
        bandwidth_factor: float = 3,
        min_bandwidth: float = 1e-3,
        min_points_in_model: int | None = None,
        encoding: str = "onehot",
        n_candidates: int = 128,
        kde: str = "onehot",
    ) -> None:
        super().__init__(
            space,
            seed=seed,
            eta=eta,
            min_fidelity=min_fidelity,
            max_fidelity=max_fidelity,
            fidelities=fidelities,
        )
        if kde not in KDE_MODELS:
            raise ConfigError(f"bohb: kde must be one of {', '.join(KDE_MODELS)}, got {kde!r}")
        self.kde = kde
        self._params = getattr(space, "categorical_params", lambda: None)()
        if kde == "hpbandster" and not self._params:
            raise ConfigError(
                f"bohb: kde = 'hpbandster' needs a categorical parametrization, and space "
                f"{space.name!r} has none (use kde = 'onehot')"
            )
        if isinstance(random_fraction, bool) or not 0 <= random_fraction <= 1:
            raise ConfigError(f"random_fraction must be in [0, 1], got {random_fraction!r}")
        if isinstance(top_n_percent, bool) or not 0 < top_n_percent < 100:
            raise ConfigError(f"top_n_percent must be in (0, 100), got {top_n_percent!r}")
        if encoding not in space.encodings:
            raise ConfigError(
                f"bohb: space {space.name!r} has no encoding {encoding!r} "
                f"(has: {', '.join(space.encodings) or 'none'})"
            )
        self.random_fraction = float(random_fraction)
        self.top_n_percent = float(top_n_percent)
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.bandwidth_factor = float(bandwidth_factor)
        self.min_bandwidth = check_fraction("min_bandwidth", min_bandwidth)
        self.encoding = encoding
        self._enc_cache: dict[Hashable, np.ndarray] = {}
        params = getattr(space, "categorical_params", lambda: None)()
        dims = len(params) if params else int(np.asarray(self._enc(space.sample(self.rng))).size)
        self.min_points = (
            dims + 1
            if min_points_in_model is None
            else check_positive_int("min_points_in_model", min_points_in_model)
        )
        self._dims = dims
        self.n_candidates = check_positive_int("n_candidates", n_candidates)
        # fidelity -> (encodings, signals) of the results at that rung
        self._data: dict[int, tuple[list[np.ndarray], list[float]]] = {}
        self.n_model_samples = 0
        self._hpb = _HpbandsterKDE(self) if kde == "hpbandster" else None

    def _enc(self, arch: Hashable) -> np.ndarray:
        hit = self._enc_cache.get(arch)
        if hit is None:
            hit = np.asarray(self.space.encode(arch, self.encoding), dtype=np.float64).ravel()
            self._enc_cache[arch] = hit
        return hit

    def _tell(self, obs: Observation) -> None:
        super()._tell(obs)
        if self._hpb is not None:
            self._hpb.tell(obs)
        elif obs.fidelity is not None:
            x, y = self._data.setdefault(obs.fidelity, ([], []))
            x.append(self._enc(obs.arch))
            y.append(fitness(obs))

    def _sample(self) -> Hashable:
        if self._hpb is not None:
            return self._hpb.sample()
        if self.rng.random() < self.random_fraction:
            return self.space.sample(self.rng)
        model = self._model()
        if model is None:
            return self.space.sample(self.rng)
        good_x, bw_l, bad_x, bw_g = model
        base = [self.space.sample(self.rng) for _ in range(self.n_candidates)]
        xs = np.stack([self._enc(a) for a in base])
        wide = np.clip(bw_l * self.bandwidth_factor, self.min_bandwidth, 0.5)
        log_w = _log_aa(xs, good_x, wide)
        w = np.exp(log_w - log_w.max())
        picks = self.rng.choice(len(base), size=self.num_samples, p=w / w.sum())
        score = _log_aa(xs[picks], good_x, bw_l) - _log_aa(xs[picks], bad_x, bw_g)
        self.n_model_samples += 1
        return base[int(picks[int(np.argmax(score))])]

    def _model(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Good/bad densities on the highest rung with enough results (Falkner et al., Alg. 2)."""
        for f in sorted(self._data, reverse=True):
            xs, ys = self._data[f]
            ok = [i for i, y in enumerate(ys) if math.isfinite(y)]
            if len(ok) < self.min_points + 2:
                continue
            order = sorted(ok, key=lambda i: -ys[i])
            n_good = max(self.min_points, (int(self.top_n_percent) * len(ok)) // 100)
            n_bad = max(self.min_points, ((100 - int(self.top_n_percent)) * len(ok)) // 100)
            good, bad = order[:n_good], order[n_good : n_good + n_bad]
            if len(good) <= self._dims or len(bad) <= self._dims:
                continue
            gx = np.stack([xs[i] for i in good])
            bx = np.stack([xs[i] for i in bad])
            return gx, self._bw(gx), bx, self._bw(bx)
        return None

    def _bw(self, x: np.ndarray) -> np.ndarray:
        """Normal-reference bandwidths per binary feature, clipped to [min_bandwidth, 1/2]."""
        n = x.shape[0]
        bw = 1.06 * x.std(axis=0) * n ** (-1.0 / (4 + x.shape[1]))
        return np.clip(bw, self.min_bandwidth, 0.5)


#: BOHB's density models: ``onehot`` (this project's variant, above) and ``hpbandster`` (the
#: authors' code's model, :class:`_HpbandsterKDE`)
KDE_MODELS = ("onehot", "hpbandster")


class _HpbandsterKDE:
    """BOHB's model as the authors' code (hpbandster 0.7.4, ``config_generators/bohb.py``, with
    statsmodels' ``KDEMultivariate``) computes it, on a space's categorical choice indices.

    Why a second model: on NB201 the project's one-hot variant finds better cells than the
    reference (bench/RESULTS.md), so a published BOHB number is only checked against BOHB with
    this one. What it reproduces: results are recorded per budget, but not at a budget below the
    largest one that has a model; a model needs more than ``min_points_in_model`` results and
    more good and bad points than dimensions; good = the best ``max(min_points, top_n_percent %)``
    by loss (``np.argsort``), bad = the next ``max(min_points, (100 - top_n_percent) %)``;
    bandwidths by the normal-reference rule on the indices (``1.06 std n^(-1/(4+d))``), clipped
    below at ``min_bandwidth`` and not above; Aitchison-Aitken kernels whose number of levels
    is the count of distinct values in the data (statsmodels' default; one level gives an
    infinite kernel off the data, as there); candidates: a random good point, each index kept
    with probability ``1 - max(bw, min_bandwidth)`` and otherwise uniform; the candidate
    minimising ``max(1e-32, g) / max(l, 1e-32)`` wins, and a non-finite ratio with a finite
    ``l`` is taken at once. Not reproduced: the random stream (numpy's global state there, the
    run's generator here). A vector that is no valid cell of the space (NB101's edge bits) is
    replaced by a uniform cell; hpbandster has no such case.
    """

    def __init__(self, owner: BOHB) -> None:
        self.o = owner
        params = owner._params or {}
        self.names = list(params)
        self.choices = [tuple(params[n]) for n in self.names]
        self.levels = np.array([len(c) for c in self.choices], dtype=np.int64)
        self.vec: dict[str, np.ndarray] = {}  # canonical key -> the index vector proposed
        self.configs: dict[int, list[np.ndarray]] = {}
        self.losses: dict[int, list[float]] = {}
        self.models: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def _arch(self, v: np.ndarray) -> Hashable | None:
        from harness.errors import InvalidArchitecture

        try:
            return self.o.space.from_params(
                {n: ch[int(i)] for n, ch, i in zip(self.names, self.choices, v, strict=True)}
            )
        except InvalidArchitecture:
            return None

    def _propose(self, v: np.ndarray) -> Hashable:
        arch = self._arch(v)
        if arch is None:  # no cell of this space: a uniform cell instead
            return self._uniform()
        self.vec[self.o.space.canonical(arch)] = v
        return arch

    def _uniform(self) -> Hashable:
        o = self.o
        for _ in range(10_000):
            v = np.array([o.rng.integers(t) for t in self.levels], dtype=np.float64)
            arch = self._arch(v)
            if arch is not None:
                self.vec[o.space.canonical(arch)] = v
                return arch
        return o.space.sample(o.rng)  # pragma: no cover - a space with almost no valid vector

    def tell(self, obs: Observation) -> None:
        o, f = self.o, obs.fidelity
        if f is None:
            return
        v = self.vec.get(o.space.canonical(obs.arch))
        if v is None:
            return
        self.configs.setdefault(f, [])
        self.losses.setdefault(f, [])
        if max([*self.models, -math.inf]) > f:  # a model at a larger budget exists
            return
        y = fitness(obs)
        self.configs[f].append(v)
        self.losses[f].append(-y if math.isfinite(y) else math.inf)
        n = len(self.configs[f])
        if n <= o.min_points - 1:
            return
        x = np.array(self.configs[f])
        idx = np.argsort(np.array(self.losses[f]))
        top = int(o.top_n_percent)
        n_good = max(o.min_points, (top * n) // 100)
        n_bad = max(o.min_points, ((100 - top) * n) // 100)
        good, bad = x[idx[:n_good]], x[idx[n_good : n_good + n_bad]]
        if good.shape[0] <= good.shape[1] or bad.shape[0] <= bad.shape[1]:
            return
        self.models[f] = (good, self._bw(good), bad, self._bw(bad))

    def _bw(self, data: np.ndarray) -> np.ndarray:
        n, d = data.shape
        bw = 1.06 * np.std(data, axis=0) * n ** (-1.0 / (4 + d))
        return np.asarray(np.clip(bw, self.o.min_bandwidth, None))

    @staticmethod
    def _pdf(v: np.ndarray, data: np.ndarray, bw: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            levels = np.array([np.unique(data[:, j]).size for j in range(data.shape[1])])
            k = np.where(data == v[None, :], 1.0 - bw, bw / (levels - 1))
            return float(k.prod(axis=1).sum() / data.shape[0])

    def sample(self) -> Hashable:
        o = self.o
        if not self.models or o.rng.random() < o.random_fraction:
            return self._uniform()
        good, bw_g, bad, bw_b = self.models[max(self.models)]
        best, best_v = math.inf, None
        for _ in range(o.num_samples):
            datum = good[int(o.rng.integers(len(good)))]
            v = np.array(
                [
                    m if o.rng.random() < 1 - max(b, o.min_bandwidth) else o.rng.integers(t)
                    for m, b, t in zip(datum, bw_g, self.levels, strict=True)
                ],
                dtype=np.float64,
            )
            lv = self._pdf(v, good, bw_g)
            with np.errstate(divide="ignore", invalid="ignore"):
                val = max(1e-32, self._pdf(v, bad, bw_b)) / max(lv, 1e-32)
            if not math.isfinite(val) and math.isfinite(lv):
                best_v = v
                break
            if val < best:
                best, best_v = val, v
        if best_v is None:
            return self._uniform()
        o.n_model_samples += 1
        return self._propose(best_v)


def _log_aa(x: np.ndarray, data: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Log densities at the rows of ``x`` of a product of Aitchison-Aitken kernels centred on
    the rows of ``data`` (binary features: weight 1 - bw where equal, bw where not)."""
    diff = x[:, None, :] != data[None, :, :]
    logk = np.where(diff, np.log(bw), np.log1p(-bw)).sum(axis=2)  # (n_x, n_data)
    m = logk.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(logk - m).mean(axis=1, keepdims=True))).ravel()


class ASHA(_MultiFidelity):
    """Asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel HPO").

    Whenever a worker is free: promote a cell that is in the top ``1/eta`` of its rung and not yet
    promoted (highest rung first); otherwise start a new cell at the lowest rung. No rung waits
    for another, so workers never idle. On tabular benchmarks the asynchrony runs on the
    simulated clock (:class:`~harness.runner.executors.SimulatedExecutor`), which needs each
    evaluation's training time: NB101 records it at 108 epochs, and lower fidelities are charged
    f/108 of it (the declared model of :mod:`harness.runner.fidelity`).
    """

    name = "asha"
    supports_async = True

    def _init_state(self) -> None:
        # per rung: (canonical key, arch, fitness) of the results, and keys promoted from it
        self._results: list[list[tuple[str, Hashable, float]]] = []
        self._promoted: list[set[str]] = []
        self._in_flight: dict[tuple[str, int], int] = {}

    def _ensure_rungs(self) -> None:
        """One result list per rung, once the rungs are known (bound by the run loop)."""
        if not self._results:
            self._results = [[] for _ in self.rungs]
            self._promoted = [set() for _ in self.rungs]

    def ask(self) -> Hashable:
        self._check_bound()
        self._ensure_rungs()
        for k in range(len(self.rungs) - 2, -1, -1):
            res = self._results[k]
            n_top = int(len(res) // self.eta)
            if n_top == 0:
                continue
            order = sorted(range(len(res)), key=lambda i: -res[i][2])[:n_top]
            for i in order:
                key, arch, _y = res[i]
                if key not in self._promoted[k]:
                    self._promoted[k].add(key)
                    return self._propose(arch, k + 1)
        return self._propose(self.space.sample(self.rng), 0)

    def _propose(self, arch: Hashable, k: int) -> Proposal:
        ck = (self.space.canonical(arch), self.rungs[k])
        self._in_flight[ck] = self._in_flight.get(ck, 0) + 1
        return Proposal(arch, self.rungs[k])

    def _tell(self, obs: Observation) -> None:
        self._ensure_rungs()
        key = self.space.canonical(obs.arch)
        f = obs.fidelity
        if f not in self.rungs:
            return
        ck = (key, f)
        if self._in_flight.get(ck, 0) > 0:
            self._in_flight[ck] -= 1
        k = self.rungs.index(f)
        if all(r[0] != key for r in self._results[k]):
            self._results[k].append((key, obs.arch, fitness(obs)))
