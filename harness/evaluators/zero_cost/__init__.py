"""Zero-cost scoring: NASWOT on real untrained networks, split along its seams.

- :mod:`.kernel`: the NASWOT score of one network on one batch (semantics in its docstring),
  and :func:`score_cell`, which builds a cell's seeded network and scores it;
- :mod:`.evaluator`: :class:`ZeroCostEvaluator`, the scores behind the evaluator interface;
- :mod:`.cache`: :class:`ScoreCache`, scores computed on this machine, kept across processes;
- :mod:`.tables`: the committed score tables and the code that computes them;
- :mod:`.jobs`: the ``nash dev zero-cost`` command line.

Every name importers use is re-exported here, so ``from harness.evaluators.zero_cost import
...`` keeps working whichever submodule a name lives in.
"""

from harness.evaluators.zero_cost.cache import (
    SCORE_CACHE_ENV,
    SCORE_CACHE_FORMAT,
    ScoreCache,
    ScoreCacheMiss,
)
from harness.evaluators.zero_cost.evaluator import (
    CACHE_MODES,
    CACHE_ONLY_ENV,
    PROXIES,
    ZeroCostEvaluator,
    _answered_again,
    builds_networks,
    resolve_device,
    zero_cost_benchmarks,
)
from harness.evaluators.zero_cost.jobs import main
from harness.evaluators.zero_cost.kernel import (
    DEFAULT_THREADS,
    NaswotResult,
    _cell_key,
    _exact_cuda_conv,
    _gram01,
    _result,
    agreement_counts,
    cell_seed,
    naswot_kernel,
    naswot_score,
    score_cell,
    torch_threads,
)
from harness.evaluators.zero_cost.tables import (
    NB101_TABLE_COLUMNS,
    TABLE_COLUMNS,
    TABLE_JOBS,
    ZC_DATA,
    HashScoreTable,
    ScoreTable,
    _SidecarTable,
    compute_nb101_table,
    compute_nb201_table,
    compute_score_table,
    nb101_table_path,
    nb201_compute_order,
    score_table_path,
    table_benchmarks,
    table_path,
)

__all__ = [
    "CACHE_MODES",
    "CACHE_ONLY_ENV",
    "DEFAULT_THREADS",
    "NB101_TABLE_COLUMNS",
    "PROXIES",
    "SCORE_CACHE_ENV",
    "SCORE_CACHE_FORMAT",
    "TABLE_COLUMNS",
    "TABLE_JOBS",
    "ZC_DATA",
    "HashScoreTable",
    "NaswotResult",
    "ScoreCache",
    "ScoreCacheMiss",
    "ScoreTable",
    "ZeroCostEvaluator",
    "_SidecarTable",
    "_answered_again",
    "_cell_key",
    "_exact_cuda_conv",
    "_gram01",
    "_result",
    "agreement_counts",
    "builds_networks",
    "cell_seed",
    "compute_nb101_table",
    "compute_nb201_table",
    "compute_score_table",
    "main",
    "naswot_kernel",
    "naswot_score",
    "nb101_table_path",
    "nb201_compute_order",
    "resolve_device",
    "score_cell",
    "score_table_path",
    "table_benchmarks",
    "table_path",
    "torch_threads",
    "zero_cost_benchmarks",
]
