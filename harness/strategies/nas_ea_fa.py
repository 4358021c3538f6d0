"""NAS-EA-FA V2: evolution with fitness approximation (Pan & Yao 2021), two named variants.

One *round*:

1. rank the candidate pool by surrogate-predicted fitness (round 1: ``population_size`` random
   cells, no predictions, so the sampling order);
2. truly evaluate the top ``k`` (walking down the ranking);
3. truly evaluate ``h`` more: the min Hamming distance from each remaining pool member to the
   surrogate's training set is computed once, when the top ``k`` have been told; then the member
   with the largest distance is taken, its distance zeroed, and so on;
4. add the evaluated cells' (augmented) encodings with their signals to the training set and
   refit the surrogate from scratch;
5. from the ``k + h`` evaluated cells (true signals) as parents, run ``n_generations``
   generations of tournament selection + the space's mutation, each generation of
   ``population_size`` children scored only by the surrogate and parenting the next; all
   ``n_generations x population_size`` children form the next round's pool.

As a :class:`Strategy` it cannot call the evaluator: it asks the top-``k`` cells and then the
``h`` cells one at a time and learns each signal through ``tell``. That is also why the distance
list is built when the ``k``-th result arrives -- it depends on what the training set holds.

Variants (``variant=``), both kept because they give different searches:

``thesis`` -- the reference study (foteinidd/genetic_nas_acceleration):
    never skips a cell already evaluated (its skip test compares the ``time`` module with 0.0 and
    is never true), so repeats are asked again and, with ``count_repeats``, charged again;
    when every remaining distance is 0 its H loop falls back to pool position ``2 * s + 1``
    (``s`` = the ranking position where top-K stopped) and keeps re-asking it, as the study's
    default index does; stops after ``n_rounds`` rounds (T=10).
``pan_yao`` -- fzjcdt/NAS-EA-FA:
    skips cells already evaluated (same canonical key): they are neither asked nor counted
    towards ``k`` or ``h``; the H loop stops early when the largest distance is 0; runs until the
    run loop's budget ends (``n_rounds=None``). Its budgets are simulated training seconds
    (NB201 cifar10-valid 2e5 s); the shipped NB201 tables record no training time, so use an
    evaluations budget (``Budget(evaluations=...)``) and state the conversion you chose.

Encodings (all from the space; the surrogate never encodes): ``encoding`` is the surrogate's
input (default: ``graph`` for graph surrogates, else the space's ``study`` encoding when it has
one, else ``adjacency``); ``distance_encoding`` the vector the Hamming distance uses (default:
``encoding``, or the default vector encoding for graph surrogates). On the native NB201 space
the extra kind ``op_sequence`` is Pan & Yao's 24-bit sequence: per edge a one-hot over the four
non-``none`` ops, all zeros for ``none`` edges and for edges on no input-output path.

Augmentation (``augment=``): ``isomorphic`` uses the space's ``isomorphic_encodings`` (the
study genome's permutations of the pruned op nodes, identity first, no dedup; only for its
``study`` encoding); ``class`` adds the distinct encodings of every native NB201 cell with the
same canonical key (Pan & Yao's "all archs with the same hash"); ``none`` adds only the cell's
own encoding. ``auto`` picks ``isomorphic`` where available, ``class`` on native NB201 with a
vector encoding, else ``none`` -- e.g. on NB101Space, whose encodings are already computed on a
canonical form so isomorphic cells share one vector, and for GCN inputs, which a mean-pooled GCN
treats alike under node permutations anyway.

Failed evaluations count towards ``k``/``h`` (the budget was spent) but never enter the
training set; they rank last as parents.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from harness.errors import ConfigError, unknown
from harness.records import Observation
from harness.spaces._base import Graph, SearchSpace
from harness.strategies._base import (
    SeedLike,
    Strategy,
    check_fraction,
    check_positive_int,
    tournament,
)

VARIANTS = ("thesis", "pan_yao")
AUGMENTATIONS = ("auto", "isomorphic", "class", "none")
OP_SEQUENCE = "op_sequence"
#: stop a ``pan_yao`` run after this many consecutive rounds without a new cell to evaluate
MAX_EMPTY_ROUNDS = 50


# -- Pan & Yao's 24-bit op sequence on the native NB201 space ---------------------------------
def nb201_op_sequence(arch: Sequence[int]) -> np.ndarray:
    """Pan & Yao's NB201 surrogate input (official edge and op order of :mod:`nb201`).

    Bit positions within a one-hot do not matter to Hamming distances or to trees; what matters
    is that ``none`` edges and edges on no input->output path are all zeros.
    """
    from harness.spaces.nb201 import EDGES

    live = [op != 0 for op in arch]
    fwd = [True, False, False, False]
    for (i, j), ok in zip(EDGES, live, strict=True):
        if ok and fwd[i]:
            fwd[j] = True
    bwd = [False, False, False, True]
    for (i, j), ok in reversed(list(zip(EDGES, live, strict=True))):
        if ok and bwd[j]:
            bwd[i] = True
    v = np.zeros((len(EDGES), 4), dtype=np.float32)
    for e, ((i, j), op) in enumerate(zip(EDGES, arch, strict=True)):
        if op != 0 and fwd[i] and bwd[j]:
            v[e, op - 1] = 1.0
    return v.ravel()


@functools.cache
def _nb201_classes() -> dict[str, tuple[tuple[int, ...], ...]]:
    """Canonical key -> every native NB201 cell with that key."""
    from harness.spaces import nb201

    space = nb201.NB201Space()
    out: dict[str, list[tuple[int, ...]]] = {}
    for a in nb201.ALL_ARCHS:
        out.setdefault(space.canonical(a), []).append(a)
    return {k: tuple(v) for k, v in out.items()}


def _is_native_nb201(space: SearchSpace[Any]) -> bool:
    from harness.spaces.nb201 import NB201Space

    return isinstance(space, NB201Space)


def min_hamming(candidates: np.ndarray, train: np.ndarray) -> np.ndarray:
    """For each candidate row, the smallest Hamming distance to any training row."""
    if len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(train) == 0:
        return np.full(len(candidates), candidates.shape[1], dtype=np.int64)
    c = candidates.astype(np.float64)
    t = train.astype(np.float64)
    binary = np.isin(c, (0.0, 1.0)).all() and np.isin(t, (0.0, 1.0)).all()
    if binary:  # mismatches = c.(1-t) + (1-c).t, one matrix product each
        d = c @ (1.0 - t).T + (1.0 - c) @ t.T
        return np.rint(d.min(axis=1)).astype(np.int64)
    out = np.empty(len(c), dtype=np.int64)
    for i, row in enumerate(c):
        out[i] = int((t != row).sum(axis=1).min())
    return out


class NASEAFA(Strategy):
    """NAS-EA-FA V2 (see the module docstring for the round and the two variants).

    Args:
        population_size: P, the size of the first random pool and of every generation.
        k: top-ranked cells truly evaluated per round (K).
        h: cells evaluated per round for diversity, by largest min distance (H); K + H <= P.
        n_generations: G, surrogate-scored generations per round.
        n_rounds: T; ``None`` runs until the run loop's budget ends.
        surrogate: a name from :data:`harness.surrogates.SURROGATES` (``xgb``, ``gcn``, ...).
        surrogate_params: hyperparameters for it (its ``seed`` is drawn from this strategy's
            generator at every refit).
        encoding, distance_encoding, augment: see the module docstring.
        variant: ``"thesis"`` or ``"pan_yao"``.
        tournament_frac: tournament size as a fraction of the parent population (k = max(1,
            int(frac x size)), drawn with replacement, first drawn wins ties; both codes).
    """

    name = "nas_ea_fa"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        population_size: int = 100,
        k: int = 30,
        h: int = 20,
        n_generations: int = 10,
        n_rounds: int | None = 10,
        surrogate: str = "xgb",
        surrogate_params: dict[str, Any] | None = None,
        encoding: str | None = None,
        distance_encoding: str | None = None,
        augment: str = "auto",
        variant: str = "thesis",
        tournament_frac: float = 0.2,
    ) -> None:
        super().__init__(space, seed=seed)
        from harness import surrogates

        self.population_size = check_positive_int("population_size", population_size)
        self.k = check_positive_int("k", k)
        self.h = check_positive_int("h", h, minimum=0)
        if self.k + self.h > self.population_size:
            raise ConfigError(
                f"k + h = {self.k + self.h} cells per round cannot exceed population_size "
                f"{self.population_size}: each round evaluates its K + H from a pool of P"
            )
        self.n_generations = check_positive_int("n_generations", n_generations)
        self.n_rounds = None if n_rounds is None else check_positive_int("n_rounds", n_rounds)
        if variant not in VARIANTS:
            raise unknown("NAS-EA-FA variant", variant, VARIANTS)
        self.variant = variant
        self.tournament_frac = check_fraction("tournament_frac", tournament_frac)
        self.surrogate_name = surrogate
        self.surrogate_params = dict(surrogate_params or {})
        probe = surrogates.create(surrogate, **self.surrogate_params)  # fails fast on typos
        self._graph_input = surrogates.input_kind_of(probe) == "graph"
        self.encoding, self.distance_encoding = self._resolve_encodings(
            encoding, distance_encoding
        )
        if augment not in AUGMENTATIONS:
            raise unknown("NAS-EA-FA augmentation", augment, AUGMENTATIONS)
        self.augment = self._resolve_augment(augment)

        self.round = 0
        self.surrogate_: Any = None
        self._x_train: list[Any] = []
        self._y_train: list[float] = []
        self._d_train: list[np.ndarray] = []
        self._evaluated: set[str] = set()  # canonical keys (pan_yao skips these)
        self._class_cache: dict[tuple[str, str], list[Any]] = {}
        self._finished = False
        self._empty_rounds = 0
        self._pending: tuple[Hashable, str] | None = None
        self._next: tuple[Hashable, str] | None = None
        # first pool: random cells, no predictions (all scores equal: sampling order)
        pool = [space.sample(self.rng) for _ in range(self.population_size)]
        self._start_round(pool, np.zeros(len(pool)))
        self._advance()

    # -- configuration ------------------------------------------------------------------------
    def _default_vector(self) -> str:
        encs = tuple(self.space.encodings)
        for kind in ("study", "adjacency"):
            if kind in encs:
                return kind
        vec = [e for e in encs if e != "graph"]
        if not vec:
            raise ConfigError(f"space {self.space.name!r} has no vector encoding for distances")
        return vec[0]

    def _check_kind(self, kind: str, what: str) -> None:
        valid = list(self.space.encodings)
        if _is_native_nb201(self.space):
            valid.append(OP_SEQUENCE)
        if kind not in valid:
            raise unknown(f"{what} for space {self.space.name!r}", kind, valid)

    def _resolve_encodings(self, enc: str | None, dist: str | None) -> tuple[str, str]:
        if enc is None:
            enc = "graph" if self._graph_input else self._default_vector()
        self._check_kind(enc, "encoding")
        if self._graph_input != (enc == "graph"):
            need = "'graph'" if self._graph_input else "a vector encoding"
            raise ConfigError(
                f"surrogate {self.surrogate_name!r} takes {need}; encoding {enc!r} does not fit"
            )
        if dist is None:
            dist = self._default_vector() if enc == "graph" else enc
        self._check_kind(dist, "distance encoding")
        if dist == "graph":
            raise ConfigError("distance_encoding must be a vector encoding (Hamming distance)")
        return enc, dist

    def _resolve_augment(self, augment: str) -> str:
        has_iso = hasattr(self.space, "isomorphic_encodings")
        if augment == "auto":
            if has_iso and self.encoding in ("study", "graph"):
                return "isomorphic"
            if _is_native_nb201(self.space) and self.encoding != "graph":
                return "class"
            return "none"
        if augment == "isomorphic" and not has_iso:
            raise ConfigError(
                f"space {self.space.name!r} has no isomorphic_encodings; use augment='none'"
                + (" or 'class'" if _is_native_nb201(self.space) else "")
            )
        if augment == "class" and not _is_native_nb201(self.space):
            raise ConfigError("augment='class' needs the native NB201 space (it enumerates it)")
        return augment

    # -- encodings ----------------------------------------------------------------------------
    def _encode(self, arch: Hashable, kind: str) -> Any:
        if kind == OP_SEQUENCE:
            return nb201_op_sequence(arch)  # type: ignore[arg-type]
        return self.space.encode(arch, kind)

    def _augmented(self, arch: Hashable, kind: str) -> list[Any]:
        """The encodings a told cell adds to the training set (see ``augment``)."""
        if self.augment == "isomorphic":
            if kind == "graph":  # one graph: a mean-pooled GCN is permutation invariant
                return [self._encode(arch, kind)]
            if kind != "study":
                return [self._encode(arch, kind)]
            return [np.asarray(v, dtype=np.float32) for v in self.space.isomorphic_encodings(arch)]  # type: ignore[attr-defined]
        if self.augment == "class":
            ck = (self.space.canonical(arch), kind)
            if ck in self._class_cache:  # repeats and common classes (up to 275 cells)
                return list(self._class_cache[ck])
            members = _nb201_classes()[ck[0]]
            out: list[Any] = []
            seen: set[bytes] = set()
            for m in members:
                e = self._encode(m, kind)
                key = (
                    e.x.tobytes() + e.edge_index.tobytes()
                    if isinstance(e, Graph)
                    else np.asarray(e).tobytes()
                )
                if key not in seen:
                    seen.add(key)
                    out.append(e)
            self._class_cache[ck] = out
            return list(out)
        return [self._encode(arch, kind)]

    # -- the round's state machine -----------------------------------------------------------
    def _start_round(self, pool: list[Hashable], scores: np.ndarray) -> None:
        order = sorted(range(len(pool)), key=lambda i: float(scores[i]), reverse=True)  # stable
        self._ranked = [pool[i] for i in order]
        self._ranked_scores = [float(scores[i]) for i in order]
        self._walk = 0
        self._phase = "topk"
        self._n_top = 0
        self._n_div = 0
        self._stop_index = -1
        self._round_obs: list[Observation] = []

    @property
    def finished(self) -> bool:
        return self._finished

    def ask(self) -> Hashable:
        if self._pending is not None:
            raise RuntimeError("NASEAFA: ask() again before the previous cell was told")
        if self._next is None:
            raise RuntimeError("NASEAFA: the search is finished (all rounds done)")
        self._pending = self._next
        self._next = None
        return self._pending[0]

    def _advance(self) -> None:
        """Move the round forward to the next cell to ask (or to the end of the search).

        Done eagerly after every ``tell`` (and at construction) so that ``finished`` is known
        before the run loop calls ``ask`` -- a round can end without asking anything more
        (pan_yao's early H stop, a pool of cells all evaluated before).
        """
        while not self._finished:
            if self._phase == "topk":
                while self._walk < len(self._ranked):
                    pos = self._walk
                    self._walk += 1
                    arch = self._ranked[pos]
                    if self.variant == "pan_yao" and self.space.canonical(arch) in self._evaluated:
                        continue
                    self._stop_index = pos
                    self._next = (arch, "topk")
                    return
                self._stop_index = len(self._ranked) - 1  # pool exhausted before K
                self._begin_diversity()
                continue
            if self._phase == "done":
                self._end_round()
                continue
            arch = self._next_diverse()
            if arch is None:
                self._end_round()
                continue
            self._next = (arch, "h")
            return

    def _tell(self, obs: Observation) -> None:
        if self._pending is None:
            raise RuntimeError("NASEAFA: tell() without a pending ask()")
        arch, phase = self._pending
        self._pending = None
        self._evaluated.add(self.space.canonical(arch))
        self._round_obs.append(Observation(arch, obs.signal, obs.fidelity, obs.ok))
        if obs.ok:
            xs = self._augmented(arch, self.encoding)
            self._x_train.extend(xs)
            self._y_train.extend([float(obs.signal)] * len(xs))
            if self.distance_encoding == self.encoding:
                self._d_train.extend(np.asarray(x, dtype=np.float32) for x in xs)
            else:
                self._d_train.extend(
                    np.asarray(x, dtype=np.float32)
                    for x in self._augmented(arch, self.distance_encoding)
                )
        if phase == "topk":
            self._n_top += 1
            if self._n_top >= self.k:
                self._begin_diversity()
        else:
            self._n_div += 1
        if self._phase == "h" and self._n_top + self._n_div >= self.k + self.h:
            self._phase = "done"
        self._advance()

    def _begin_diversity(self) -> None:
        """Distances of the rest of the ranking to the training set, computed once."""
        self._phase = "h"
        self._rest = self._ranked[self._stop_index + 1 :]
        if self.h == 0 or not self._rest:
            self._dist = np.zeros(len(self._rest), dtype=np.int64)
            self._phase = "done"
            return
        cand = np.stack(
            [np.asarray(self._encode(a, self.distance_encoding)) for a in self._rest]
        ).astype(np.float32)
        train = (
            np.stack(self._d_train)
            if self._d_train
            else np.zeros((0, cand.shape[1]), dtype=np.float32)
        )
        self._dist = min_hamming(cand, train)

    def _next_diverse(self) -> Hashable | None:
        if self._n_div >= self.h or not len(self._rest):
            return None
        while True:
            best, idx = 0, None
            for i, d in enumerate(self._dist):
                if d > best:
                    best, idx = int(d), i
            if idx is None:
                if self.variant == "pan_yao":
                    return None  # nothing new to learn from: end the H phase early
                # the study's default index: the stop position, read as an offset into the rest
                idx = min(self._stop_index, len(self._rest) - 1)
            self._dist[idx] = 0
            arch = self._rest[idx]
            if self.variant == "pan_yao" and self.space.canonical(arch) in self._evaluated:
                continue  # already evaluated: not asked, not counted
            return arch

    def _end_round(self) -> None:
        self.round += 1
        evaluated_now = len(self._round_obs)
        self._empty_rounds = 0 if evaluated_now else self._empty_rounds + 1
        if (self.n_rounds is not None and self.round >= self.n_rounds) or (
            self._empty_rounds >= MAX_EMPTY_ROUNDS
        ):
            self._finished = True
            return
        self._fit()
        if self._round_obs:
            parents = list(self._round_obs)
        else:  # pan_yao found nothing new: evolve from the ranked pool and its predictions
            parents = [
                Observation(a, s) for a, s in zip(self._ranked, self._ranked_scores, strict=True)
            ]
        pool: list[Hashable] = []
        scores: list[float] = []
        for _ in range(self.n_generations):
            kk = max(1, int(self.tournament_frac * len(parents)))
            children = [
                self.space.mutate(tournament(parents, kk, self.rng, replace=True).arch, self.rng)
                for _ in range(self.population_size)
            ]
            pred = self._predict(children)
            parents = [Observation(c, float(p)) for c, p in zip(children, pred, strict=True)]
            pool.extend(children)
            scores.extend(float(p) for p in pred)
        self._start_round(pool, np.asarray(scores))

    def _fit(self) -> None:
        from harness import surrogates

        if not self._x_train:
            self.surrogate_ = None  # every evaluation failed so far: no model, no ranking
            return
        seed = int(self.rng.integers(2**31))
        model = surrogates.create(self.surrogate_name, seed=seed, **self.surrogate_params)
        X: Any = list(self._x_train) if self._graph_input else np.stack(self._x_train)
        self.surrogate_ = model.fit(X, np.asarray(self._y_train, dtype=np.float64))

    def _predict(self, archs: list[Hashable]) -> np.ndarray:
        if self.surrogate_ is None:
            return np.zeros(len(archs))
        enc = [self._encode(a, self.encoding) for a in archs]
        X: Any = enc if self._graph_input else np.stack(enc).astype(np.float32)
        return np.asarray(self.surrogate_.predict(X), dtype=np.float64)

    def training_set_size(self) -> int:
        """Rows in the surrogate's training set (augmented encodings included)."""
        return len(self._y_train)
