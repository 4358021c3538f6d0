"""The NAS-Bench-201 cell network, written in the project (``xautodl`` cannot be installed here).

The macro skeleton is the NB201 paper's: a 3x3 stem convolution (16 channels) with batch norm;
three stages of ``N`` = 5 cells with ``C`` = 16 / 32 / 64 channels; between stages a residual
reduction block (ReLU-Conv3x3 stride 2, then ReLU-Conv3x3; shortcut 2x2 average pool + 1x1
convolution; NB201's ``ResNetBasicblock``); then batch norm + ReLU, global average pooling and a
linear classifier. A cell is a DAG on 4 nodes; node ``j`` is the sum of ``op(node i)`` over its
incoming edges ``i < j``; the cell's output is node 3. Ops: ``none`` (zero), ``skip_connect``
(identity), ``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU-Conv-BN, no conv bias, affine BN) and
``avg_pool_3x3`` (stride 1, pad 1, ``count_include_pad=False``). With these choices the parameter
count equals the benchmark's ``params_mb`` column exactly (tested on many cells).

Two departures from a literal transcription, neither changing what the network computes:

- ``none`` edges have no module and are skipped instead of multiplying by zero; a node without a
  live input is a zero tensor, exactly what the sum of ``x * 0`` terms gives.
- An edge whose target node cannot reach the cell output through non-``none`` edges is *dead*:
  its result never reaches the classifier, so it is not computed unless a conv edge reads its
  target node (:func:`needed_nodes`). A dead conv edge still applies its ReLU
  (``visit_dead_relus``, default on) so that activation hooks see every ReLU the reference
  network runs, with the value it sees there (NASWOT counts them: the authors' hooks fire on
  every ReLU the autograd graph reaches, and a ``x * 0`` term keeps a dead branch in that graph).

The network is built with PyTorch's default initialisation (as NB201's and the NASWOT authors'
code do); callers seed it (see :func:`harness.models.build_network`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.spaces.nb201 import EDGES, OPS, check_arch

#: op names by index, as in :mod:`harness.spaces.nb201`
NONE, SKIP, CONV1X1, CONV3X3, AVGPOOL = range(5)


class ReLUConvBN(nn.Sequential):
    """Pre-activation ReLU, convolution (no bias), affine batch norm: NB201's conv op."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class ResidualReduction(nn.Module):
    """NB201's reduction block: two ReLU-Conv3x3-BN (the first with stride 2) plus a shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def _make_op(op: int, c: int) -> nn.Module | None:
    if op == NONE:
        return None
    if op == SKIP:
        return nn.Identity()
    if op == CONV1X1:
        return ReLUConvBN(c, c, 1, 1, 0)
    if op == CONV3X3:
        return ReLUConvBN(c, c, 3, 1, 1)
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


def needed_nodes(arch: Sequence[int], *, visit_dead_relus: bool = True) -> list[bool]:
    """Which nodes' values must be computed.

    A node is needed when it reaches the cell output (node 3) through non-``none`` edges, or,
    with ``visit_dead_relus``, when a conv edge reads it (its ReLU must see the true value), or
    when it feeds a needed node.
    """
    needed = [False, False, False, True]
    for (i, j), op in reversed(list(zip(EDGES, arch, strict=True))):
        if (op != NONE and needed[j]) or (visit_dead_relus and op in (CONV1X1, CONV3X3)):
            needed[i] = True
    return needed


class NB201Cell(nn.Module):
    """One NB201 cell (NB201's ``InferCell`` semantics with stride 1 and C_in = C_out)."""

    def __init__(self, arch: Sequence[int], c: int, *, visit_dead_relus: bool = True) -> None:
        super().__init__()
        self.arch = tuple(int(a) for a in arch)
        self.visit_dead_relus = visit_dead_relus
        self.edges = nn.ModuleDict()
        for k, op in enumerate(self.arch):
            m = _make_op(op, c)
            if m is not None:
                self.edges[str(k)] = m
        needed = needed_nodes(self.arch, visit_dead_relus=visit_dead_relus)
        # (edge position, source, target, is the target needed?) for every non-none edge
        pairs = zip(EDGES, self.arch, strict=True)
        self._plan = [(k, i, j, needed[j]) for k, ((i, j), op) in enumerate(pairs) if op != NONE]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for k, i, j, live in self._plan:
            src = nodes[i]
            if src is None:  # a node whose inputs are all `none`: exactly zero
                src = nodes[i] = torch.zeros_like(x)
            op = self.edges[str(k)]
            if not live:
                if self.visit_dead_relus and isinstance(op, ReLUConvBN):
                    op[0](src)  # only for activation hooks; the result is unused
                continue
            y = op(src)
            cur = nodes[j]
            nodes[j] = y if cur is None else cur + y
        out = nodes[3]
        return torch.zeros_like(x) if out is None else out


class NB201Network(nn.Module):
    """The NB201 network of one cell (see the module docstring).

    Args:
        arch: 6 op indices in the official edge order (:mod:`harness.spaces.nb201`).
        num_classes: classifier outputs (10 for cifar10, 100 for cifar100, 120 for
            ImageNet16-120).
        channels: stem / first-stage channels ``C`` (16 in NB201).
        cells_per_stage: ``N`` (5 in NB201).
        visit_dead_relus: apply the ReLUs of dead branches (see the module docstring).
    """

    def __init__(
        self,
        arch: Sequence[int],
        num_classes: int = 10,
        *,
        channels: int = 16,
        cells_per_stage: int = 5,
        visit_dead_relus: bool = True,
    ) -> None:
        super().__init__()
        self.arch = check_arch(arch)
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(
                NB201Cell(self.arch, c, visit_dead_relus=visit_dead_relus)
                for _ in range(cells_per_stage)
            )
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Everything up to and including the last ReLU (all NASWOT needs)."""
        return self.lastact(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))

    def extra_repr(self) -> str:
        return "|".join(OPS[a] for a in self.arch)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (NB201's ``params`` counts all of them)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
