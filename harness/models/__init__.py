"""PyTorch networks built from architectures: one builder for zero-cost scoring and training.

``build_network(space_name, cell, num_classes)`` returns an untrained ``nn.Module`` whose
``forward`` gives logits. NB201 (``"nb201"``): the project's own NB201 cell network; NB101
(``"nb101"``): the nasbench-pytorch network. The networks use PyTorch's default initialisation
drawn from the global torch generator: seed with ``seed=`` (an isolated, forked RNG, so the
caller's random state is untouched) for a reproducible network.
"""

from __future__ import annotations

from collections.abc import Hashable

import torch
from torch import nn

from harness.errors import unknown
from harness.models.nb101_net import build_nb101_network
from harness.models.nb201_net import NB201Network, count_parameters

SPACES = ("nb201", "nb101")


def build_network(
    space_name: str, cell: Hashable, num_classes: int = 10, *, seed: int | None = None
) -> nn.Module:
    """Build the network of ``cell`` (an NB201 op tuple or an :class:`NB101Cell`).

    Args:
        space_name: ``"nb201"`` or ``"nb101"`` (a genome space maps its architectures to cells
            with ``space.to_cell`` first).
        cell: the benchmark cell.
        num_classes: classifier outputs.
        seed: when given, the weights are drawn under ``torch.random.fork_rng`` seeded with it,
            so the same seed gives the same weights and the global RNG is left as it was.
    """
    if space_name not in SPACES:
        raise unknown("network space", space_name, SPACES)
    if seed is None:
        return _build(space_name, cell, num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _build(space_name, cell, num_classes)


def _build(space_name: str, cell: Hashable, num_classes: int) -> nn.Module:
    if space_name == "nb201":
        return NB201Network(cell, num_classes)  # type: ignore[arg-type]
    return build_nb101_network(cell, num_classes)  # type: ignore[arg-type]


__all__ = ["SPACES", "NB201Network", "build_nb101_network", "build_network", "count_parameters"]
