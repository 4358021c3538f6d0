"""Model-based search: BANANAS (White et al., AAAI 2021) and GP-based Bayesian optimisation.

Both follow one batch loop (:class:`_ModelBased`): evaluate ``n_init`` random distinct cells;
then, per iteration, fit a model on every successful evaluation so far, build candidates by
mutating the best cells (GP-BO adds random cells), drop cells already evaluated or duplicated
(canonical keys), score the candidates with an acquisition function and evaluate the best
``batch_size`` of them. Failed evaluations are not training data.

BANANAS, with the settings of the authors' naszilla code: 10 initial random cells, 10 cells
evaluated per iteration, 100 candidates from mutating the 10 best cells, an ensemble of 5
networks on the path encoding, independent Thompson sampling (for each candidate, one draw from
a normal with the ensemble's mean and standard deviation; the highest draws win). The networks
are the registered ``mlp`` surrogate (10 hidden layers of width 20, lr 0.01, 150 epochs, batch
32: naszilla's NB101 meta neural net; MSE loss here where naszilla uses MAE; naszilla's NB201
setting, width 200, lr 0.001, 200 epochs, is the ``bananas_wide`` preset) and ``surrogate``
names any registered vector surrogate instead; member ``i`` gets its own seed. naszilla
truncates NB101 path encodings to the most frequent paths by default (``cutoff``); here the
full encoding is used.

GP-BO: scikit-learn's ``GaussianProcessRegressor`` on the one-hot encoding, kernel
``C * RBF(l) + White``. Why this kernel: for one-hot genes ``||x - y||^2`` is twice the number of
genes in which two cells differ, so the RBF on one-hot vectors is an exponentiated Hamming
kernel -- the standard kernel for categorical inputs (as in COMBO / CoCaBO), with no order
imposed on the ops; one length scale (isotropic) because 150 points do not support 30 of them;
a white-noise term because benchmark signals are noisy across seeds. Targets are normalised.
Fits and predictions run with one BLAS thread: on a shared machine the default thread pool
oversubscribes the cores and slows each small fit many times over (bench/RESULTS.md).
Acquisition: expected improvement (``xi`` margin) or UCB (``mean + beta * std``), maximised
over ``n_candidates`` mutations of the best cells plus ``n_random`` random cells.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import ConfigError, unknown
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, check_positive_int, fitness

ACQUISITIONS = ("ei", "ucb")


@dataclass(frozen=True)
class _Loop:
    """The batch loop's settings, as each strategy's own parameters pass them on."""

    n_init: int
    batch_size: int
    n_candidates: int
    n_best: int
    n_random: int
    encoding: str


class _ModelBased(Strategy):
    """The batch loop shared by BANANAS and GP-BO (module docstring)."""

    def __init__(self, space: SearchSpace[Any], *, seed: SeedLike, loop: _Loop) -> None:
        super().__init__(space, seed=seed)
        self.n_init = check_positive_int("n_init", loop.n_init, minimum=2)
        self.batch_size = check_positive_int("batch_size", loop.batch_size)
        self.n_candidates = check_positive_int("n_candidates", loop.n_candidates, minimum=0)
        self.n_best = check_positive_int("n_best", loop.n_best)
        self.n_random = check_positive_int("n_random", loop.n_random, minimum=0)
        encoding = loop.encoding
        if self.n_candidates + self.n_random < self.batch_size:
            raise ConfigError(
                f"n_candidates + n_random ({self.n_candidates + self.n_random}) must be at "
                f"least batch_size ({self.batch_size})"
            )
        vec = [e for e in space.encodings if e != "graph"]
        if encoding not in vec:
            raise unknown(f"vector encoding of space {space.name!r}", encoding, vec)
        self.encoding = encoding
        self._queue: deque[Hashable] = deque()
        self._n_asked = 0
        self._known: set[str] = set()
        self._init_keys: set[str] = set()
        #: seconds spent per iteration in model fitting and in acquisition (for the bench)
        self.fit_s: list[float] = []
        self.acq_s: list[float] = []

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "encoding": self.encoding, "iterations": len(self.fit_s)}

    # -- hooks -------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _acquire(self, X: np.ndarray) -> np.ndarray:
        """Acquisition values of candidate encodings (higher = evaluate first)."""
        raise NotImplementedError

    # -- the loop ----------------------------------------------------------------------------
    def _distinct_random(self, n: int, taken: set[str]) -> list[Hashable]:
        out: list[Hashable] = []
        for _ in range(50 * n):
            if len(out) >= n:
                break
            a = self.space.sample(self.rng)
            k = self.space.canonical(a)
            if k not in taken:
                taken.add(k)
                out.append(a)
        return out

    def _candidates(self) -> list[Hashable]:
        ok = [o for o in self.history if o.ok]
        best = sorted(ok, key=fitness, reverse=True)[: self.n_best]  # stable: first on ties
        taken = set(self._known)
        out: list[Hashable] = []
        if best and self.n_candidates:
            per = math.ceil(self.n_candidates / len(best))
            for parent in best:
                got = 0
                for _ in range(per * 5):  # a few tries per wanted child (duplicates)
                    if got >= per or len(out) >= self.n_candidates:
                        break
                    child = self.space.mutate(parent.arch, self.rng)
                    k = self.space.canonical(child)
                    if k not in taken:
                        taken.add(k)
                        out.append(child)
                        got += 1
        out += self._distinct_random(self.n_random, taken)
        if len(out) < self.batch_size:  # mutations exhausted (tiny or closed space)
            out += self._distinct_random(self.batch_size - len(out), taken)
        return out

    def _plan(self) -> None:
        ok = [o for o in self.history if o.ok and math.isfinite(o.signal)]
        cands = self._candidates()
        if len(ok) < 2 or not cands:  # nothing to learn from yet: explore
            self._queue.extend(cands[: self.batch_size] or [self.space.sample(self.rng)])
            return
        t0 = time.perf_counter()
        X = self.space.encode_many([o.arch for o in ok], self.encoding)
        self._fit(X, np.array([o.signal for o in ok], dtype=np.float64))
        t1 = time.perf_counter()
        scores = self._acquire(self.space.encode_many(cands, self.encoding))
        order = np.argsort(-scores, kind="stable")
        self._queue.extend(cands[int(i)] for i in order[: self.batch_size])
        self.fit_s.append(t1 - t0)
        self.acq_s.append(time.perf_counter() - t1)

    def ask(self) -> Hashable:
        if self._n_asked < self.n_init:
            self._n_asked += 1
            got = self._distinct_random(1, self._known | self._init_keys)
            arch = got[0] if got else self.space.sample(self.rng)
            self._init_keys.add(self.space.canonical(arch))
            return arch
        if not self._queue:
            if len(self.history) < self._n_asked:
                raise RuntimeError(f"{type(self).__name__}: ask() before the batch was told")
            self._plan()
        self._n_asked += 1
        return self._queue.popleft()

    def _tell(self, obs: Observation) -> None:
        self._known.add(self.space.canonical(obs.arch))


class Bananas(_ModelBased):
    """BANANAS (module docstring).

    Args:
        n_init: random cells before the first model (naszilla: 10).
        batch_size: cells evaluated per iteration (naszilla's ``k``: 10).
        n_candidates, n_best: candidates per iteration from mutating the ``n_best`` best cells
            (naszilla: 100 from the 10 best).
        n_ensemble: ensemble members (5).
        surrogate, surrogate_params: a registered vector surrogate and its hyperparameters
            (default: naszilla's meta neural net as the ``mlp`` surrogate).
        encoding: the space's vector encoding (``path``).
    """

    name = "bananas"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        n_init: int = 10,
        batch_size: int = 10,
        n_candidates: int = 100,
        n_best: int = 10,
        n_random: int = 0,
        n_ensemble: int = 5,
        surrogate: str = "mlp",
        surrogate_params: dict[str, Any] | None = None,
        encoding: str = "path",
    ) -> None:
        loop = _Loop(n_init, batch_size, n_candidates, n_best, n_random, encoding)
        super().__init__(space, seed=seed, loop=loop)
        from harness import surrogates

        self.n_ensemble = check_positive_int("n_ensemble", n_ensemble, minimum=2)
        self.surrogate_name = surrogate
        if surrogate_params is None and surrogate == "mlp":
            surrogate_params = {"hidden": (20,) * 10, "lr": 0.01, "epochs": 150, "weight_decay": 0}
        self.surrogate_params = dict(surrogate_params or {})
        probe = surrogates.create(surrogate, **self.surrogate_params)  # fail early on typos
        if surrogates.input_kind_of(probe) != "vector":
            raise ConfigError(
                f"BANANAS needs a vector surrogate for the {encoding!r} encoding; "
                f"{surrogate!r} takes graphs"
            )
        self._models: list[Any] = []

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "surrogate": self.surrogate_name}

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from harness import surrogates
        from harness.surrogates.mlp import MLPSurrogate

        seeds = [int(s) for s in self.rng.integers(2**31 - 1, size=self.n_ensemble)]
        members = [
            surrogates.create(self.surrogate_name, seed=s, **self.surrogate_params) for s in seeds
        ]
        if type(members[0]) is MLPSurrogate:  # exactly the registered MLP: train all at once
            self._models = [_StackedMLPs(members).fit(X, y)]
        else:
            self._models = [m.fit(X, y) for m in members]

    def _acquire(self, X: np.ndarray) -> np.ndarray:
        preds = np.concatenate(
            [np.asarray(m.predict(X), dtype=np.float64).reshape(-1, len(X)) for m in self._models]
        )
        mean, std = preds.mean(axis=0), preds.std(axis=0)
        return np.asarray(self.rng.normal(mean, std))  # independent Thompson sampling


class GPBayesOpt(_ModelBased):
    """GP-based Bayesian optimisation (module docstring).

    Args:
        acquisition: ``ei`` (expected improvement over the best signal + ``xi``) or ``ucb``
            (``mean + beta * std``).
        n_init, batch_size: random cells first; cells evaluated per model fit.
        n_candidates, n_best, n_random: acquisition candidates (mutations of the best cells and
            random cells).
        encoding: the space's vector encoding (``onehot``; ``path`` also works).
        n_restarts: restarts of the kernel hyperparameter optimiser.
    """

    name = "gp_bo"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        acquisition: str = "ei",
        xi: float = 0.0,
        beta: float = 2.0,
        n_init: int = 10,
        batch_size: int = 1,
        n_candidates: int = 100,
        n_best: int = 10,
        n_random: int = 100,
        encoding: str = "onehot",
        n_restarts: int = 0,
    ) -> None:
        loop = _Loop(n_init, batch_size, n_candidates, n_best, n_random, encoding)
        super().__init__(space, seed=seed, loop=loop)
        if acquisition not in ACQUISITIONS:
            raise unknown("GP-BO acquisition", acquisition, ACQUISITIONS)
        if not (xi >= 0 and beta >= 0):
            raise ConfigError(f"GP-BO xi and beta must be >= 0, got xi={xi}, beta={beta}")
        self.acquisition, self.xi, self.beta = acquisition, float(xi), float(beta)
        self.n_restarts = check_positive_int("n_restarts", n_restarts, minimum=0)
        self._gp: Any = None
        self._y_best = -math.inf

    def describe(self) -> dict[str, Any]:
        import sklearn

        return {
            **super().describe(),
            "acquisition": self.acquisition,
            "kernel": str(self._gp.kernel_) if self._gp is not None else None,
            "scikit_learn_version": sklearn.__version__,
        }

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        from threadpoolctl import threadpool_limits

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(2.0, (1e-2, 1e2)) + WhiteKernel(
            0.1, (1e-6, 1e1)
        )
        gp = GaussianProcessRegressor(
            kernel=kernel,
            normalize_y=True,
            n_restarts_optimizer=self.n_restarts,
            random_state=int(self.rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._gp = gp.fit(X.astype(np.float64), y)
        self._y_best = float(y.max())

    def _acquire(self, X: np.ndarray) -> np.ndarray:
        from scipy.stats import norm
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            mean, std = self._gp.predict(X.astype(np.float64), return_std=True)
        if self.acquisition == "ucb":
            return np.asarray(mean + self.beta * std)
        std = np.maximum(std, 1e-12)
        z = (mean - self._y_best - self.xi) / std
        return np.asarray((mean - self._y_best - self.xi) * norm.cdf(z) + std * norm.pdf(z))


class _StackedMLPs:
    """An ensemble of ``mlp`` surrogates trained as one model: the same members, faster.

    Why: each member is a 10-layer MLP on at most a few hundred points, so training is
    per-step overhead (small matrix products, one Adam step per mini-batch), paid once per
    member. Stacking the members' weights (``[members, in, out]``, batched matrix products) pays
    it once for all. Nothing of a member changes: each is initialised exactly as its own
    :class:`~harness.surrogates.mlp.MLPSurrogate` (its seed, its ``_build``), sees the same
    standardised targets, its own mini-batch order (the permutation stream its seed gives in
    :func:`harness.surrogates._torch.train`), the same loss, epochs, batch size and Adam
    settings; the summed loss gives each member's weights exactly its own gradient, and Adam is
    element-wise. ``predict`` returns one row of predictions per member.
    """

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        m0 = members[0]
        self.hidden, self.epochs, self.batch_size = m0.hidden, int(m0.epochs), m0.batch_size
        self.lr, self.weight_decay, self.n_threads = m0.lr, m0.weight_decay, m0.n_threads
        self._w: list[Any] = []
        self._b: list[Any] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> _StackedMLPs:
        import torch

        from harness.surrogates._base import check_targets, check_vectors, torch_threads

        x = check_vectors(X)
        y = check_targets(y, x.shape[0])
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        target = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        n = x.shape[0]
        with torch_threads(self.n_threads):
            nets = []
            for m in self.members:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(m.seed) % (2**63))
                    nets.append(m._build(x.shape[1]))
            linears = [
                [layer for layer in net if isinstance(layer, torch.nn.Linear)] for net in nets
            ]
            self._w = [
                torch.stack([ls[i].weight.detach().T for ls in linears])
                .contiguous()
                .requires_grad_()
                for i in range(len(linears[0]))
            ]
            self._b = [
                torch.stack([ls[i].bias.detach()[None, :] for ls in linears]).requires_grad_()
                for i in range(len(linears[0]))
            ]
            opt = torch.optim.Adam(
                [*self._w, *self._b], lr=self.lr, weight_decay=self.weight_decay
            )
            rngs = [
                np.random.default_rng(np.random.SeedSequence([int(m.seed) % (2**63), 0xB47C]))
                for m in self.members
            ]
            xt = torch.from_numpy(x)
            bs = max(1, min(int(self.batch_size), n))
            for _ in range(self.epochs):
                orders = np.stack([r.permutation(n) for r in rngs])  # [members, n]
                for start in range(0, n, bs):
                    idx = torch.as_tensor(orders[:, start : start + bs])
                    opt.zero_grad()
                    out = self._forward(xt[idx])  # [members, batch]
                    # per-member mean squared error, summed: each member's own MSE gradient
                    err = ((out - target[idx]) ** 2).mean(dim=1).sum()
                    err.backward()
                    opt.step()
        self._n_features = x.shape[1]
        return self

    def _forward(self, xb: Any) -> Any:
        import torch

        h = xb
        for i, (w, b) in enumerate(zip(self._w, self._b, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < len(self._w) - 1:
                h = torch.relu(h)
        return h.squeeze(-1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        from harness.surrogates._base import check_vectors, torch_threads

        x = torch.from_numpy(check_vectors(X, self._n_features))
        with torch_threads(self.n_threads), torch.no_grad():
            out = self._forward(x.expand(len(self.members), *x.shape)).numpy()
        return out.astype(np.float64) * self.y_scale_ + self.y_mean_
