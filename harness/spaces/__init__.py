"""Search spaces and their registry (entry point group ``nash.spaces``).

A space is registered by name with a factory taking its parameters (e.g. mutation rates); a
benchmark names the space its cells belong to, and experiments may pick any registered space
whose cells the benchmark knows. A third-party package registers under
``[project.entry-points."nash.spaces"]``; a config may also name ``"package.module:Class"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.registry import Registry

if TYPE_CHECKING:
    from harness.spaces._base import SearchSpace

SPACES: Registry[SearchSpace[Any]] = Registry("search space", "nash.spaces")


def _nb201(**kw: Any) -> SearchSpace[Any]:
    from harness.spaces.nb201 import NB201Space

    return NB201Space(**kw)


def _nb201_study(**kw: Any) -> SearchSpace[Any]:
    from harness.spaces.nb201_genome import NB201StudyGenomeSpace

    return NB201StudyGenomeSpace(**kw)


def _nb101(**kw: Any) -> SearchSpace[Any]:
    from harness.spaces.nb101 import NB101Space

    return NB101Space(**kw)


def _nb101_pool(**kw: Any) -> SearchSpace[Any]:
    from harness.spaces.nb101_pool import NB101PoolSpace

    return NB101PoolSpace(**kw)


SPACES.add("nb201", _nb201, "NAS-Bench-201 cells: 6 edges x 5 ops (15,625 cells, 6,466 classes)")
SPACES.add(
    "nb201-study-genome",
    _nb201_study,
    "the reference study's 8-node binary genome mapped onto NB201 cells (829 reachable)",
)
SPACES.add("nb101", _nb101, "NAS-Bench-101 cells: 7-node DAGs, 3 ops (423,624 cells)")
SPACES.add(
    "nb101-30k-pool",
    _nb101_pool,
    "NAS-Bench-101 restricted to the 30,001 cells of the real shipped sample",
)


def _nbgraph(**kw: Any) -> SearchSpace[Any]:
    from harness.spaces.nbgraph import NBGraphSpace

    return NBGraphSpace("main", **kw)


def _nbgraph_proteins(**kw: Any) -> SearchSpace[Any]:
    from harness.spaces.nbgraph import NBGraphSpace

    return NBGraphSpace("proteins", **kw)


SPACES.add(
    "nbgraph",
    _nbgraph,
    "NAS-Bench-Graph cells: 4-node GNN DAGs, 9 ops (157,440 genotypes, 26,206 keys)",
)
SPACES.add(
    "nbgraph-proteins",
    _nbgraph_proteins,
    "NAS-Bench-Graph cells with the proteins ops gcn/sage/arma/fc/skip (2,021 keys)",
)


def make_space(name: str, params: Mapping[str, Any] | None = None) -> SearchSpace[Any]:
    """Instantiate a registered space; wrong parameters are configuration errors."""
    from harness.errors import ConfigError
    from harness.spaces._base import SearchSpace

    entry = SPACES.get(name)
    try:
        space = entry.create(**dict(params or {}))
    except TypeError as e:
        raise ConfigError(f"search space {name!r}: {e}") from None
    if not isinstance(space, SearchSpace):
        raise ConfigError(
            f"search space {name!r} did not produce a harness.spaces._base.SearchSpace but "
            f"{type(space).__name__}"
        )
    return space


def cell_space_of(space: SearchSpace[Any]) -> str:
    """The registered name of the space whose cells ``space.to_cell`` returns."""
    return getattr(space, "cell_space", None) or space.name
