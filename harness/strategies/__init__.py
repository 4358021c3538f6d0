"""Search strategies and their registry (entry point group ``nash.strategies``).

Presets are registry entries with defaults: ``aging_evolution`` is the NB201 paper's setting
(P=10, S=3), ``aging_evolution_nb101`` the NB101 one (P=100, S=10), ``genetic_study`` the
reference study's GA (P=100, tournament 20 % with replacement, 100 generations, no crossover,
no elitism).
"""

from __future__ import annotations

from typing import Any

from harness.registry import Registry
from harness.strategies._base import Strategy
from harness.strategies.aging_evolution import AgingEvolution
from harness.strategies.genetic import GeneticAlgorithm
from harness.strategies.local_search import LocalSearch
from harness.strategies.random_search import RandomSearch
from harness.strategies.reinforce import Reinforce

STRATEGIES: Registry[Strategy] = Registry("strategy", "nash.strategies")

STRATEGIES.add("random_search", RandomSearch, "uniform random sampling (optional dedup)")
STRATEGIES.add(
    "genetic",
    GeneticAlgorithm,
    "generational GA: tournament selection, mutation, optional crossover and elitism",
)
STRATEGIES.add(
    "genetic_study",
    GeneticAlgorithm,
    "the reference study's GA: P=100, tournament 20% with replacement, 100 generations",
    {"population_size": 100, "tournament_frac": 0.2, "n_generations": 100},
)
STRATEGIES.add(
    "aging_evolution",
    AgingEvolution,
    "regularized evolution, NB201 paper setting (P=10, S=3)",
    {"population_size": 10, "sample_size": 3, "sample_replace": True},
)
STRATEGIES.add(
    "aging_evolution_nb101",
    AgingEvolution,
    "regularized evolution, NB101 setting (P=100, S=10, sample without replacement)",
    {"population_size": 100, "sample_size": 10, "sample_replace": False},
)
STRATEGIES.add(
    "local_search",
    LocalSearch,
    "best-improvement local search with random restarts (White et al. 2021)",
)
STRATEGIES.add(
    "reinforce",
    Reinforce,
    "REINFORCE policy gradient, NB201 paper setting (lr 0.001, EMA baseline 0.9)",
    {"learning_rate": 0.001, "ema_momentum": 0.9},
)


def create(name: str, space: Any, *, seed: Any = None, **params: Any) -> Strategy:
    """Instantiate a registered strategy; unknown parameters are configuration errors."""
    import inspect

    from harness.errors import ConfigError

    entry = STRATEGIES.get(name)
    sig = inspect.signature(entry.factory)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    if not accepts_any:
        valid = [p for p in sig.parameters if p not in ("self", "space", "seed")]
        for key in params:
            if key not in sig.parameters or key in ("space", "seed"):
                raise ConfigError(
                    f"strategy {name!r} has no parameter {key!r} (valid: {', '.join(valid)})"
                )
    try:
        return entry.create(space, seed=seed, **params)
    except TypeError as e:
        raise ConfigError(f"strategy {name!r}: {e}") from None


__all__ = [
    "STRATEGIES",
    "AgingEvolution",
    "GeneticAlgorithm",
    "LocalSearch",
    "RandomSearch",
    "Reinforce",
    "Strategy",
    "create",
]

from harness.strategies.zero_cost import NaswotSearch  # noqa: E402

STRATEGIES.add("naswot_search", NaswotSearch, "NASWOT: score N random cells, recommend the best", {"n_samples": 100})  # fmt: skip  # noqa: E501

# -- surrogate-assisted strategies -------------------------------------------------------------
from harness.strategies.nas_ea_fa import NASEAFA  # noqa: E402
from harness.strategies.neural_predictor import NeuralPredictor  # noqa: E402

_STUDY_FA = {"population_size": 100, "k": 30, "h": 20, "n_generations": 10, "n_rounds": 10}
_PAN_YAO = {"surrogate": "xgb", "variant": "pan_yao", "n_rounds": None}  # budget ends the run
STRATEGIES.add(
    "nas_ea_fa_v2_thesis",
    NASEAFA,
    "NAS-EA-FA V2 as in the reference study: P=100, K=30, H=20, G=10, T=10, XGBoost, repeats",
    {**_STUDY_FA, "surrogate": "xgb", "variant": "thesis"},
)
STRATEGIES.add(
    "nas_ea_fa_v2_thesis_gcn",
    NASEAFA,
    "NAS-EA-FA V2, reference study settings with the GCN surrogate",
    {**_STUDY_FA, "surrogate": "gcn", "variant": "thesis"},
)
STRATEGIES.add(
    "nas_ea_fa_v2_pan_yao_nb201",
    NASEAFA,
    "NAS-EA-FA V2 as Pan & Yao on NB201: P=10, K=3, H=2, G=10, XGBoost, skips known cells",
    {"population_size": 10, "k": 3, "h": 2, "n_generations": 10, **_PAN_YAO},
)
STRATEGIES.add(
    "nas_ea_fa_v2_nb101",
    NASEAFA,
    "NAS-EA-FA V2 as Pan & Yao on NB101: P=100, K=30, H=20, G=10, XGBoost, skips known cells",
    {"population_size": 100, "k": 30, "h": 20, "n_generations": 10, **_PAN_YAO},
)
STRATEGIES.add(
    "neural_predictor",
    NeuralPredictor,
    "Neural Predictor (Wen et al. 2020), NB101 setting: N=172 random cells, GCN, top K=100",
    {"n_train": 172, "k": 100, "n_candidates": 10_000, "surrogate": "gcn"},
)
STRATEGIES.add(
    "neural_predictor_nb201",
    NeuralPredictor,
    "Neural Predictor on NB201: N=50 random cells, GCN, top K=50 of the whole space",
    {"n_train": 50, "k": 50, "n_candidates": 15_625, "surrogate": "gcn"},
)
__all__ += ["NASEAFA", "NeuralPredictor"]

# -- optuna samplers, local-search variants, simulated annealing, model-based BO -------------
from harness.strategies.optuna_adapter import OptunaStrategy  # noqa: E402

_OPTUNA = "optuna's {} sampler via ask-and-tell on the space's categorical parametrization ({})"
STRATEGIES.add(
    "optuna",
    OptunaStrategy,
    _OPTUNA.format("TPE (sampler = tpe|cmaes|gp|qmc|random)", "Bergstra et al. 2011"),
)
STRATEGIES.add(
    "optuna_cmaes",
    OptunaStrategy,
    _OPTUNA.format("CMA-ES (with margin)", "Hansen 2016; Hamano et al. 2022"),
    {"sampler": "cmaes"},
)
# no optuna_gp preset (it would run the contract kit's searches at ~0.15 s per proposal, see
# bench/RESULTS.md); ``name = "optuna"`` with ``sampler = "gp"`` runs optuna's GPSampler.
STRATEGIES.add(
    "optuna_qmc",
    OptunaStrategy,
    _OPTUNA.format("scrambled Sobol QMC", "Owen 1998"),
    {"sampler": "qmc"},
)
__all__ += ["OptunaStrategy"]

from harness.strategies.annealing import SimulatedAnnealing  # noqa: E402

_WHITE = "(White et al. 2021)"
STRATEGIES.add(
    "local_search_first",
    LocalSearch,
    f"first-improvement local search with random restarts {_WHITE}",
    {"improvement": "first"},
)
STRATEGIES.add(
    "local_search_no_restart",
    LocalSearch,
    f"best-improvement local search that stops at its first local optimum {_WHITE}",
    {"restarts": False},
)
STRATEGIES.add(
    "local_search_first_no_restart",
    LocalSearch,
    f"first-improvement local search that stops at its first local optimum {_WHITE}",
    {"improvement": "first", "restarts": False},
)
STRATEGIES.add(
    "simulated_annealing",
    SimulatedAnnealing,
    "simulated annealing on the mutation, geometric cooling t0=1 alpha=0.95 (Kirkpatrick 1983)",
)
STRATEGIES.add(
    "simulated_annealing_restarts",
    SimulatedAnnealing,
    "simulated annealing, geometric cooling, restart from a random cell after 30 stale steps",
    {"restart_after": 30},
)
__all__ += ["SimulatedAnnealing"]

# -- multi-objective strategies ----------------------------------------------------------------
from harness.strategies.multi_objective import (  # noqa: E402
    MOREA,
    NSGA2,
    MORandomSearch,
    Scalarized,
)

STRATEGIES.add("nsga2", NSGA2, "NSGA-II (pymoo, ask/tell): Pareto rank + crowding, P=20")
STRATEGIES.add(
    "mo_rea",
    MOREA,
    "multi-objective aging evolution: Pareto-rank + crowding tournament (P=10, S=3)",
    {"population_size": 10, "sample_size": 3, "sample_replace": True},
)
STRATEGIES.add("mo_random_search", MORandomSearch, "random search keeping the Pareto front")
STRATEGIES.add(
    "scalarized",
    Scalarized,
    "any single-objective strategy on a weighted-sum / Chebyshev scalarization (constraints "
    "as a feasibility penalty)",
)
__all__ += ["MOREA", "NSGA2", "MORandomSearch", "Scalarized"]

# -- multi-fidelity strategies (rungs: the benchmark's fidelities; harness.runner.fidelity) ----
from harness.strategies.multi_fidelity import ASHA, BOHB, Hyperband, SuccessiveHalving  # noqa: E402

STRATEGIES.add("successive_halving", SuccessiveHalving, "successive halving over the benchmark's fidelities, eta=3 (Jamieson & Talwalkar 2016)")  # fmt: skip  # noqa: E501
STRATEGIES.add("hyperband", Hyperband, "Hyperband: brackets of successive halving, eta=3 (Li et al. 2017, JMLR)")  # fmt: skip  # noqa: E501
STRATEGIES.add("bohb", BOHB, "BOHB: Hyperband with TPE-style densities per rung (Falkner et al. 2018, ICML)")  # fmt: skip  # noqa: E501
STRATEGIES.add("asha", ASHA, "asynchronous successive halving, eta=3 (Li et al. 2020, MLSys)")  # fmt: skip  # noqa: E501
__all__ += ["ASHA", "BOHB", "Hyperband", "SuccessiveHalving"]

from harness.strategies.bayesopt import Bananas, GPBayesOpt  # noqa: E402

STRATEGIES.add(
    "bananas",
    Bananas,
    "BANANAS (White et al. 2021): path encoding, 5-MLP ensemble, independent Thompson sampling",
)
STRATEGIES.add(
    "bananas_wide",
    Bananas,
    "BANANAS with naszilla's wide ensemble members: 10 layers of width 200, lr 0.001, 200 epochs",
    {"surrogate_params": {"hidden": (200,) * 10, "lr": 0.001, "epochs": 200, "weight_decay": 0}},
)
STRATEGIES.add(
    "gp_bo",
    GPBayesOpt,
    "GP Bayesian optimisation, exponentiated-Hamming (RBF on one-hot) kernel, EI (Jones 1998)",
)
STRATEGIES.add(
    "gp_bo_ucb",
    GPBayesOpt,
    "GP Bayesian optimisation, exponentiated-Hamming kernel, UCB beta=2 (Srinivas et al. 2010)",
    {"acquisition": "ucb"},
)
__all__ += ["Bananas", "GPBayesOpt"]
