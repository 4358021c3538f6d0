"""PyTorch networks built from architectures: one builder for zero-cost scoring and training.

``build_network(space_name, cell, num_classes)`` returns an untrained ``nn.Module`` whose
``forward`` gives logits. NB201 (``"nb201"``): the project's own NB201 cell network; NB101
(``"nb101"``): the nasbench-pytorch network. The networks use PyTorch's default initialisation
drawn from the global torch generator: seed with ``seed=`` (an isolated, forked RNG, so the
caller's random state is untouched) for a reproducible network.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import torch
from torch import nn

from harness.errors import unknown
from harness.models.nb101_net import build_nb101_network
from harness.models.nb201_net import NB201Network, count_parameters


def build_network(
    space_name: str, cell: Hashable, num_classes: int = 10, *, seed: int | None = None
) -> nn.Module:
    """Build the network of a native cell of a registered space (its ``network`` builder).

    Args:
        space_name: a registered space with a network builder (``"nb201"``, ``"nb101"``; a
            genome space maps its architectures to cells with ``space.to_cell`` first).
        cell: the benchmark cell.
        num_classes: classifier outputs.
        seed: when given, the weights are drawn under ``torch.random.fork_rng`` seeded with it,
            so the same seed gives the same weights and the global RNG is left as it was.
    """
    space = network_space(space_name)
    if seed is None:
        return space.network(cell, num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.network(cell, num_classes)


def network_space(space_name: str) -> Any:
    """The registered space ``space_name``, refused unless it can build networks."""
    from harness.spaces import SPACES, make_space
    from harness.spaces._base import SearchSpace

    def builds(name: str) -> bool:
        return type(SPACES.get(name).create()).network is not SearchSpace.network

    if space_name not in SPACES or not builds(space_name):
        raise unknown("network space", space_name, [n for n in SPACES.names() if builds(n)])
    return make_space(space_name)


__all__ = [
    "NB201Network",
    "build_nb101_network",
    "build_network",
    "count_parameters",
    "network_space",
]
