"""Zero-cost proxies besides NASWOT: synflow, jacov, snip, grad_norm, params and flops.

Why: NAS-Bench-Suite-Zero (NASLib's ``predictors/pruners``) publishes these columns for NB201;
computing them on the project's own network builder (:func:`harness.models.build_network`, the
same seeded weights as NASWOT, :func:`harness.evaluators.zero_cost.cell_seed`) checks the builder
and lets searches use proxies for cells the published tables lack. Semantics follow NASLib
(read for semantics only, no code copied):

- **grad_norm**: training mode (batch statistics), cross-entropy of the logits against the
  images' labels, one backward pass; the score is the sum over every ``Conv2d`` / ``Linear``
  layer of the L2 norm of its weight gradient.
- **snip**: the same pass; the score is ``sum |w * dL/dw|`` over those layers' weights. NASLib
  multiplies each weight by a mask of ones and reads the mask's gradient, which is exactly
  ``w * dL/dw``: computed directly here (same value, no module surgery).
- **jacov**: training mode; the gradient of the summed logits with respect to the input images
  (one Jacobian row per image), their correlation matrix ``R``, and
  ``-sum(log(v + k) + 1 / (v + k))`` over the eigenvalues ``v`` of ``R``, ``k = 1e-5``
  (NASWOT's first-version score). Eigenvalues by ``eigvalsh`` (``R`` is symmetric; NASLib's
  general ``eig`` gives the same real values up to rounding).
- **synflow**: batch norm switched off (identity, NASLib's ``bn=False`` copy), every parameter
  replaced by its absolute value, float64, one all-ones input ``[1, 3, 32, 32]``, backward of the
  summed logits; the raw score ``sum |w * dR/dw|`` over ``Conv2d`` / ``Linear`` weights is
  reported as ``log(raw)`` as NASLib's ``ZeroCost`` predictor does (the published column is
  logged).
- **params**: trainable parameters in millions (NB201's ``params_mb``).
- **flops**: forward FLOPs of one ``[1, 3, 32, 32]`` image in millions: convolutions and the
  linear layer as multiply-accumulates (+ bias), batch norm 2 and ReLU 1 per element, average
  pooling ``k*k`` per output element, global pooling 1 per input element. Every edge counts,
  also edges whose result is cut off by ``none`` (the reference network computes them and
  multiplies by zero). This reproduces the published cell-to-cell differences exactly (3 per
  element per conv edge, 9 per element per pooling edge); the fixed part (stem, reductions,
  head) differs from the published one by about 1e-3 MFLOPs (a profiler convention not
  reproduced), so ranks are identical.
- **naswot**: delegated to :func:`harness.evaluators.zero_cost.score_cell`.

Differences from NAS-Bench-Suite-Zero, and why:

- **Images**: the 164 shipped CIFAR-10 images (NASLib: one random batch of 64 from the training
  loader); the default batch is the first 64 images with their labels (:func:`load_labels`).
  For cifar100 / ImageNet16-120 the published columns were computed on those datasets' images
  with 100 / 120 classes; here every proxy uses CIFAR-10 images and a 10-class head (only
  CIFAR-10 images are shipped): label such numbers as "scores on CIFAR-10 images".
- **Seeding**: the weights of a cell come from ``cell_seed(seed, space, cell)`` (the same
  network NASWOT scores), so a score does not depend on what was scored before; NASLib draws
  from the global RNG. Scores therefore agree with the published ones in rank, not value.
- **Undefined scores**: NASLib maps NaN / inf to ``-1e8``. Here the result is flagged
  ``degenerate`` with a reason and the score is ``-inf`` (jacov when a Jacobian row is constant,
  e.g. the output is cut off; synflow when the raw score is 0, whose log NASLib reports as 0).
  grad_norm and snip of a cut-off cell are a true 0, kept.

Tables: ``nash dev proxies proxies`` writes the validation table
``harness/zc_data/nb201_proxies_cifar10_b64_seed0.csv``; ``... batch-sizes`` writes the NASWOT
batch-size table ``harness/zc_data/nb201_naswot_batch_sizes.csv`` (the reference study's
conclusion (c)).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import sys
import time
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from harness.errors import ConfigError, InvalidArchitecture, unknown
from harness.evaluators._base import Evaluator
from harness.evaluators.zero_cost import (
    ZC_DATA,
    _answered_again,
    _cell_key,
    cell_seed,
    torch_threads,
)
from harness.records import STATUS_FAILED, Cost, EvalResult
from harness.spaces._base import SearchSpace

PROXIES = ("naswot", "synflow", "jacov", "snip", "grad_norm", "params", "flops")
#: the published NB201 columns each proxy is validated against
PUBLISHED = {p: f"zc_{'nwot' if p == 'naswot' else p}" for p in PROXIES}
#: NAS-Bench-Suite-Zero's batch (one loader batch of 64 images)
DEFAULT_BATCH = 64
JACOV_K = 1e-5
PROXY_TABLE = ZC_DATA / "nb201_proxies_cifar10_b64_seed0.csv"
BATCH_TABLE = ZC_DATA / "nb201_naswot_batch_sizes.csv"
BATCH_SUBSETS_TABLE = ZC_DATA / "nb201_proxies_naswot_batch_subsets.csv"
BATCH_SIZES = (16, 32, 64, 128)


@dataclass(frozen=True, slots=True)
class ProxyResult:
    """One proxy scoring: ``score`` (higher is better; ``-inf`` when degenerate), seconds of
    building and scoring the network, and the reason when the score is undefined."""

    proxy: str
    score: float
    seconds: float
    degenerate: bool = False
    reason: str = ""


@functools.cache
def _labels(name: str) -> np.ndarray:
    from harness.benchmarks.registry import locate
    from harness.data.images import IMAGE_SETS

    dataset, relpath = IMAGE_SETS[name]
    path = locate(dataset, relpath)
    if name == "cifar10":
        with np.load(path) as d:
            return np.asarray(d["y"], dtype=np.int64)
    import pandas as pd  # mnist: the same fixed permutation as load_images

    y = pd.read_csv(path, header=None).to_numpy()[:, 784].astype(np.int64)
    return y[np.random.default_rng(0).permutation(len(y))]


def load_labels(name: str = "cifar10", n: int = DEFAULT_BATCH) -> torch.Tensor:
    """Class labels of the first ``n`` images of a shipped set, in ``load_images`` order.

    grad_norm and snip need labels (a cross-entropy loss); they belong to the images that
    :func:`harness.data.images.load_images` returns for the same ``name`` and ``n``.
    """
    from harness.data.images import load_images

    load_images(name, n)  # same validation of name and batch size
    return torch.from_numpy(_labels(name)[: int(n)].copy())


def _weighted_layers(net: nn.Module) -> Iterator[nn.Conv2d | nn.Linear]:
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            yield m


def _degenerate(name: str, seconds: float, reason: str) -> ProxyResult:
    return ProxyResult(name, -math.inf, seconds, True, reason)


# ----------------------------------------------------------------------------------------------
# the proxies on a built network


def grad_norm_and_snip(
    net: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """grad_norm and snip from one cross-entropy backward pass (training mode)."""
    net.train()
    net.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(images), labels)
    loss.backward()
    gn = 0.0
    sn = 0.0
    with torch.no_grad():
        for m in _weighted_layers(net):
            g = m.weight.grad
            if g is None:  # a layer on a branch cut off by `none`: NASLib's grad is 0 there
                continue
            gn += float(g.norm())
            sn += float((m.weight * g).abs().sum())
    net.zero_grad(set_to_none=True)
    return {"grad_norm": gn, "snip": sn}


def jacov_score(net: nn.Module, images: torch.Tensor) -> tuple[float, str]:
    """jacov (NASWOT v1): (score, reason); the reason is non-empty when undefined."""
    net.train()
    x = images.detach().clone().requires_grad_(True)
    out = net(x)
    (jac,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    if jac is None:  # the output does not depend on the input at all
        return -math.inf, "the input does not reach the output (Jacobian is zero)"
    j = jac.reshape(jac.shape[0], -1).double().numpy()
    if np.any(j.std(axis=1) == 0):
        return -math.inf, "a Jacobian row is constant (the input does not reach the output)"
    corr = np.corrcoef(j)
    v = np.linalg.eigvalsh(corr)
    score = float(-np.sum(np.log(v + JACOV_K) + 1.0 / (v + JACOV_K)))
    if not math.isfinite(score):
        return -math.inf, "the Jacobian correlation matrix gives a non-finite score"
    return score, ""


def _drop_batchnorm(net: nn.Module) -> None:
    """Replace every batch norm by the identity (NASLib's synflow copy with ``bn=False``)."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.BatchNorm1d | nn.BatchNorm2d):
                setattr(parent, name, nn.Identity())


def synflow_raw(net: nn.Module, input_shape: Sequence[int]) -> float:
    """Raw synaptic flow ``sum |w * dR/dw|`` (R = summed logits of an all-ones input).

    Modifies ``net`` (batch norm removed, absolute float64 weights): pass a fresh network.
    """
    _drop_batchnorm(net)
    net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad(set_to_none=True)
    out = net(torch.ones([1, *input_shape[1:]], dtype=torch.float64))
    out.sum().backward()
    total = 0.0
    with torch.no_grad():
        for m in _weighted_layers(net):
            if m.weight.grad is not None:
                total += float((m.weight * m.weight.grad).abs().sum())
    return total


def params_m(net: nn.Module) -> float:
    """Trainable parameters in millions."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6


def _compute_every_edge(net: nn.Module) -> None:
    """Make NB201 cells compute edges whose result is cut off by ``none``.

    The result of such an edge never reaches the output (so the logits are unchanged); the
    reference network computes it anyway, and its FLOPs count in the published column.
    """
    from harness.models.nb201_net import NB201Cell

    for m in net.modules():
        if isinstance(m, NB201Cell):
            m._plan = [(k, i, j, True) for k, i, j, _ in m._plan]


def flops_m(net: nn.Module, input_shape: Sequence[int]) -> float:
    """Forward FLOPs of one image in millions (conventions in the module docstring)."""
    _compute_every_edge(net)
    total = 0

    def hook(m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            total += out.numel() * (k + (1 if m.bias is not None else 0))
        elif isinstance(m, nn.Linear):
            total += out.numel() * (m.in_features + (1 if m.bias is not None else 0))
        elif isinstance(m, nn.BatchNorm2d):
            total += 2 * out.numel()
        elif isinstance(m, nn.ReLU):
            total += out.numel()
        elif isinstance(m, nn.AvgPool2d):
            ks = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
            total += out.numel() * int(ks[0]) * int(ks[1])
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            total += inp[0].numel()

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    try:
        net.eval()
        with torch.inference_mode():
            net(torch.zeros([1, *input_shape[1:]]))
    finally:
        for h in handles:
            h.remove()
    return total / 1e6


# ----------------------------------------------------------------------------------------------
# scoring a cell


def _check_names(names: Sequence[str]) -> None:
    for n in names:
        if n not in PROXIES:
            raise unknown("zero-cost proxy", n, PROXIES)


def score_proxies(
    names: Sequence[str],
    space_name: str,
    cell: Hashable,
    images: torch.Tensor,
    seed: int = 0,
    *,
    labels: torch.Tensor | None = None,
    num_threads: int | None = 1,
) -> dict[str, ProxyResult]:
    """Several proxies of one cell, sharing networks and passes where the semantics allow.

    Every proxy sees the same initial weights (seeded by ``(seed, space, cell)``); grad_norm
    and snip share one backward pass (their ``seconds`` is that pass, each). ``labels``
    default to the shipped CIFAR-10 labels of the first ``len(images)`` images (correct when
    ``images`` is ``load_images("cifar10", n)``).
    """
    from harness.data.images import check_images
    from harness.models import build_network, network_space

    names = list(dict.fromkeys(names))
    _check_names(names)
    network_space(space_name)  # a space that builds networks, or the list of those that do
    check_images(images)
    if labels is None and ({"grad_norm", "snip"} & set(names)):
        labels = load_labels("cifar10", int(images.shape[0]))
    if labels is not None and labels.shape != (images.shape[0],):
        raise ConfigError(
            f"labels must have shape [{images.shape[0]}] (one per image), got {list(labels.shape)}"
        )
    init_seed = cell_seed(seed, space_name, _cell_key(space_name, cell))

    def net() -> nn.Module:
        return build_network(space_name, cell, 10, seed=init_seed)

    out: dict[str, ProxyResult] = {}
    with torch_threads(num_threads):
        if "naswot" in names:
            from harness.evaluators.zero_cost import score_cell

            r = score_cell(space_name, cell, images, seed=seed, num_threads=num_threads)
            out["naswot"] = ProxyResult("naswot", r.score, r.seconds, r.degenerate, r.reason)
        if {"grad_norm", "snip"} & set(names):
            assert labels is not None
            t0 = time.perf_counter()
            gs = grad_norm_and_snip(net(), images, labels)
            dt = time.perf_counter() - t0
            for k, v in gs.items():
                if k in names:
                    out[k] = (
                        ProxyResult(k, v, dt)
                        if math.isfinite(v)
                        else _degenerate(k, dt, "non-finite gradients")
                    )
        if "jacov" in names:
            t0 = time.perf_counter()
            s, why = jacov_score(net(), images)
            dt = time.perf_counter() - t0
            out["jacov"] = _degenerate("jacov", dt, why) if why else ProxyResult("jacov", s, dt)
        if "synflow" in names:
            t0 = time.perf_counter()
            raw = synflow_raw(net(), tuple(images.shape))
            dt = time.perf_counter() - t0
            out["synflow"] = (
                ProxyResult("synflow", math.log(raw), dt)
                if raw > 0 and math.isfinite(raw)
                else _degenerate(
                    "synflow", dt, f"raw synaptic flow is {raw} (no path from input to output)"
                )
            )
        for k, fn in (("params", params_m), ("flops", None)):
            if k in names:
                t0 = time.perf_counter()
                v = params_m(net()) if fn is not None else flops_m(net(), tuple(images.shape))
                out[k] = ProxyResult(k, v, time.perf_counter() - t0)
    return {n: out[n] for n in names}


def score_proxy(
    name: str,
    space_name: str,
    cell: Hashable,
    images: torch.Tensor,
    seed: int = 0,
    *,
    labels: torch.Tensor | None = None,
    num_threads: int | None = 1,
) -> ProxyResult:
    """One zero-cost proxy of one cell on its seeded untrained network (see the module
    docstring for each proxy's semantics). Deterministic for a fixed ``num_threads``."""
    _check_names([name])
    return score_proxies(
        [name], space_name, cell, images, seed, labels=labels, num_threads=num_threads
    )[name]


# ----------------------------------------------------------------------------------------------
# the evaluator


class ProxyEvaluator(Evaluator):
    """Any proxy of :data:`PROXIES` behind the evaluator interface.

    :class:`harness.evaluators.zero_cost.ZeroCostEvaluator` accepts only ``naswot`` (a fixed
    tuple checked in its constructor), so the other proxies get this evaluator with the same
    contract: ``signal`` is the score (higher is better), ``cost`` is ``Cost(n_proxy=1,
    score_s=<seconds>, measured_s=<seconds>)`` (0 measured when a memoised score is asked
    again), ``reported`` is the NB201 200-epoch test accuracy of ``dataset`` for reporting,
    ``is_proxy`` is True, and an undefined score is a failed evaluation (``-inf``) with its
    reason. Scores always come from CIFAR-10 images (``describe()`` says so). Results
    are memoised per (cell, seed).
    """

    is_proxy = True
    default_fidelity = None

    def __init__(
        self,
        proxy: str,
        dataset: str = "cifar10",
        *,
        batch_size: int = DEFAULT_BATCH,
        space: SearchSpace[Any] | None = None,
        num_threads: int | None = 1,
    ) -> None:
        from harness.benchmarks import nb201 as tables
        from harness.data.images import load_images
        from harness.spaces import nb201

        _check_names([proxy])
        if dataset not in tables.DATASETS:
            raise unknown("NB201 dataset", dataset, tables.DATASETS)
        self.proxy, self.dataset, self.batch_size = proxy, dataset, int(batch_size)
        self.num_threads = num_threads
        self.images = load_images("cifar10", batch_size)  # validates 2..164
        self.labels = load_labels("cifar10", batch_size)
        self._t201 = tables.load()
        self._cell_space = nb201.NB201Space()
        self.space = space if space is not None else self._cell_space
        self._memo: dict[tuple[int, int], EvalResult] = {}

    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        from harness.spaces import nb201

        cell = nb201.check_arch(self.space.to_cell(arch))
        index = nb201.index_of(cell)
        memo = self._memo.get((index, seed))
        if memo is not None:
            return _answered_again(memo)
        r = score_proxy(
            self.proxy,
            self._cell_space.name,
            cell,
            self.images,
            seed,
            labels=self.labels,
            num_threads=self.num_threads,
        )
        cost = Cost(n_proxy=1, score_s=float(r.seconds), measured_s=float(r.seconds))
        test = self._t201.value(self.dataset, "test_acc@200", index)
        if r.degenerate:
            res = EvalResult(
                signal=-math.inf,
                cost=cost,
                reported=test,
                status=STATUS_FAILED,
                reason=f"{self.proxy} undefined: {r.reason}",
            )
        else:
            res = EvalResult(signal=r.score, cost=cost, reported=test)
        self._memo[(index, seed)] = res
        return res

    def describe(self) -> dict[str, Any]:
        return {
            "class": type(self).__name__,
            "benchmark": self._cell_space.name,
            "dataset": self.dataset,
            "proxy": self.proxy,
            "signal": f"zero-cost {self.proxy} score (higher is better)",
            "images": "cifar10",
            "batch_size": self.batch_size,
            "images_note": "scores computed on CIFAR-10 images with a 10-class head for every "
            f"dataset; dataset {self.dataset!r} only selects the reported accuracy",
            "num_threads": self.num_threads,
            "report_metric": "test_acc@200",
            "space": self.space.name,
        }


# ----------------------------------------------------------------------------------------------
# tables


def _write_table(path: Path, df: Any, meta: dict[str, Any]) -> None:
    from harness.paths import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")
        tmp.chmod(0o644)
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        tmp.chmod(0o644)


def proxy_validation_cells(n: int = 80, seed: int = 0) -> list[int]:
    """``n`` NB201 indices drawn uniformly (``default_rng(seed)``) among the 9,445 cells that
    have every published cifar10 proxy column (no branch cut off by ``none``), sorted."""
    from harness.benchmarks import nb201 as tables

    t = tables.load()
    ok = np.ones(15625, dtype=bool)
    for col in PUBLISHED.values():
        ok &= np.isfinite(np.asarray(t.column("cifar10", col)))
    pool = np.flatnonzero(ok)
    return sorted(int(i) for i in np.random.default_rng(seed).choice(pool, n, replace=False))


def compute_proxy_table(
    n_cells: int = 80,
    *,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
    num_threads: int = 1,
    path: Path = PROXY_TABLE,
    progress: bool = True,
) -> Path:
    """Every proxy on a random subset of NB201 cells (the validation table), with timings."""
    import pandas as pd
    from tqdm import tqdm

    from harness.data.images import load_images
    from harness.spaces import nb201

    cells = proxy_validation_cells(n_cells, seed)
    x, y = load_images("cifar10", batch_size), load_labels("cifar10", batch_size)
    rows = []
    space = nb201.NB201Space().name
    for i in tqdm(cells, desc="proxies nb201", unit="cell", disable=not progress, file=sys.stderr):
        res = score_proxies(
            PROXIES, space, nb201.arch_of_index(i), x, seed, labels=y, num_threads=num_threads
        )
        row: dict[str, Any] = {"nb201_index": i}
        row.update({k: r.score for k, r in res.items()})
        row.update({f"{k}_s": round(r.seconds, 4) for k, r in res.items()})
        rows.append(row)
    meta = {
        "what": "zero-cost proxies of NB201 cells on the project's network builder, for "
        "validation against the NAS-Bench-Suite-Zero columns (zc_<proxy>; naswot vs zc_nwot)",
        "cells": f"{n_cells} indices drawn by numpy default_rng({seed}).choice among the 9,445 "
        "cells with every published cifar10 proxy column, sorted",
        "images": f"first {batch_size} of the 164 shipped CIFAR-10 images with their labels",
        "batch_size": batch_size,
        "seed": seed,
        "weights": "cell_seed(seed, 'nb201', arch_str) per cell: the same network for every proxy",
        "num_threads": num_threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "command": f"python -m harness.evaluators.proxies proxies --cells {n_cells} "
        f"--batch-size {batch_size} --seed {seed}",
        "columns": "score per proxy (-inf: undefined), <proxy>_s: seconds (grad_norm and snip "
        "share one pass)",
    }
    _write_table(path, pd.DataFrame(rows), meta)
    return path


def batch_size_cells(n: int = 150, seed: int = 0) -> list[int]:
    """``n`` NB201 indices drawn uniformly (``default_rng(seed)``) among all 15,625, sorted."""
    return sorted(int(i) for i in np.random.default_rng(seed).choice(15625, n, replace=False))


def image_subset(k: int, n: int) -> torch.Tensor:
    """Image subset ``k`` of size ``n``: k = 0 the first ``n`` shipped CIFAR-10 images (the
    default batch), k >= 1 the first ``n`` of the permutation ``default_rng(k)`` of all 164."""
    from harness.data.images import load_images, n_available

    if k == 0:
        return load_images("cifar10", n)
    load_images("cifar10", n)  # validation
    allx = load_images("cifar10", n_available("cifar10"))
    perm = np.random.default_rng(k).permutation(allx.shape[0])[:n]
    return allx[torch.from_numpy(perm)].contiguous()


def compute_batch_size_table(
    n_cells: int = 150,
    *,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    subsets: int = 1,
    seed: int = 0,
    num_threads: int = 1,
    path: Path = BATCH_TABLE,
    subsets_path: Path = BATCH_SUBSETS_TABLE,
    progress: bool = True,
) -> Path:
    """NASWOT at several batch sizes on a fixed uniform subset of NB201 cells.

    For the reference study's conclusion (c) ("a larger NASWOT batch does not always help").
    Every batch size scores the same network per cell (weights seed ``seed``); degenerate
    cells keep ``-inf``. ``subsets > 1`` repeats every batch size on image subsets 1.. (see
    :func:`image_subset`), written to ``subsets_path``.
    """
    import pandas as pd
    import scipy.stats as ss
    from tqdm import tqdm

    from harness.benchmarks import nb201 as tables
    from harness.evaluators.zero_cost import score_cell
    from harness.spaces import nb201

    t = tables.load()
    cells = batch_size_cells(n_cells, seed)
    val = np.asarray(t.column("cifar10", "val_acc@200"))
    test = np.asarray(t.column("cifar10", "test_acc@200"))
    rows: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    imgs = {(k, b): image_subset(k, b) for k in range(subsets) for b in batch_sizes}
    total_s = 0.0
    space = nb201.NB201Space().name
    bar = tqdm(
        cells, desc="naswot batch sizes", unit="cell", disable=not progress, file=sys.stderr
    )
    for i in bar:
        arch = nb201.arch_of_index(i)
        for k in range(subsets):
            row: dict[str, Any] = {"nb201_index": i}
            if k == 0:
                row.update(val_acc=float(val[i]), test_acc=float(test[i]))
            else:
                row["subset"] = k
            for b in batch_sizes:
                r = score_cell(space, arch, imgs[(k, b)], seed=seed, num_threads=num_threads)
                total_s += r.seconds
                row[f"score_b{b}"] = r.score
            (rows if k == 0 else extra).append(row)
    df = pd.DataFrame(rows)
    rho = {}
    for b in batch_sizes:
        s = df[f"score_b{b}"].to_numpy(float)
        ok = np.isfinite(s)
        rho[str(b)] = round(float(ss.spearmanr(s[ok], df["val_acc"].to_numpy(float)[ok])[0]), 4)
    meta: dict[str, Any] = {
        "what": "NASWOT (Hamming kernel) scores of a fixed NB201 cell subset at several batch "
        "sizes, for the reference study's conclusion (c)",
        "cells": f"{n_cells} indices drawn by numpy default_rng({seed}).choice(15625, "
        f"{n_cells}, replace=False), sorted; none excluded (degenerate cells: -inf)",
        "images": "score_b<B>: the first B of the 164 shipped CIFAR-10 images",
        "weights": f"cell_seed({seed}, 'nb201', arch_str): the same network at every batch size",
        "val_acc": "cifar10 val_acc@200 (x-valid, seed mean)",
        "test_acc": "cifar10 test_acc@200 (seed mean)",
        "batch_sizes": list(batch_sizes),
        "seed": seed,
        "num_threads": num_threads,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "scoring_seconds_total": round(total_s, 1),
        "n_degenerate": int(
            (~np.isfinite(df[[f"score_b{b}" for b in batch_sizes]])).any(axis=1).sum()
        ),
        "spearman_val_acc_finite": rho,
        "command": f"python -m harness.evaluators.proxies batch-sizes --cells {n_cells} "
        f"--subsets {subsets} --seed {seed}",
    }
    if subsets > 1:
        e = pd.DataFrame(extra)
        meta["image_subsets"] = {
            "file": subsets_path.name,
            "what": "the same cells and weights on image subsets 1..: the first B of the "
            "permutation default_rng(k) of the 164 images",
            "spearman_val_acc_finite": {
                str(k): {
                    str(b): round(_rho_val(e[e["subset"] == k], b, val), 4) for b in batch_sizes
                }
                for k in range(1, subsets)
            },
        }
        from harness.paths import atomic_path

        with atomic_path(subsets_path) as tmp:  # described by the main table's sidecar
            e.to_csv(tmp, index=False, float_format="%.10g")
            tmp.chmod(0o644)
    _write_table(path, df, meta)
    return path


def compute_batch_subsets(
    n_cells: int = 150,
    *,
    subsets: Sequence[int] = (1, 2),
    batch_sizes: Sequence[int] = BATCH_SIZES,
    seed: int = 0,
    num_threads: int = 1,
    path: Path = BATCH_TABLE,
    subsets_path: Path = BATCH_SUBSETS_TABLE,
    progress: bool = True,
) -> Path:
    """Only the image-subset repeats of an existing batch-size table (subset 0 is the table);
    writes ``subsets_path`` and adds their correlations to the table's sidecar."""
    import pandas as pd
    from tqdm import tqdm

    from harness.benchmarks import nb201 as tables
    from harness.evaluators.zero_cost import score_cell
    from harness.paths import atomic_path
    from harness.spaces import nb201

    meta = json.loads(path.with_suffix(".json").read_text())
    cells = batch_size_cells(n_cells, seed)
    if list(pd.read_csv(path)["nb201_index"]) != cells:
        raise ConfigError(f"{path} holds other cells than batch_size_cells({n_cells}, {seed})")
    val = np.asarray(tables.load().column("cifar10", "val_acc@200"))
    imgs = {(k, b): image_subset(k, b) for k in subsets for b in batch_sizes}
    rows = []
    space = nb201.NB201Space().name
    bar = tqdm(cells, desc="naswot subsets", unit="cell", disable=not progress, file=sys.stderr)
    for i in bar:
        arch = nb201.arch_of_index(i)
        for k in subsets:
            row: dict[str, Any] = {"nb201_index": i, "subset": k}
            for b in batch_sizes:
                r = score_cell(space, arch, imgs[(k, b)], seed=seed, num_threads=num_threads)
                row[f"score_b{b}"] = r.score
            rows.append(row)
    e = pd.DataFrame(rows)
    with atomic_path(subsets_path) as tmp:  # described by the main table's sidecar
        e.to_csv(tmp, index=False, float_format="%.10g")
        tmp.chmod(0o644)
    meta["image_subsets"] = {
        "file": subsets_path.name,
        "what": "the same cells and weights on image subsets k: the first B of the "
        "permutation default_rng(k) of the 164 images",
        "command": f"python -m harness.evaluators.proxies batch-subsets --cells {n_cells} "
        f"--seed {seed}",
        "spearman_val_acc_finite": {
            str(k): {str(b): round(_rho_val(e[e["subset"] == k], b, val), 4) for b in batch_sizes}
            for k in subsets
        },
    }
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        tmp.chmod(0o644)
    return subsets_path


def _rho_val(part: Any, b: int, val: np.ndarray) -> float:
    import scipy.stats as ss

    s = part[f"score_b{b}"].to_numpy(float)
    v = val[part["nb201_index"].to_numpy(int)]
    ok = np.isfinite(s)
    return float(ss.spearmanr(s[ok], v[ok])[0])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="nash dev proxies",
        description="Compute the committed zero-cost validation and batch-size tables.",
    )
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("proxies", help="every proxy on a random NB201 subset (validation)")
    a.add_argument("--cells", type=int, default=80)
    a.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--out", type=Path, default=PROXY_TABLE)
    b = sub.add_parser("batch-sizes", help="NASWOT at batch 16/32/64/128 on a fixed subset")
    b.add_argument("--cells", type=int, default=150)
    b.add_argument("--subsets", type=int, default=1)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--out", type=Path, default=BATCH_TABLE)
    c = sub.add_parser("batch-subsets", help="repeat the batch-size table on image subsets 1, 2")
    c.add_argument("--cells", type=int, default=150)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        if args.what == "batch-subsets":
            path = compute_batch_subsets(args.cells, seed=args.seed, num_threads=args.threads)
        elif args.what == "proxies":
            path = compute_proxy_table(
                args.cells,
                batch_size=args.batch_size,
                seed=args.seed,
                num_threads=args.threads,
                path=args.out,
            )
        else:
            path = compute_batch_size_table(
                args.cells,
                subsets=args.subsets,
                seed=args.seed,
                num_threads=args.threads,
                path=args.out,
                subsets_path=args.out.with_name(BATCH_SUBSETS_TABLE.name),
            )
    except (ConfigError, InvalidArchitecture) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
