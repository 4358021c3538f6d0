"""NB101 networks through the ``nasbench-pytorch`` dependency (the NB101 paper's skeleton).

Stem 3x3 conv (128 channels) + BN + ReLU, three stacks of three cells separated by 2x2 max
pooling (channels doubling), global average pooling and a linear classifier: the skeleton the
NB101 tables were trained with, so its parameter count matches the tables' ``params`` column.

The cell is pruned first (vertices off every input-output path removed, as the official
``ModelSpec`` does) so the network is the one the official hash names. Gotchas handled here
(nasbench-pytorch's): ``ModelSpec`` keeps its pruned matrix as a torch tensor; its ReLUs are
``nn.ReLU`` modules, so activation hooks (NASWOT) see them. ``inplace`` ReLUs, where a version
of the dependency uses them, are switched off because full backward hooks refuse them.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from harness.spaces.nb101 import NB101Cell


def build_nb101_network(
    cell: NB101Cell,
    num_classes: int = 10,
    *,
    stem_channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
) -> nn.Module:
    """The nasbench-pytorch ``Network`` of a (validated) cell, with non-inplace ReLUs."""
    from nasbench_pytorch.model import ModelSpec, Network

    if not isinstance(cell, NB101Cell):
        from harness.errors import InvalidArchitecture

        raise InvalidArchitecture(f"expected an NB101Cell, got {type(cell).__name__}")
    p = cell.pruned()
    spec = ModelSpec(np.asarray(p.matrix), list(p.ops))
    net = Network(
        spec,
        num_labels=num_classes,
        stem_out_channels=stem_channels,
        num_stacks=num_stacks,
        num_modules_per_stack=cells_per_stack,
    )
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return net
