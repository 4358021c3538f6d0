"""optuna's samplers (TPE, CMA-ES, GP, QMC, random) as one strategy, through ask-and-tell.

Why an adapter and not re-implementations: optuna's samplers are maintained, tested and the ones
users compare against (TPE: Bergstra et al. 2011; CMA-ES: Hansen 2016, with margin for discrete
variables, Hamano et al. 2022; GP: optuna's own GP-EI; QMC: scrambled Sobol). The adapter only
maps a space's categorical parametrization (:meth:`SearchSpace.categorical_params`) to
``trial.suggest_*`` calls and back (:meth:`SearchSpace.from_params`).

- Parameters are suggested as categorical choices for TPE, GP and random, and as integer indices
  for CMA-ES and QMC (``param_mode = "auto"``): those two model numbers only and would sample
  categorical parameters with their independent (random) sampler, i.e. not at all. The integer
  order of the ops means nothing; that is the price of running a continuous optimiser on a cell.
- Invalid points (most NB101 edge-bit patterns; study genomes without a valid template; cells
  outside a closed pool) are told to optuna as *pruned* trials and a new trial is asked, as the
  optuna documentation recommends for trials that cannot be completed; TPE ranks pruned trials
  without values below every completed one (so it learns to avoid them), GP and CMA-ES ignore
  them. ``n_invalid`` counts them; they cost no evaluation.
- A failed evaluation is told as a failed trial.
- The sampler's seed is drawn from the run's generator, so a run seed fixes the sampler.
- optuna's log messages and experimental warnings are silenced around each call (the previous
  verbosity is restored).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import defaultdict, deque
from collections.abc import Hashable, Iterator
from typing import Any

from harness.errors import ConfigError, InvalidArchitecture, unknown
from harness.records import Observation
from harness.spaces._base import SearchSpace
from harness.strategies._base import SeedLike, Strategy, check_positive_int

SAMPLERS = ("tpe", "cmaes", "gp", "qmc", "random")
PARAM_MODES = ("auto", "categorical", "integer")
_NUMERIC_ONLY = ("cmaes", "qmc")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """optuna's logging silenced, its warnings ignored, one BLAS and one torch thread (the GP
    sampler's linear algebra on a shared machine), everything restored afterwards."""
    import optuna
    from threadpoolctl import threadpool_limits

    from harness.surrogates._base import torch_threads

    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings(), threadpool_limits(1), torch_threads(1):
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        optuna.logging.set_verbosity(old)


def _sampler(name: str, seed: int, params: dict[str, Any]) -> Any:
    import optuna

    cls = {
        "tpe": optuna.samplers.TPESampler,
        "cmaes": optuna.samplers.CmaEsSampler,
        "gp": optuna.samplers.GPSampler,
        "qmc": optuna.samplers.QMCSampler,
        "random": optuna.samplers.RandomSampler,
    }[name]
    defaults: dict[str, Any] = {}
    if name == "qmc":
        defaults["scramble"] = True  # unscrambled Sobol ignores the seed: every run identical
    if name == "cmaes":
        defaults["with_margin"] = True  # keeps discrete variables from freezing (Hamano 2022)
    try:
        with _quiet():
            return cls(seed=seed, **{**defaults, **params})
    except TypeError as e:
        raise ConfigError(f"optuna sampler {name!r}: {e}") from None
    except ModuleNotFoundError as e:
        raise ConfigError(f"optuna sampler {name!r} needs the package {e.name!r}") from None


class OptunaStrategy(Strategy):
    """Any optuna sampler on a space with a categorical parametrization (module docstring).

    Args:
        sampler: one of ``tpe``, ``cmaes``, ``gp``, ``qmc``, ``random``.
        sampler_params: keyword arguments of the optuna sampler (e.g. ``n_startup_trials``).
        param_mode: ``auto`` (integer for cmaes/qmc, else categorical), ``categorical`` or
            ``integer``.
        max_invalid: consecutive invalid proposals after which the run stops with an error.
        tell_known: answer a proposal of a cell already told in this run inside the adapter
            (the trial gets the known signal, another is asked) instead of passing the repeat to
            the run loop; a converged TPE then keeps proposing new cells instead of running into
            the query cap. Off by default (repeats appear as free repeat rows, as for every
            strategy). ``n_known`` counts them.
    """

    name = "optuna"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        seed: SeedLike = None,
        sampler: str = "tpe",
        sampler_params: dict[str, Any] | None = None,
        param_mode: str = "auto",
        max_invalid: int = 10_000,
        tell_known: bool = False,
    ) -> None:
        super().__init__(space, seed=seed)
        if sampler not in SAMPLERS:
            raise unknown("optuna sampler", sampler, SAMPLERS)
        if param_mode not in PARAM_MODES:
            raise unknown("optuna param_mode", param_mode, PARAM_MODES)
        params = space.categorical_params()
        if not params:
            raise ConfigError(
                f"strategy 'optuna' needs a space with a categorical parametrization "
                f"(SearchSpace.categorical_params); space {space.name!r} has none"
            )
        self.params = params
        self.sampler_name = sampler
        self.sampler_params = dict(sampler_params or {})
        if param_mode == "auto":
            param_mode = "integer" if sampler in _NUMERIC_ONLY else "categorical"
        self.param_mode = param_mode
        self.max_invalid = check_positive_int("max_invalid", max_invalid)
        self.sampler_seed = int(self.rng.integers(2**31 - 1))
        import optuna

        sampler_obj = _sampler(sampler, self.sampler_seed, self.sampler_params)
        with _quiet():
            self.study = optuna.create_study(direction="maximize", sampler=sampler_obj)
        self.tell_known = bool(tell_known)
        self._told: dict[str, float] = {}
        self.n_invalid = 0
        self.n_known = 0
        self._open: defaultdict[str, deque[Any]] = defaultdict(deque)

    def describe(self) -> dict[str, Any]:
        import optuna

        return {
            **super().describe(),
            "sampler": self.sampler_name,
            "sampler_params": self.sampler_params,
            "sampler_seed": self.sampler_seed,
            "param_mode": self.param_mode,
            "optuna_version": optuna.__version__,
            "n_invalid": self.n_invalid,
            "n_known": self.n_known,
        }

    def _suggest(self, trial: Any) -> dict[str, Any]:
        if self.param_mode == "categorical":
            return {k: trial.suggest_categorical(k, list(v)) for k, v in self.params.items()}
        return {k: v[trial.suggest_int(k, 0, len(v) - 1)] for k, v in self.params.items()}

    def ask(self) -> Hashable:
        from optuna.trial import TrialState

        with _quiet():
            for _ in range(self.max_invalid):
                trial = self.study.ask()
                try:
                    arch = self.space.from_params(self._suggest(trial))
                    valid = self.space.is_valid(arch)
                except InvalidArchitecture:
                    valid = False
                if valid and self.tell_known:
                    known = self._told.get(self.space.canonical(arch))
                    if known is not None:
                        self.n_known += 1
                        self.study.tell(trial, known)
                        continue
                if valid:
                    self._open[self.space.to_str(arch)].append(trial)
                    return arch
                self.n_invalid += 1
                self.study.tell(trial, state=TrialState.PRUNED)
        raise ConfigError(
            f"optuna sampler {self.sampler_name!r} proposed {self.max_invalid} invalid (or, with "
            f"tell_known, already known) architectures of space {self.space.name!r} in a row; "
            "raise max_invalid or use another sampler"
        )

    def _tell(self, obs: Observation) -> None:
        from optuna.trial import TrialState

        queue = self._open.get(self.space.to_str(obs.arch))
        if not queue:
            raise RuntimeError("OptunaStrategy: told an architecture it did not ask for")
        trial = queue.popleft()
        with _quiet():
            if obs.ok and math.isfinite(obs.signal):
                self.study.tell(trial, float(obs.signal))
                if self.tell_known:
                    self._told[self.space.canonical(obs.arch)] = float(obs.signal)
            else:
                self.study.tell(trial, state=TrialState.FAIL)
