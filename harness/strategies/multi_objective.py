"""Multi-objective strategies: NSGA-II (pymoo), MO-REA, MO random search, scalarization.

Every strategy here reads the objective vector of an Observation (oriented larger-is-better,
see :mod:`harness.evaluators.objectives`) and its constraint violation; an Observation without
objectives counts as the one objective ``signal``, so each also runs single-objective (and
passes the strategy contract kit there). Constraints follow Deb's feasibility rules: a feasible
cell beats an infeasible one, two infeasible ones compare by violation, failed ones lose to all.

- :class:`NSGA2`: pymoo's NSGA-II driven through its ask/tell interface, with the search space's
  own sampling, mutation and crossover as pymoo operators (a maintained implementation, so the
  selection, survival and crowding are pymoo's, not ours).
- :class:`MOREA`: aging evolution whose tournament picks the best of the sample by Pareto rank,
  then crowding distance, within the current population (the rest is
  :class:`~harness.strategies.aging_evolution.AgingEvolution`).
- :class:`MORandomSearch`: random search; its Pareto front is the analysis' business.
- :class:`Scalarized`: turns any single-objective strategy into a multi-objective baseline
  (weighted sum or Chebyshev of the objectives normalised by the declared objective box), and
  into a constrained search (best accuracy under a latency cap) with the feasibility penalty.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from harness.errors import ConfigError
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, check_population_fits, check_positive_int
from harness.strategies.aging_evolution import AgingEvolution
from harness.strategies.random_search import RandomSearch

#: added below every feasible scalar (Deb's rules as one number; |signal| must stay below it)
INFEASIBLE = 1e9


def objective_vector(obs: Observation) -> tuple[float, ...]:
    """The vector a strategy optimises (larger is better); ``(signal,)`` without objectives."""
    return obs.objectives if obs.objectives else (obs.signal,)


def feasible(obs: Observation) -> bool:
    return obs.ok and obs.violation <= 0 and all(math.isfinite(v) for v in objective_vector(obs))


def rank_and_crowding(obs: Sequence[Observation]) -> tuple[np.ndarray, np.ndarray]:
    """Pareto rank (0 = non-dominated) and crowding distance of each observation.

    Feasible observations are ranked by pymoo's non-dominated sorting and crowding distance;
    infeasible ones come after every feasible rank, ordered by violation (failed ones last).
    """
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    n = len(obs)
    rank = np.zeros(n, dtype=np.int64)
    crowd = np.zeros(n)
    feas = np.array([feasible(o) for o in obs], dtype=bool)
    idx = np.flatnonzero(feas)
    top = 0
    if idx.size:
        f = -np.array([objective_vector(obs[int(i)]) for i in idx], dtype=np.float64)  # minimise
        fronts, r = NonDominatedSorting().do(f, return_rank=True)
        rank[idx] = r
        for front in fronts:
            if len(front) > 2:
                crowd[idx[front]] = calc_crowding_distance(f[front])
            else:
                crowd[idx[front]] = np.inf
        top = int(r.max()) + 1
    bad = np.flatnonzero(~feas)
    if bad.size:
        v = np.array(
            [obs[int(i)].violation if obs[int(i)].ok else np.inf for i in bad], dtype=np.float64
        )
        v[np.isnan(v)] = np.inf
        _, dense = np.unique(v, return_inverse=True)
        rank[bad] = top + dense
    return rank, crowd


def recommend_front(history: Sequence[Observation]) -> Hashable | None:
    """One answer from a front: the non-dominated feasible cell best in the first objective."""
    ok = [o for o in history if feasible(o)]
    if not ok:
        ok = [o for o in history if o.ok]
        return min(ok, key=lambda o: o.violation).arch if ok else None
    rank, _ = rank_and_crowding(ok)
    front = [o for o, r in zip(ok, rank, strict=True) if r == 0]
    return max(front, key=lambda o: objective_vector(o)[0]).arch


class MultiObjective:
    """Marker mix-in: the strategy optimises the objective vector itself."""

    multi_objective = True

    history: list[Observation]

    def recommend(self) -> Hashable | None:
        return recommend_front(self.history)


# -- MO random search ---------------------------------------------------------------------------
class MORandomSearch(MultiObjective, RandomSearch):
    """Uniform random sampling; the run's front is the non-dominated set of what it drew."""

    name = "mo_random_search"


# -- MO-REA -------------------------------------------------------------------------------------
class MOREA(MultiObjective, AgingEvolution):
    """Aging evolution with a Pareto tournament: rank first, then crowding distance.

    Ranks and crowding are computed within the current population (the P most recent cells),
    so the tournament prefers cells on the population's front and, among them, isolated ones.
    """

    name = "mo_rea"

    def _select_parent(self) -> Observation:
        pop = list(self._population)
        rank, crowd = rank_and_crowding(pop)
        idx = self.rng.choice(len(pop), size=self.sample_size, replace=self.sample_replace)
        best = int(idx[0])
        for i in (int(j) for j in idx[1:]):
            if rank[i] < rank[best] or (rank[i] == rank[best] and crowd[i] > crowd[best]):
                best = i
        return pop[best]


# -- NSGA-II through pymoo ----------------------------------------------------------------------
class NSGA2(MultiObjective, Strategy):
    """pymoo's NSGA-II (binary tournament on rank and crowding, elitist survival), ask/tell.

    The space's sampling, mutation and crossover are wrapped as pymoo operators working on
    object arrays of architectures; duplicates (isomorphic cells) are eliminated by canonical
    key. pymoo's own generator is seeded from the strategy's, so no global random state is used.
    The number of objectives is taken from the first generation's observations, so the same
    strategy runs on any objective set (or on the signal alone).
    """

    name = "nsga2"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        population_size: int = 20,
        crossover_prob: float = 0.5,
    ) -> None:
        super().__init__(space, seed=seed)
        self.population_size = check_positive_int("population_size", population_size, minimum=2)
        check_population_fits(space, self.population_size)
        if isinstance(crossover_prob, bool) or not 0 <= crossover_prob <= 1:
            raise ConfigError(f"crossover_prob must be in [0, 1], got {crossover_prob!r}")
        self.crossover_prob = float(crossover_prob)
        self._algo: Any = None
        self._problem: Any = None
        self._batch: list[Hashable] = []  # asked by pymoo, not yet asked by the loop
        self._pop: Any = None  # the pymoo Population being evaluated
        self._results: dict[int, Observation] = {}
        self._n_asked = 0  # of the current batch
        self.generations = 0

    # pymoo operators over object arrays of architectures
    def _operators(self) -> dict[str, Any]:
        from pymoo.core.crossover import Crossover
        from pymoo.core.duplicate import ElementwiseDuplicateElimination
        from pymoo.core.mutation import Mutation
        from pymoo.core.sampling import Sampling

        strat = self

        class _Sample(Sampling):
            def _do(self, problem: Any, n_samples: int, *a: Any, **kw: Any) -> np.ndarray:
                return strat._objects([strat.space.sample(strat.rng) for _ in range(n_samples)])

        class _Mutate(Mutation):
            def _do(self, problem: Any, X: np.ndarray, *a: Any, **kw: Any) -> np.ndarray:
                return strat._objects([strat.space.mutate(x[0], strat.rng) for x in X])

        class _Cross(Crossover):
            def __init__(self) -> None:
                super().__init__(2, 1, prob=strat.crossover_prob)

            def _do(self, problem: Any, X: np.ndarray, *a: Any, **kw: Any) -> np.ndarray:
                out = np.empty((1, X.shape[1], 1), dtype=object)
                for k in range(X.shape[1]):
                    try:
                        out[0, k, 0] = strat.space.crossover(X[0, k, 0], X[1, k, 0], strat.rng)
                    except NotImplementedError:
                        out[0, k, 0] = X[0, k, 0]
                return out

        def same(a: Any, b: Any) -> bool:
            return bool(strat.space.canonical(a.X[0]) == strat.space.canonical(b.X[0]))

        return {
            "sampling": _Sample(),
            "mutation": _Mutate(),
            "crossover": _Cross(),
            "eliminate_duplicates": ElementwiseDuplicateElimination(cmp_func=same),
        }

    @staticmethod
    def _objects(archs: Sequence[Hashable]) -> np.ndarray:
        x = np.empty((len(archs), 1), dtype=object)
        for i, a in enumerate(archs):
            x[i, 0] = a
        return x

    def _setup(self, n_obj: int) -> None:
        from pymoo.algorithms.moo.nsga2 import NSGA2 as PymooNSGA2
        from pymoo.core.problem import Problem

        self._problem = Problem(n_var=1, n_obj=n_obj, n_ieq_constr=1, vtype=object)
        self._algo = PymooNSGA2(pop_size=self.population_size, **self._operators())
        self._algo.setup(
            self._problem, termination=("n_gen", 10**9), seed=int(self.rng.integers(2**31))
        )

    def ask(self) -> Hashable:
        if not self._batch:
            if self._algo is None:  # first generation: sampled before pymoo knows n_obj
                if self._pop is not None:
                    raise RuntimeError("NSGA2: ask() before the first generation was told")
                self._batch = [self.space.sample(self.rng) for _ in range(self.population_size)]
                self._pop = list(self._batch)
            else:
                if self._n_asked and len(self._results) < self._n_asked:
                    raise RuntimeError("NSGA2: ask() before the generation was told")
                pop = self._algo.ask()
                if pop is None or len(pop) == 0:  # mating found nothing new: sample fresh
                    from pymoo.core.population import Population

                    pop = Population.new("X", self._objects([self.space.sample(self.rng)]))
                self._pop = pop
                self._batch = [x[0] for x in pop.get("X")]
            self._results = {}
            self._n_asked = 0
        arch = self._batch.pop(0)
        self._n_asked += 1
        return arch

    def _tell(self, obs: Observation) -> None:
        self._results[len(self._results)] = obs
        n = len(self._pop)
        if len(self._results) < n or self._batch:
            return
        told = [self._results[i] for i in range(n)]
        f, g = self._fg(told)
        from pymoo.core.evaluator import Evaluator
        from pymoo.core.population import Population
        from pymoo.problems.static import StaticProblem

        if self._algo is None:
            self._setup(f.shape[1])  # the first generation becomes pymoo's initial population
            pop = Population.new("X", self._objects(self._pop))
        else:
            pop = self._pop
        Evaluator().eval(StaticProblem(self._problem, F=f, G=g), pop)
        self._algo.tell(infills=pop)
        self.generations += 1
        self._results, self._n_asked = {}, 0

    def _fg(self, told: Sequence[Observation]) -> tuple[np.ndarray, np.ndarray]:
        """pymoo's F (minimised) and G (<= 0 feasible) for a generation's observations."""
        k = max(len(objective_vector(o)) for o in told)
        if self._problem is not None:
            k = self._problem.n_obj
        f = np.empty((len(told), k))
        g = np.empty((len(told), 1))
        for i, o in enumerate(told):
            v = np.array(objective_vector(o), dtype=np.float64)
            good = o.ok and v.size == k and np.isfinite(v).all()
            f[i] = -v if good else INFEASIBLE
            g[i, 0] = (
                (o.violation if math.isfinite(o.violation) else INFEASIBLE) if good else INFEASIBLE
            )
        return f, g


# -- scalarization ------------------------------------------------------------------------------
METHODS = ("weighted_sum", "chebyshev")


class Scalarized(Strategy):
    """A single-objective strategy told one number made from the objective vector.

    ``weighted_sum``: sum of w_i * z_i; ``chebyshev``: -max_i w_i * (1 - z_i), with each
    objective normalised to z_i in [0, 1] over the declared objective box (0 at the reference
    point, 1 at the ideal point, both given by the run's objective set, never by test data).
    Infeasible cells (constraint violation > 0) score below every feasible one, ordered by
    violation, so the wrapped strategy becomes a constrained search. Without objectives the
    scalar is the signal (with the same penalty).
    """

    name = "scalarized"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        inner: str = "aging_evolution",
        inner_params: dict[str, Any] | None = None,
        method: str = "chebyshev",
        weights: Sequence[float] | None = None,
        bounds: tuple[Sequence[float], Sequence[float]] | None = None,
    ) -> None:
        from harness import strategies

        super().__init__(space, seed=seed)
        if method not in METHODS:
            raise ConfigError(f"scalarization method must be one of {METHODS}, got {method!r}")
        if inner == self.name:
            raise ConfigError("a scalarized strategy cannot wrap another scalarized one")
        entry = strategies.STRATEGIES.get(inner)
        if getattr(entry.factory, "multi_objective", False):
            raise ConfigError(
                f"strategy {inner!r} is multi-objective already; scalarize a single-objective one"
            )
        self.method = method
        self.inner_name = inner
        self.inner = strategies.create(inner, space, seed=seed, **(inner_params or {}))
        self.supports_async = self.inner.supports_async
        if weights is not None:
            w = [float(x) for x in weights]
            if not w or any(x < 0 or not math.isfinite(x) for x in w) or sum(w) <= 0:
                raise ConfigError(
                    f"scalarization weights must be non-negative numbers, not all 0: {weights!r}"
                )
        self.weights = None if weights is None else np.asarray(w, dtype=np.float64)
        self._lo: np.ndarray | None = None
        self._hi: np.ndarray | None = None
        if bounds is not None:
            self.set_bounds(*bounds)

    def set_bounds(self, reference: Sequence[float], ideal: Sequence[float]) -> None:
        """The objective box (oriented larger-is-better): 0 at ``reference``, 1 at ``ideal``."""
        lo, hi = np.asarray(reference, np.float64), np.asarray(ideal, np.float64)
        if lo.shape != hi.shape or not np.all(hi > lo):
            raise ConfigError(
                f"scalarization bounds need ideal > reference, got {ideal}, {reference}"
            )
        if self.weights is not None and self.weights.size != lo.size:
            raise ConfigError(
                f"scalarization has {self.weights.size} weights for {lo.size} objectives"
            )
        self._lo, self._hi = lo, hi

    def scalar(self, obs: Observation) -> float:
        if not obs.ok:
            return math.nan
        if not obs.objectives:
            s = obs.signal
        else:
            v = np.asarray(obs.objectives, dtype=np.float64)
            if self._lo is None or self._hi is None:
                if v.size > 1:
                    raise ConfigError(
                        "a scalarized strategy told several objectives needs the objective box "
                        "(set by the experiment's objectives, or bounds = (reference, ideal))"
                    )
                z = v
            else:
                z = (v - self._lo) / (self._hi - self._lo)
            w = self.weights if self.weights is not None else np.full(v.size, 1.0 / v.size)
            if w.size != v.size:
                raise ConfigError(f"scalarization has {w.size} weights for {v.size} objectives")
            s = float(w @ z) if self.method == "weighted_sum" else -float(np.max(w * (1 - z)))
        if obs.violation > 0:
            return -INFEASIBLE - min(obs.violation, INFEASIBLE)
        return s

    def ask(self) -> Hashable:
        return self.inner.ask()

    def _tell(self, obs: Observation) -> None:
        s = self.scalar(obs)
        self.inner.tell(replace(obs, signal=s, ok=obs.ok and math.isfinite(s), objectives=()))

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def recommend(self) -> Hashable | None:
        """The best feasible cell by the scalar (the inner strategy's own answer otherwise)."""
        ok = [o for o in self.history if o.ok and o.violation <= 0]
        if ok:
            return max(ok, key=self.scalar).arch
        return self.inner.recommend()


def is_multi_objective(strategy: Strategy) -> bool:
    return bool(getattr(strategy, "multi_objective", False))


def adapt(strategy: Strategy, resolved: Any) -> Strategy:
    """Fit a built strategy to a run's objective set (one clear error where it cannot).

    Multi-objective strategies take the vector as it is. A scalarized strategy gets the
    objective box. Any other strategy is single-objective: it may search one declared objective
    (or the signal) under constraints, wrapped in the feasibility penalty, but several
    objectives need a multi-objective strategy or a scalarization.
    """
    n = len(resolved.spec.objectives)
    ideal, ref = resolved.oriented_bounds()
    if isinstance(strategy, Scalarized):
        if n:
            strategy.set_bounds(ref, ideal)
        return strategy
    if is_multi_objective(strategy):
        return strategy
    if n > 1:
        from harness import strategies

        mo = sorted(
            e.name for e in strategies.STRATEGIES if getattr(e.factory, "multi_objective", False)
        )
        raise ConfigError(
            f"strategy {strategy.name!r} optimises one number but the run declares {n} "
            f"objectives ({', '.join(resolved.spec.metrics)}); use a multi-objective strategy "
            f'({", ".join(mo)}) or scalarize it: name = "scalarized", params = {{ inner = '
            f'"{strategy.name}", method = "chebyshev" }}'
        )
    wrapped = Scalarized.__new__(Scalarized)
    Strategy.__init__(wrapped, strategy.space, seed=0)
    wrapped.method, wrapped.inner_name, wrapped.inner = "weighted_sum", strategy.name, strategy
    wrapped.supports_async = strategy.supports_async
    wrapped.weights, wrapped._lo, wrapped._hi = None, None, None
    wrapped.name = strategy.name
    if n:
        wrapped.set_bounds(ref, ideal)
    return wrapped
