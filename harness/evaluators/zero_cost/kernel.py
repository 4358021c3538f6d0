"""Zero-cost scoring: NASWOT (Mellor et al., ICML 2021) on real untrained networks.

NASWOT, the Hamming-kernel version (``nwot`` in NAS-Bench-Suite-Zero; not the Jacobian-covariance
"v1" score of the paper's first version): push one batch of real images through the untrained
network, read every ReLU's binary activation code per image (unit active or not), and build the
kernel ``K[a, b]`` = number of units on which images ``a`` and ``b`` agree (``N_A`` minus their
Hamming distance), summed over all ReLUs. The score is ``log|det K|`` (``slogdet``): networks
that separate the images well have a well-conditioned kernel.

Semantics, matched to the authors' code (BayesWatch/nas-without-training, ``score_networks.py``
with ``--score hook_logdet``; read for semantics only):

- **Which ReLUs count**: every ``nn.ReLU`` module the forward pass runs (a forward hook on each;
  the code is ``input > 0``, the same as ``output > 0``). The authors count a ReLU only when
  their backward pass reached it; on NB201 that is every ReLU, because their ``none`` op
  multiplies by zero and so keeps dead branches in the autograd graph. The project's NB201 net
  skips dead branches but still applies their ReLUs for this reason (:mod:`.nb201_net`); on NB101
  the official pruning leaves no dead vertex. Each ReLU counts separately even when several read
  the same tensor (as the authors' per-module hooks do); the kernel of a tensor already seen in
  this forward pass is reused instead of recomputed.
- **Mode**: the network stays in training mode, so batch norm normalises with the batch's own
  statistics (the authors never call ``eval()``); no dropout.
- **Initialisation**: PyTorch's defaults (the authors' default ``--init ''``); NB101 networks
  keep nasbench-pytorch's own initialisation.
- **Images**: 128 real CIFAR-10 training-pipeline images (theirs: the first batch of a shuffled,
  augmented CIFAR-10 loader; here: the first 128 of the 164 shipped images, normalised and
  crop-augmented upstream). Alternative: MNIST-5k (see :mod:`harness.data.images`).

Where this differs, and why:

- **One forward pass** instead of the authors' two (a Jacobian pass, then the hooked pass): in
  training mode without dropout both passes compute the same activations, so the second adds
  nothing but time. It runs under ``torch.inference_mode`` and stops at the last ReLU (pooling
  and the classifier never change a code).
- **CPU time, not numbers**: 3x3 average pools are summed by shifted slices in the order of
  torch's own kernel (bit for bit the same floats, checked once per process), and glibc keeps
  freed activations instead of faulting fresh pages in for every layer (:func:`_fast_exact_ops`).
- **Seeding**: the authors seed the global RNG once per run, so a network's weights depend on
  the order in which cells are scored. Here the weights of a cell are drawn from a fork of the
  RNG seeded by ``(seed, space, cell)``: the same cell and seed give the same score whatever
  else was scored, in any process. Scores of the same cell under different seeds differ (a
  property of NASWOT, not of this code); torch's thread count is fixed during scoring.
- **Arithmetic**: ``K = C C^T + (1 - C)(1 - C)^T`` is computed as
  ``2 C C^T - r 1^T - 1 r^T + F`` (``r`` the active counts): one exact int8 matrix product per
  distinct ReLU input (:func:`agreement_counts`), accumulated in float64; ``slogdet`` in float64.
- **Degenerate cells**: when ``K`` is singular (sign of the determinant <= 0: e.g. every image
  gets the same codes because the cell's output is cut off by ``none`` edges) the authors record
  ``-inf`` (their ``slogdet`` returns it) or NaN. Here the result is flagged ``degenerate`` with
  its reason, the score is ``-inf``, and the evaluator reports a failed evaluation (ranked below
  every real score), never a silent NaN.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import math
import platform
import sys
import time
import weakref
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

DEFAULT_THREADS = 2


@dataclass(frozen=True, slots=True)
class NaswotResult:
    """One NASWOT scoring.

    ``score`` is ``log|det K|`` (``-inf`` when degenerate); ``n_relus`` the ReLU calls counted,
    ``n_units`` the total number of units ``N_A`` (so ``K``'s diagonal is ``n_units``);
    ``seconds`` the wall time of building and scoring the network.
    """

    score: float
    n_relus: int
    n_units: int
    seconds: float
    degenerate: bool = False
    reason: str = ""


# ----------------------------------------------------------------------------------------------
# the kernel


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Fix torch's CPU threads while scoring: reductions, hence scores, depend on it."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def _exact_cuda_conv() -> Iterator[None]:
    """Float32 (not TF32) convolutions and matrix products on CUDA while scoring."""
    conv, mm = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, mm


def _gram01(codes: torch.Tensor) -> torch.Tensor:
    """``C C^T`` of a boolean code matrix as float64, exactly.

    An int8 matrix product with int32 accumulation (``torch._int_mm``; AMX/VNNI on CPUs that
    have it, about 15x faster than float32 here) where the backend offers it, else float32
    (exact: sums of 0/1 below 2^24).
    """
    c8 = codes.view(torch.int8)
    if hasattr(torch, "_int_mm") and c8.shape[0] > 16 and c8.shape[1] % 8 == 0:
        try:
            return torch._int_mm(c8, c8.t()).double()
        except (RuntimeError, NotImplementedError):
            pass
    cf = codes.to(torch.float32)
    return torch.mm(cf, cf.t()).double()


def agreement_counts(codes: torch.Tensor) -> torch.Tensor:
    """``K = C C^T + (1 - C)(1 - C)^T`` for boolean codes ``[B, F]`` (float64 ``[B, B]``).

    Expanded as ``2 C C^T - r 1^T - 1 r^T + F`` with ``r`` the active-unit counts (the diagonal
    of ``C C^T``), so one matrix product suffices.
    """
    g = _gram01(codes)
    r = torch.diagonal(g)
    return 2.0 * g - r[:, None] - r[None, :] + codes.shape[1]


# ----------------------------------------------------------------------------------------------
# exact fast paths: the float32 values torch's own CPU kernels give, in less CPU time

#: glibc ``mallopt`` parameters (``malloc.h``)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _keep_freed_heap() -> bool:
    """Let glibc keep freed activations in the heap instead of returning them to the system.

    One scoring allocates and frees hundreds of MB of activations; with glibc's defaults the
    heap is trimmed between layers, so the pages are faulted in (and zeroed by the kernel)
    again and again, a large share of the CPU time. Raising the mmap and trim thresholds keeps
    them (the process's peak memory is retained). Process-wide, once; results are unchanged.
    """
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(
            _M_TRIM_THRESHOLD, 512 << 20
        )
    except (OSError, AttributeError):
        return False
    return bool(ok)


@functools.cache
def _pool_counts(h: int, w: int) -> torch.Tensor:
    """How many of each position's 3x3 neighbours lie inside an ``h`` x ``w`` map (float32)."""
    rows = torch.tensor([min(i + 1, h - 1) - max(i - 1, 0) + 1 for i in range(h)])
    cols = torch.tensor([min(j + 1, w - 1) - max(j - 1, 0) + 1 for j in range(w)])
    return (rows[:, None] * cols[None, :]).to(torch.float32)


def _avg_pool3x3(x: torch.Tensor) -> torch.Tensor:
    """``avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` with torch's CPU kernel's arithmetic.

    That kernel sums each window's in-bounds inputs one by one in row-major order from 0, in
    float32, then divides by their count; here the same sums are built as 9 shifted slice
    additions over the whole tensor (vectorised, about 3x faster), so every output is the same
    float32 number (:func:`_pool_matches_torch` checks it once per process).
    """
    h, w = x.shape[-2:]
    s = torch.zeros_like(x)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            r0, r1, c0, c1 = max(0, -di), h - max(0, di), max(0, -dj), w - max(0, dj)
            if r0 < r1 and c0 < c1:
                s[..., r0:r1, c0:c1] += x[..., r0 + di : r1 + di, c0 + dj : c1 + dj]
    return s.div_(_pool_counts(h, w))


@functools.cache
def _pool_matches_torch() -> bool:
    """Whether :func:`_avg_pool3x3` reproduces this torch build's kernel bit for bit."""
    g = torch.Generator().manual_seed(0)
    for shape in [(3, 4, 9, 7), (2, 3, 1, 5), (2, 2, 2, 1), (4, 16, 32, 32)]:
        x = torch.randn(shape, generator=g) * 3.0
        x[x.abs() < 0.3] = -0.0
        ref = nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        got = _avg_pool3x3(x)
        if not (torch.equal(got, ref) and torch.equal(got.signbit(), ref.signbit())):
            return False
    return True


def _is_pool3x3(m: nn.Module) -> bool:
    def pair(v: Any) -> tuple[Any, ...]:
        return tuple(v) if isinstance(v, tuple | list) else (v, v)

    return (
        type(m) is nn.AvgPool2d
        and pair(m.kernel_size) == (3, 3)
        and pair(m.stride) == (1, 1)
        and pair(m.padding) == (1, 1)
        and not m.count_include_pad
        and not m.ceil_mode
        and m.divisor_override is None
        and "forward" not in m.__dict__
    )


@contextlib.contextmanager
def _fast_exact_ops(model: nn.Module) -> Iterator[None]:
    """While scoring ``model``: its 3x3 count-exclusive average pools use :func:`_avg_pool3x3`
    on contiguous float32 CPU inputs (other inputs: torch's kernel); restored afterwards."""
    _keep_freed_heap()
    swapped = [m for m in model.modules() if _is_pool3x3(m)] if _pool_matches_torch() else []

    def fast(pool: nn.Module) -> Any:
        def forward(x: torch.Tensor) -> torch.Tensor:
            if x.device.type == "cpu" and x.dtype == torch.float32 and x.is_contiguous():
                return _avg_pool3x3(x)
            return type(pool).forward(pool, x)

        return forward

    for m in swapped:
        m.forward = fast(m)
    try:
        yield
    finally:
        for m in swapped:
            del m.forward


def naswot_kernel(
    model: nn.Module, images: torch.Tensor, *, fast: bool = True
) -> tuple[torch.Tensor, int, int]:
    """The NASWOT kernel of ``model`` on ``images``: (K float64 [B, B], ReLU calls, units).

    The model is put in training mode (batch statistics) and run once under inference mode; a
    forward hook on every ``nn.ReLU`` accumulates the agreement counts of its input's codes.
    Models with a ``features`` method (the NB201 net) stop at the last ReLU. ``fast`` (default)
    uses the exact fast paths of :func:`_fast_exact_ops` (the same K; False: torch's kernels
    and allocator settings as they are, for comparison).
    """
    b = images.shape[0]
    k = torch.zeros(b, b, dtype=torch.float64, device=images.device)
    state = {"relus": 0, "units": 0}
    seen: dict[int, tuple[weakref.ref[torch.Tensor], torch.Tensor, int]] = {}

    def hook(_module: nn.Module, inp: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
        x = inp[0]
        state["relus"] += 1
        hit = seen.get(id(x))
        if hit is not None and hit[0]() is x:  # same tensor read by another ReLU: same codes
            agree, units = hit[1], hit[2]
        else:
            codes = x.reshape(b, -1) > 0
            units = codes.shape[1]
            agree = agreement_counts(codes)
            seen[id(x)] = (weakref.ref(x), agree, units)
        k.add_(agree)
        state["units"] += units

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        model.train()
        with torch.inference_mode(), _fast_exact_ops(model) if fast else contextlib.nullcontext():
            features = getattr(model, "features", None)
            if callable(features):
                features(images)
            else:
                model(images)
    finally:
        for h in handles:
            h.remove()
    return k, state["relus"], state["units"]


def naswot_score(model: nn.Module, images: torch.Tensor) -> NaswotResult:
    """NASWOT score of an already built network (see the module docstring)."""
    from harness.data.images import check_images

    check_images(images)
    t0 = time.perf_counter()
    k, n_relus, n_units = naswot_kernel(model, images)
    return _result(k, n_relus, n_units, time.perf_counter() - t0)


def _result(k: torch.Tensor, n_relus: int, n_units: int, seconds: float) -> NaswotResult:
    if n_relus == 0:
        return NaswotResult(
            -math.inf, 0, 0, seconds, True, "the network has no ReLU: NASWOT is undefined"
        )
    sign, logdet = torch.linalg.slogdet(k.cpu())
    if float(sign) <= 0 or not math.isfinite(float(logdet)):
        return NaswotResult(
            -math.inf,
            n_relus,
            n_units,
            seconds,
            True,
            "singular NASWOT kernel: images are not separated by the ReLU codes "
            "(e.g. the cell's output is cut off by 'none' edges)",
        )
    return NaswotResult(float(logdet), n_relus, n_units, seconds)


def cell_seed(seed: int, space_name: str, cell_key: str) -> int:
    """The weight-initialisation seed of one cell: a stable hash of (seed, space, cell)."""
    digest = hashlib.sha256(f"{int(seed)}|{space_name}|{cell_key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _cell_key(space_name: str, cell: Any) -> str:
    from harness.models import network_space

    return network_space(space_name).network_key(cell)


def score_cell(
    space_name: str,
    cell: Hashable,
    images: torch.Tensor,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_threads: int | None = DEFAULT_THREADS,
    fast: bool = True,
) -> NaswotResult:
    """Build the untrained network of ``cell`` (seeded) and score it with NASWOT.

    NB101 cells are built from their canonical form (:func:`harness.spaces.nb101.canonical_form`)
    and seeded by their official hash, so isomorphic cells (one hash) get the same network,
    weights and score: a score is a function of the hash, which the NB101 score table and the
    score cache are keyed by. On CUDA, TF32 convolutions are switched off while scoring (codes
    are signs of activations: reduced precision flips more of them than float32 rounding).

    ``seconds`` covers building the network, moving it to ``device`` and scoring (not loading
    the images). ``num_threads`` fixes torch's CPU threads while scoring (None: leave as is).
    ``fast``: see :func:`naswot_kernel` (the same score either way).
    """
    from harness.data.images import check_images
    from harness.models import build_network

    check_images(images)
    with torch_threads(num_threads), _exact_cuda_conv():
        t0 = time.perf_counter()
        init_seed = cell_seed(seed, space_name, _cell_key(space_name, cell))
        from harness.models import network_space

        cell = network_space(space_name).network_cell(cell)  # equal keys, equal networks
        net = build_network(space_name, cell, 10, seed=init_seed)
        net = net.to(device)
        x = images.to(device)
        k, n_relus, n_units = naswot_kernel(net, x, fast=fast)
        res = _result(k, n_relus, n_units, 0.0)
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        seconds = time.perf_counter() - t0
    return NaswotResult(res.score, res.n_relus, res.n_units, seconds, res.degenerate, res.reason)
