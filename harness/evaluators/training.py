"""Real training behind the one evaluator interface: NB201 / NB101 cells trained with PyTorch.

Why: users run a strategy on tabular lookups first and then, unchanged, on real trainings on
their own machines; only the evaluator changes. :class:`TrainingEvaluator` is that evaluator.

What one evaluation does (``evaluate(arch, fidelity=epochs, seed=s)``):

1. ``space.to_cell(arch)``, checked against the network space (an NB101 cell on an NB201
   evaluator is an :class:`~harness.errors.InvalidArchitecture`, which stops a search);
2. the results cache: a finished training of the same (cell, epochs, seed, configuration hash)
   is returned without training (``extras["cached"] = 1``);
3. the network: :func:`harness.models.build_network` (reduced width / depth for CPUs through
   ``channels`` / ``cells_per_stage``), weights seeded from (seed, space, cell) so a cell's
   initialisation never depends on what was trained before it;
4. training with the :class:`Recipe` (NB201's by default) for ``epochs`` = fidelity epochs,
   resuming from the cell's checkpoint when a killed run left one; a checkpoint is written
   atomically after every epoch;
5. validation accuracy (percent) is the search signal, test accuracy is for reporting;
   ``Cost(n_full=1, train_s=<training seconds>, measured_s=<seconds spent in this call>)``.

Failures are results, not exceptions: a NaN / infinite loss, an out-of-memory error
(``torch.cuda.OutOfMemoryError``, ``MemoryError``) and, with ``isolate=True``, a training worker
that dies (segfault, killed) come back as ``status="failed"`` with the reason, and the search goes
on. Configuration mistakes (unknown data set, impossible recipe, cell of another space) raise
:class:`~harness.errors.NashError` subclasses, which stop a search at once.

Determinism: on CPU the same (cell, epochs, seed, configuration) gives bit-identical weights and
accuracies: fixed torch threads, ``torch.use_deterministic_algorithms`` (warn-only), seeded
initialisation and a ``torch.Generator`` per epoch, seeded from (seed, epoch), that draws the data
order and the augmentation. Because an epoch's randomness depends only on (seed, epoch), a resumed
training equals an uninterrupted one. On CUDA, ``cudnn.benchmark`` and AMP are used for speed and
results are not bit-reproducible.

Cache accounting (``charge_cached``, default True): a cache hit is charged as the training it
stands for (``n_full=1``, ``train_s`` as recorded), but ``measured_s`` is 0 -- the machine did no
work. A search's trajectory is then the same whether or not another run trained the cell first,
so results do not depend on the order of runs or the number of workers. ``charge_cached=False``
makes a hit cost nothing at all.

Command line: ``nash dev training bench`` (seconds per epoch, images per
second, peak memory) and ``nash dev training tau`` (Kendall tau between
MNIST-5k trainings and NB201's CIFAR-10 accuracies); see docs/TRAINING.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import hashlib
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.data.datasets import DATASETS, Splits, check_path, check_splits, load_dataset
from harness.errors import ConfigError, InvalidArchitecture, NashError, unknown
from harness.evaluators._base import Evaluator
from harness.records import STATUS_FAILED, Cost, EvalResult
from harness.spaces._base import SearchSpace

SCHEDULES = ("cosine", "constant")
AUGMENTS = ("auto", "none", "crop", "crop_flip")
FORMAT_VERSION = 1
DEFAULT_THREADS = 2


# ----------------------------------------------------------------------------------------------
# the recipe


@dataclass(frozen=True)
class Recipe:
    """How a network is trained. Defaults: NB201's recipe (Dong & Yang 2020, appendix).

    SGD with Nesterov momentum 0.9, learning rate 0.1 decayed by a per-step cosine to
    ``eta_min`` = 0 over the training's epochs, weight decay 5e-4, batch 256, no label smoothing,
    random crop (padding 4) + horizontal flip for natural images (``augment="auto"`` picks what
    suits the data set: none for digits). Epochs are not part of the recipe: they are the
    evaluation's fidelity, and the cosine spans them.
    """

    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 256
    label_smoothing: float = 0.0
    schedule: str = "cosine"
    eta_min: float = 0.0
    augment: str = "auto"
    grad_clip: float = 0.0  # 0 = no clipping (NB201 does not clip)
    eval_batch_size: int = 1024

    def check(self) -> Recipe:
        """Raise :class:`ConfigError` naming the first impossible value."""

        def num(name: str, lo: float, hi: float, *, lo_open: bool = False) -> None:
            v = getattr(self, name)
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > lo if lo_open else v >= lo) and v <= hi
            if not ok:
                rng = f"{'(' if lo_open else '['}{lo}, {hi}]"
                raise ConfigError(f"recipe {name} must be a finite number in {rng}, got {v!r}")

        num("lr", 0.0, 1e6, lo_open=True)
        num("momentum", 0.0, 0.999999)
        num("weight_decay", 0.0, 1.0)
        num("label_smoothing", 0.0, 0.999999)
        num("eta_min", 0.0, self.lr if isinstance(self.lr, int | float) else 0.0)
        num("grad_clip", 0.0, 1e12)
        for name in ("batch_size", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"recipe {name} must be a positive integer, got {v!r}")
        if not isinstance(self.nesterov, bool):
            raise ConfigError(f"recipe nesterov must be true or false, got {self.nesterov!r}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("recipe nesterov = true needs momentum > 0")
        if self.schedule not in SCHEDULES:
            raise unknown("learning-rate schedule", self.schedule, SCHEDULES)
        if self.augment not in AUGMENTS:
            raise unknown("augmentation", self.augment, AUGMENTS)
        return self

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Recipe:
        """A checked recipe from overrides; an unknown key is a ConfigError with a suggestion."""
        names = [f.name for f in dataclasses.fields(cls)]
        for k in params:
            if k not in names:
                close = difflib.get_close_matches(k, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"unknown recipe key {k!r}{hint}; valid keys: {', '.join(names)}"
                )
        return cls(**params).check()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def lr_at(self, step: int, total_steps: int) -> float:
        """Learning rate of optimisation step ``step`` (0-based) of ``total_steps``."""
        if self.schedule == "constant" or total_steps <= 0:
            return self.lr
        frac = step / total_steps
        return self.eta_min + 0.5 * (self.lr - self.eta_min) * (1.0 + math.cos(math.pi * frac))


def _hash(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# failures


class TrainingFailed(Exception):
    """A training that could not produce a network (recorded as a failed evaluation).

    ``kind``: ``"nan"`` (non-finite loss), ``"oom"`` (out of memory) or ``"crash"`` (the worker
    process died). ``cacheable``: whether the same inputs would fail again (a NaN on CPU is
    deterministic; memory and crashes depend on the machine's state).
    """

    def __init__(self, kind: str, reason: str, *, train_s: float = 0.0) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.train_s = kind, reason, float(train_s)

    @property
    def cacheable(self) -> bool:
        return self.kind == "nan"


# ----------------------------------------------------------------------------------------------
# one training


@dataclass(frozen=True)
class TrainJob:
    """Everything one training needs (picklable, so it can run in a worker process)."""

    space_name: str
    cell: Hashable
    cell_id: str
    epochs: int
    seed: int
    recipe: Recipe
    splits: Splits
    channels: int | None = None
    cells_per_stage: int | None = None
    device: str = "cpu"
    amp: bool = True
    num_threads: int | None = DEFAULT_THREADS
    deterministic: bool = True
    checkpoint: str | None = None
    key: str = ""


@dataclass
class TrainOutcome:
    """A finished training: accuracies in percent, seconds, and (in-process only) the model."""

    val_acc: float
    test_acc: float
    train_acc: float
    train_loss: float
    train_s: float
    epoch_s: list[float]
    n_params: int
    images_per_s: float
    peak_mem_mb: float
    resumed_from_epoch: int
    device: str
    model: nn.Module | None = field(default=None, repr=False)


def init_seed(seed: int, space_name: str, cell_id: str) -> int:
    """The weight seed of a cell: a stable hash of (seed, space, cell), as NASWOT uses."""
    from harness.evaluators.zero_cost import cell_seed

    return cell_seed(seed, space_name, cell_id)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of epoch ``epoch``'s generator (data order, augmentation): resumable by design."""
    digest = hashlib.sha256(f"train|{int(seed)}|{int(epoch)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def build_model(
    space_name: str,
    cell: Hashable,
    num_classes: int,
    *,
    seed: int,
    channels: int | None = None,
    cells_per_stage: int | None = None,
) -> nn.Module:
    """The seeded network of a cell; ``channels`` / ``cells_per_stage`` shrink it for CPUs.

    Default sizes go through :func:`harness.models.build_network` (NB201: C=16, N=5; NB101:
    128 stem channels, 3 cells per stack). Reduced sizes build the same classes with the same
    seeding (a forked, seeded RNG), because ``build_network`` takes no size arguments.
    """
    from harness.models import build_network, network_space

    if channels is None and cells_per_stage is None:
        return build_network(space_name, cell, num_classes, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return network_space(space_name).network(
            cell, num_classes, channels=channels, cells_per_stage=cells_per_stage
        )


@contextlib.contextmanager
def _torch_settings(threads: int | None, deterministic: bool, device_type: str) -> Iterator[None]:
    """Fix threads and determinism for one training; restore the caller's settings after."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_bench = torch.backends.cudnn.benchmark
    try:
        if threads is not None:
            torch.set_num_threads(int(threads))
        if device_type == "cpu":
            if deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
        else:
            torch.backends.cudnn.benchmark = True
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.backends.cudnn.benchmark = old_bench


def _augment(xb: torch.Tensor, mode: str, pad: int, g: torch.Generator) -> torch.Tensor:
    """Random crop with zero padding (and horizontal flip) of a uint8 batch, drawn from ``g``.

    The draws are made on the CPU generator whatever the device, so the same seed gives the
    same augmentation on every machine.
    """
    if mode == "none":
        return xb
    pad = max(int(pad), 0)
    b, _, h, w = xb.shape
    off = torch.randint(0, 2 * pad + 1, (b, 2), generator=g)
    flip = torch.rand(b, generator=g) < 0.5 if mode == "crop_flip" else None
    padded = nn.functional.pad(xb, (pad, pad, pad, pad))
    dev = xb.device
    rows = (off[:, 0:1] + torch.arange(h)).to(dev)  # [B, H]
    cols = (off[:, 1:2] + torch.arange(w)).to(dev)  # [B, W]
    bi = torch.arange(b, device=dev)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    out = out.permute(0, 3, 1, 2)
    if flip is not None:
        f = flip.to(dev)[:, None, None, None]
        out = torch.where(f, out.flip(3), out)
    return out.contiguous()


def _normalise(xb: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (xb.float().div_(255.0) - mean) / std


def _accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    batch: int,
    amp_dtype: torch.dtype | None,
) -> float:
    """Top-1 accuracy in percent (eval mode: batch norm uses its running statistics)."""
    model.eval()
    correct = 0
    dev = mean.device
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            xb = _normalise(x[i : i + batch].to(dev, non_blocking=True), mean, std)
            with torch.autocast(dev.type, dtype=amp_dtype or torch.float32,
                                enabled=amp_dtype is not None):  # fmt: skip
                pred = model(xb).argmax(1)
            correct += int((pred == y[i : i + batch].to(dev)).sum())
    return 100.0 * correct / max(len(x), 1)


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    from harness.paths import atomic_path

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(path: Path, key: str) -> dict[str, Any] | None:
    """A checkpoint of this very training, or None (absent, unreadable or another training's)."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a torn or foreign file: train from scratch rather than fail
        print(f"warning: ignoring unreadable checkpoint {path}: {e}", file=sys.stderr)
        return None
    if not isinstance(state, dict) or state.get("key") != key:
        return None
    return state


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def train_cell(
    job: TrainJob, *, on_epoch: Callable[[int, dict[str, float]], None] | None = None
) -> TrainOutcome:
    """Train one network per ``job``; raises :class:`TrainingFailed` for NaN / out of memory.

    ``on_epoch(epoch, metrics)`` is called after each epoch's checkpoint is on disk (epochs
    1-based), so an exception raised there interrupts the training exactly as a kill would.
    """
    dev = torch.device(job.device)
    s = job.splits
    with _torch_settings(job.num_threads, job.deterministic, dev.type):
        try:
            return _train(job, dev, s, on_epoch)
        except (torch.cuda.OutOfMemoryError, MemoryError) as e:
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            raise TrainingFailed("oom", f"out of memory on {dev}: {str(e)[:300]}") from None


def _train(
    job: TrainJob,
    dev: torch.device,
    s: Splits,
    on_epoch: Callable[[int, dict[str, float]], None] | None,
) -> TrainOutcome:
    r = job.recipe
    amp_dtype: torch.dtype | None = None
    if dev.type == "cuda" and job.amp:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        torch.cuda.reset_peak_memory_stats(dev)
    model = build_model(
        job.space_name,
        job.cell,
        s.num_classes,
        seed=init_seed(job.seed, job.space_name, job.cell_id),
        channels=job.channels,
        cells_per_stage=job.cells_per_stage,
    ).to(dev)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.SGD(
        model.parameters(),
        lr=r.lr,
        momentum=r.momentum,
        nesterov=r.nesterov,
        weight_decay=r.weight_decay,
    )
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    mean = torch.tensor(s.mean, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(s.std, device=dev).view(1, 3, 1, 1)
    x_tr, y_tr = s.train_x.to(dev), s.train_y.to(dev)
    n = len(x_tr)
    steps_per_epoch = math.ceil(n / r.batch_size)
    total_steps = steps_per_epoch * job.epochs
    aug = s.augment if r.augment == "auto" else r.augment
    ckpt = Path(job.checkpoint) if job.checkpoint else None

    start, train_s, epoch_s = 0, 0.0, []
    train_loss, train_acc = math.nan, math.nan
    state = _load_checkpoint(ckpt, job.key) if ckpt is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        start, train_s = int(state["epoch"]), float(state["train_s"])
        epoch_s = [float(v) for v in state["epoch_s"]]
        train_loss, train_acc = float(state["train_loss"]), float(state["train_acc"])
    resumed_from = start
    check_every_step = dev.type == "cpu"  # free on CPU; a sync per step on a GPU

    for epoch in range(start, job.epochs):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        model.train()
        g = torch.Generator().manual_seed(epoch_seed(job.seed, epoch))
        perm = torch.randperm(n, generator=g).to(dev)
        loss_sum = torch.zeros((), device=dev, dtype=torch.float64)
        correct = torch.zeros((), device=dev, dtype=torch.int64)
        for i in range(steps_per_epoch):
            idx = perm[i * r.batch_size : (i + 1) * r.batch_size]
            xb = _normalise(_augment(x_tr[idx], aug, s.pad, g), mean, std)
            yb = y_tr[idx]
            lr = r.lr_at(epoch * steps_per_epoch + i, total_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            with torch.autocast(dev.type, dtype=amp_dtype or torch.float32,
                                enabled=amp_dtype is not None):  # fmt: skip
                logits = model(xb)
                loss = nn.functional.cross_entropy(logits, yb, label_smoothing=r.label_smoothing)
            if check_every_step and not math.isfinite(float(loss.detach())):
                raise TrainingFailed(
                    "nan",
                    f"non-finite training loss ({float(loss.detach())}) at epoch {epoch + 1} step "
                    f"{i + 1} (lr {lr:.4g}): the recipe diverges for this cell",
                    train_s=train_s + time.perf_counter() - t0,
                )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if r.grad_clip > 0:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), r.grad_clip)
            scaler.step(opt)
            scaler.update()
            loss_sum += loss.detach().double() * len(idx)
            correct += (logits.detach().argmax(1) == yb).sum()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        dt = time.perf_counter() - t0
        train_s += dt
        epoch_s.append(dt)
        train_loss = float(loss_sum) / n
        train_acc = 100.0 * float(correct) / n
        if not math.isfinite(train_loss):
            raise TrainingFailed(
                "nan",
                f"non-finite training loss at epoch {epoch + 1} (mean {train_loss}): the recipe "
                "diverges for this cell",
                train_s=train_s,
            )
        if ckpt is not None:
            st: dict[str, Any] = {
                "format": FORMAT_VERSION,
                "key": job.key,
                "epoch": epoch + 1,
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "train_s": train_s,
                "epoch_s": epoch_s,
                "train_loss": train_loss,
                "train_acc": train_acc,
            }
            if scaler.is_enabled():
                st["scaler"] = scaler.state_dict()
            _save_checkpoint(ckpt, st)
        if on_epoch is not None:
            on_epoch(epoch + 1, {"train_loss": train_loss, "train_acc": train_acc,
                                 "seconds": dt})  # fmt: skip

    eb = r.eval_batch_size
    val = _accuracy(model, s.val_x, s.val_y, mean, std, eb, amp_dtype)
    test = _accuracy(model, s.test_x, s.test_y, mean, std, eb, amp_dtype)
    new_epochs = epoch_s[resumed_from:]
    ips = n * len(new_epochs) / sum(new_epochs) if new_epochs and sum(new_epochs) > 0 else 0.0
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else _peak_rss_mb()
    return TrainOutcome(
        val_acc=val,
        test_acc=test,
        train_acc=train_acc,
        train_loss=train_loss,
        train_s=train_s,
        epoch_s=epoch_s,
        n_params=int(n_params),
        images_per_s=ips,
        peak_mem_mb=peak,
        resumed_from_epoch=resumed_from,
        device=str(dev),
        model=model,
    )


# ----------------------------------------------------------------------------------------------
# worker isolation


def _worker_main(fn: Callable[..., Any], args: tuple[Any, ...], conn: Any) -> None:
    """Child side of :func:`run_in_worker`: send ("ok", value) or ("error", exception)."""
    try:
        value = fn(*args)
        conn.send(("ok", value))
    except BaseException as e:  # report everything; the parent decides
        try:
            conn.send(("error", e))
        except Exception:
            conn.send(("error", RuntimeError(repr(e))))
    finally:
        conn.close()


def run_in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` in a fresh (spawned) process and return its value.

    Why: a segfault or a kill in native code (a driver crash, the kernel's OOM killer) would
    otherwise take the whole search down. The child's exceptions are re-raised here; a child that
    dies without answering raises ``TrainingFailed("crash", ...)`` with its exit code or signal.
    """
    import multiprocessing as mp
    import signal

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_worker_main, args=(fn, args, child), daemon=False)
    p.start()
    child.close()
    msg = None
    try:
        while msg is None:
            if parent.poll(0.2):
                try:
                    msg = parent.recv()
                except EOFError:
                    break
            elif not p.is_alive():
                if parent.poll(0):
                    continue
                break
    finally:
        p.join()
        parent.close()
    if msg is None:
        code = p.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                how = f"signal {signal.Signals(-code).name}"
        raise TrainingFailed("crash", f"training worker process died ({how})")
    kind, value = msg
    if kind == "error":
        raise value
    return value


def _train_in_worker(job: TrainJob) -> TrainOutcome:
    out = train_cell(job)
    out.model = None  # weights stay in the checkpoint; do not pickle the network back
    return out


# ----------------------------------------------------------------------------------------------
# the evaluator


def _check_param_names(recipe_params: Mapping[str, Any]) -> None:
    """An unknown evaluator parameter names every valid one (evaluator and recipe) and the
    closest, since a TOML typo would otherwise surface as a confusing recipe error."""
    import inspect

    fields = [f.name for f in dataclasses.fields(Recipe)]
    own = [
        n for n in inspect.signature(TrainingEvaluator.__init__).parameters
        if n not in ("self", "recipe_params")
    ]  # fmt: skip
    for k in recipe_params:
        if k not in fields:
            valid = sorted(own + fields)
            close = difflib.get_close_matches(k, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown training evaluator parameter {k!r}{hint}; valid: {', '.join(valid)}"
            )


def _default_dir(sub: str) -> Path:
    from harness.paths import cache_dir

    return cache_dir() / "training" / sub


class TrainingEvaluator(Evaluator):
    """Real training of NB201 / NB101 cells (see the module docstring).

    Args:
        space_name: ``"nb201"`` or ``"nb101"``: the network family (``space.to_cell`` must give
            its cells).
        dataset: a name of :data:`harness.data.datasets.DATASETS` or a :class:`Splits`.
        path: the local copy of cifar10 / cifar100 / imagenet16-120.
        space: the space whose architectures are passed in; default the native space.
        epochs: default fidelity (NB201: 200; use 1-2 on a CPU with a small network).
        channels, cells_per_stage: network width / depth (None: the benchmark's own, NB201
            C=16 N=5, NB101 128 stem channels and 3 cells per stack).
        n_train, n_val, n_test, split_seed: split sizes and their seed (see ``load_dataset``).
        recipe: a :class:`Recipe` (or a mapping of its fields); more fields may be given as
            keyword arguments (``lr=0.05, batch_size=128``), which override it.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
        amp: mixed precision on CUDA (bfloat16 where supported, else float16 with loss scaling).
        num_threads: torch CPU threads during a training (fixed: reproducible timings and sums).
        deterministic: deterministic algorithms on CPU.
        checkpoint_dir, cache_dir: where checkpoints and cached results live (default under
            ``$NASH_CACHE_DIR/training``).
        use_cache: read and write the results cache.
        charge_cached: charge a cache hit as a training (default; see the module docstring).
        keep_checkpoints: keep the last checkpoint (the trained weights) after a training.
        isolate: train in a spawned worker process, so a crash is a failed evaluation.
        on_epoch: ``on_epoch(epoch, metrics)`` after each epoch (in-process trainings only).
    """

    records_train_time = True
    is_proxy = False

    def __init__(
        self,
        space_name: str = "nb201",
        dataset: str | Splits = "mnist-5k",
        *,
        path: str | Path | None = None,
        space: SearchSpace[Any] | None = None,
        epochs: int = 200,
        channels: int | None = None,
        cells_per_stage: int | None = None,
        n_train: int | None = None,
        n_val: int | None = None,
        n_test: int | None = None,
        split_seed: int = 0,
        recipe: Recipe | Mapping[str, Any] | None = None,
        device: str = "auto",
        amp: bool = True,
        num_threads: int | None = DEFAULT_THREADS,
        deterministic: bool = True,
        checkpoint_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        charge_cached: bool = True,
        keep_checkpoints: bool = False,
        isolate: bool = False,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        **recipe_params: Any,
    ) -> None:
        from harness.models import network_space

        self._net_space = network_space(space_name)  # refused unless it builds networks
        self.space_name = space_name
        _check_param_names(recipe_params)
        base = recipe.to_dict() if isinstance(recipe, Recipe) else dict(recipe or {})
        self.recipe = Recipe.from_params({**base, **recipe_params})
        self.default_fidelity = self._check_epochs(epochs, "epochs")
        self.fidelities = ()
        for name, v in (("channels", channels), ("cells_per_stage", cells_per_stage)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        self.channels, self.cells_per_stage = channels, cells_per_stage
        if isinstance(dataset, Splits):
            self._splits: Splits | None = check_splits(dataset)
            self.dataset = dataset.name
            self._data_id: dict[str, Any] = dataset.identity()
        else:
            if dataset not in DATASETS:
                raise unknown("training data set", dataset, DATASETS)
            self.dataset, self._splits = dataset, None
            self._data_id = {"dataset": dataset, "n_train": n_train, "n_val": n_val,
                             "n_test": n_test, "split_seed": int(split_seed)}  # fmt: skip
            check_path(dataset, path)  # a missing local copy fails now, before any search
        self.path = str(path) if path is not None else None
        self._split_args: dict[str, Any] = {"n_train": n_train, "n_val": n_val, "n_test": n_test,
                            "split_seed": int(split_seed)}  # fmt: skip
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise ConfigError(f"unknown torch device {device!r}: {e}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but CUDA is not available here")
        self.device, self.amp = str(dev), bool(amp)
        self.num_threads, self.deterministic = num_threads, bool(deterministic)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else _default_dir("ckpt")
        self.cache_dir = Path(cache_dir) if cache_dir else _default_dir("results")
        self.use_cache, self.charge_cached = bool(use_cache), bool(charge_cached)
        self.keep_checkpoints, self.isolate = bool(keep_checkpoints), bool(isolate)
        self.on_epoch = on_epoch
        if space is None:
            space = self._net_space
        self.space = space
        self.n_trained = 0
        self.n_cached = 0
        self.last_outcome: TrainOutcome | None = None
        self._memo: dict[str, dict[str, Any]] = {}

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _check_epochs(v: Any, what: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{what} (training epochs) must be a positive integer, got {v!r}")
        return int(v)

    @property
    def splits(self) -> Splits:
        """The data, loaded on first use (a search that only hits the cache never loads it)."""
        if self._splits is None:
            self._splits = load_dataset(self.dataset, path=self.path, **self._split_args)
        return self._splits

    def _cell(self, arch: Hashable) -> tuple[Hashable, str]:
        cell = self.space.to_cell(arch)
        try:
            c = self._net_space.check_cell(cell)
        except InvalidArchitecture:
            raise InvalidArchitecture(
                f"the {self.space_name} training evaluator got {type(cell).__name__} {cell!r}, "
                f"not a cell of the {self.space_name} space (an architecture of another space?)"
            ) from None
        return c, f"{self.space_name}-{self._net_space.cell_id(c)}"

    def config(self) -> dict[str, Any]:
        """Everything besides (cell, epochs, seed) that changes a training's result."""
        return {
            "format": FORMAT_VERSION,
            "space": self.space_name,
            "channels": self.channels,
            "cells_per_stage": self.cells_per_stage,
            "data": self._data_id,
            "recipe": self.recipe.to_dict(),
            "device_type": torch.device(self.device).type,
            "amp": self.amp and torch.device(self.device).type == "cuda",
            "deterministic": self.deterministic,
        }

    def recipe_hash(self) -> str:
        """Hash of :meth:`config`: the cache and checkpoint key's "recipe" part."""
        return _hash(self.config())

    def key(self, cell_id: str, epochs: int, seed: int) -> str:
        """File stem of a training's cache entry and checkpoint."""
        return f"{cell_id}_e{epochs}_s{int(seed)}_{self.recipe_hash()}"

    def checkpoint_path(self, arch: Hashable, epochs: int, seed: int = 0) -> Path:
        _, cid = self._cell(arch)
        return self.checkpoint_dir / f"{self.key(cid, epochs, seed)}.pt"

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.json"

    def _read_cache(self, key: str) -> dict[str, Any] | None:
        p = self._cache_path(key)
        try:
            d = json.loads(p.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            print(f"warning: ignoring unreadable cache entry {p}: {e}", file=sys.stderr)
            return None
        return d if isinstance(d, dict) and d.get("key") == key else None

    def _write_cache(self, key: str, entry: dict[str, Any]) -> None:
        from harness.paths import atomic_path

        with atomic_path(self._cache_path(key)) as tmp:
            tmp.write_text(json.dumps({"key": key, **entry}, indent=1, default=str) + "\n")

    # -- the interface ---------------------------------------------------------------------
    def evaluate(
        self, arch: Hashable, *, fidelity: int | None = None, seed: int = 0
    ) -> EvalResult:
        t0 = time.perf_counter()
        cell, cid = self._cell(arch)
        epochs = self._check_epochs(
            self.default_fidelity if fidelity is None else fidelity, "fidelity"
        )
        key = self.key(cid, epochs, seed)
        hit = self._memo.get(key)
        if hit is None and self.use_cache:
            hit = self._read_cache(key)
        if hit is not None:  # trained before (by this or another evaluator): no work now
            self.n_cached += 1
            self._memo[key] = hit
            return self._from_entry(hit, epochs, cached=True)
        ckpt = self.checkpoint_dir / f"{key}.pt"
        job = TrainJob(
            space_name=self.space_name, cell=cell, cell_id=cid, epochs=epochs, seed=int(seed),
            recipe=self.recipe, splits=self.splits, channels=self.channels,
            cells_per_stage=self.cells_per_stage, device=self.device, amp=self.amp,
            num_threads=self.num_threads, deterministic=self.deterministic,
            checkpoint=str(ckpt), key=key,
        )  # fmt: skip
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.isolate:
                out = run_in_worker(_train_in_worker, job)
            else:
                out = train_cell(job, on_epoch=self.on_epoch)
        except TrainingFailed as e:
            self.n_trained += 1
            entry = {"status": STATUS_FAILED, "kind": e.kind, "reason": e.reason,
                     "train_s": e.train_s}  # fmt: skip
            if e.cacheable and self.use_cache:
                self._write_cache(key, entry)
            ckpt.unlink(missing_ok=True)  # a diverged state is no place to resume from
            if e.cacheable:
                self._memo[key] = entry
            return self._from_entry(entry, epochs, cached=False,
                                    measured_s=time.perf_counter() - t0)  # fmt: skip
        self.n_trained += 1
        self.last_outcome = out
        entry = {
            "status": "ok",
            "val_acc": out.val_acc,
            "test_acc": out.test_acc,
            "train_s": out.train_s,
            "extras": {
                "train_acc": out.train_acc,
                "train_loss": out.train_loss,
                "epoch_s": out.train_s / max(len(out.epoch_s), 1),
                "images_per_s": out.images_per_s,
                "params": float(out.n_params),
                "peak_mem_mb": out.peak_mem_mb,
            },
            "epoch_s": out.epoch_s,
            "device": out.device,
            "config": self.config(),
            "cell": cid,
            "epochs": epochs,
            "seed": int(seed),
        }
        if self.use_cache:
            self._write_cache(key, entry)  # before the checkpoint goes: never lose a training
        if not self.keep_checkpoints:
            ckpt.unlink(missing_ok=True)
        self._memo[key] = entry
        return self._from_entry(entry, epochs, cached=False, measured_s=time.perf_counter() - t0,
                                resumed_from=out.resumed_from_epoch)  # fmt: skip

    def _from_entry(
        self,
        e: Mapping[str, Any],
        epochs: int,
        *,
        cached: bool,
        measured_s: float = 0.0,
        resumed_from: int = 0,
    ) -> EvalResult:
        train_s = float(e.get("train_s", 0.0))
        charged = (not cached) or self.charge_cached
        cost = Cost(n_full=1 if charged else 0, train_s=train_s if charged else 0.0,
                    measured_s=0.0 if cached else measured_s)  # fmt: skip
        extras = {k: float(v) for k, v in dict(e.get("extras", {})).items()}
        extras["cached"] = 1.0 if cached else 0.0
        extras["resumed_from_epoch"] = float(resumed_from)
        if e.get("status") != "ok":
            return EvalResult(signal=math.nan, cost=cost, fidelity=epochs,
                              status=STATUS_FAILED, reason=str(e.get("reason", "")),
                              extras=extras)  # fmt: skip
        val, test = float(e["val_acc"]), float(e["test_acc"])
        return EvalResult(signal=val, cost=cost, fidelity=epochs, val=val, reported=test,
                          extras=extras)  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {
            "class": type(self).__name__,
            "space": self.space.name,
            "network_space": self.space_name,
            "dataset": self.dataset,
            "path": self.path,
            "splits": self._data_id,
            "default_fidelity": self.default_fidelity,
            "channels": self.channels,
            "cells_per_stage": self.cells_per_stage,
            "recipe": self.recipe.to_dict(),
            "recipe_hash": self.recipe_hash(),
            "device": self.device,
            "amp": self.amp,
            "num_threads": self.num_threads,
            "deterministic": self.deterministic,
            "isolate": self.isolate,
            "charge_cached": self.charge_cached,
            "cache_dir": str(self.cache_dir),
            "checkpoint_dir": str(self.checkpoint_dir),
            "signal": "validation accuracy (%) of a real training of <fidelity> epochs",
            "report_metric": "test_acc",
            "report_label": "test accuracy (%) of the same training",
        }


# ----------------------------------------------------------------------------------------------
# command line: benchmarks and the rank check


def _bench(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds per epoch, images per second and peak memory of a few cells."""
    from harness.spaces import nb201

    ev = TrainingEvaluator("nb201", args.dataset, epochs=args.epochs, channels=args.channels,
                           cells_per_stage=args.cells_per_stage, n_train=args.n_train,
                           device=args.device, num_threads=args.threads, use_cache=False,
                           batch_size=args.batch_size)  # fmt: skip
    rows = []
    for text in args.cells:
        arch = nb201.parse(text)
        r = ev.evaluate(arch, seed=0)
        rows.append({"cell": nb201.arch_to_str(arch), "status": r.status, "val": r.val,
                     "test": r.reported, **{k: r.extras.get(k) for k in
                     ("epoch_s", "images_per_s", "peak_mem_mb", "params")}})  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr)
    return {"device": ev.device, "threads": args.threads, "n_train": len(ev.splits.train_x),
            "batch_size": args.batch_size, "channels": args.channels,
            "cells_per_stage": args.cells_per_stage, "epochs": args.epochs,
            "torch": torch.__version__, "rows": rows}  # fmt: skip


def _tau(args: argparse.Namespace) -> dict[str, Any]:
    """Train NB201 cells spread over the cifar10 test-accuracy range; Kendall tau with it."""
    import numpy as np
    from scipy.stats import kendalltau

    from harness.benchmarks import nb201 as tables
    from harness.spaces import nb201

    t = tables.load()
    acc = np.asarray(t.column("cifar10", "test_acc@200"), dtype=float)
    ok = np.flatnonzero(np.isfinite(acc) & (acc > 20))  # skip cells cut off by 'none'
    order = ok[np.argsort(acc[ok])]
    qs = np.linspace(0, 1, args.n_cells)
    picks = [int(order[min(round(q * (len(order) - 1)), len(order) - 1)]) for q in qs]
    ev = TrainingEvaluator("nb201", args.dataset, epochs=args.epochs, channels=args.channels,
                           cells_per_stage=args.cells_per_stage, n_train=args.n_train,
                           device=args.device, num_threads=args.threads,
                           batch_size=args.batch_size, cache_dir=args.cache_dir)  # fmt: skip
    rows = []
    for i in picks:
        r = ev.evaluate(nb201.arch_of_index(i), seed=args.seed)
        rows.append({"index": i, "cell": nb201.arch_to_str(nb201.arch_of_index(i)),
                     "bench_test_acc": float(acc[i]), "val": r.val, "test": r.reported,
                     "epoch_s": r.extras.get("epoch_s")})  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr)
    b = [row["bench_test_acc"] for row in rows]
    v = [row["val"] for row in rows]
    tau = kendalltau(b, v)
    return {"settings": vars(args), "tau": float(tau.statistic), "p": float(tau.pvalue),
            "rows": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="nash dev training",
        description="Benchmarks and the rank check of real training.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("bench", "tau"):
        q = sub.add_parser(name)
        q.add_argument("--dataset", default="mnist-5k")
        q.add_argument("--epochs", type=int, default=1)
        q.add_argument("--channels", type=int, default=8)
        q.add_argument("--cells-per-stage", type=int, default=1)
        q.add_argument("--n-train", type=int, default=1000)
        q.add_argument("--batch-size", type=int, default=64)
        q.add_argument("--threads", type=int, default=1)
        q.add_argument("--device", default="auto")
        q.add_argument("--out", type=Path, default=None)
    sub.choices["bench"].add_argument(
        "--cells", nargs="+",
        default=["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                 "nor_conv_3x3~1|nor_conv_3x3~2|",
                 "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|"
                 "skip_connect~1|skip_connect~2|"])  # fmt: skip
    sub.choices["tau"].add_argument("--n-cells", type=int, default=10)
    sub.choices["tau"].add_argument("--seed", type=int, default=0)
    sub.choices["tau"].add_argument("--cache-dir", default=None)
    args = p.parse_args(argv)
    try:
        out = _bench(args) if args.cmd == "bench" else _tau(args)
    except NashError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out["machine"] = {"cpu_count": os.cpu_count(), "processor": _cpu_name()}
    text = json.dumps(out, indent=1, default=str)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    import platform

    return platform.processor() or platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())
