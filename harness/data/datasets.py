"""Training data for real trainings: fixed train / validation / test splits of image data sets.

Why a second module beside :mod:`harness.data.images`: zero-cost scoring needs one batch of
images without labels; training needs labelled splits that never overlap and never change for a
given seed, or the validation signal a search optimises would move under it.

Data sets (``load_dataset(name, path=..., split_seed=...)``):

``"mnist-5k"`` (always available)
    The 5,000 real MNIST digits of the data registry (``images/mnist_5k.csv.gz``, 500 per
    class), padded from 28x28 to 32x32 with background and replicated to 3 channels, so that
    CIFAR-shaped networks take them unchanged. Validation and test (1,000 each by default) and
    the training set (the rest) are disjoint parts of one seeded permutation.
``"digits"`` (always available: scikit-learn ships it)
    scikit-learn's 1,797 8x8 digits (values 0..16), each pixel repeated 4x4 (nearest-neighbour
    upsampling) to 32x32 and replicated to 3 channels; 300 / 300 validation / test by default.
``"cifar10"`` (the user's own copy; nothing is downloaded)
    ``path`` is the ``cifar-10-batches-py`` directory of the official Python version (or its
    parent): ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``, each a pickled dict with
    ``data`` (uint8 ``[10000, 3072]``, channel-major) and ``labels``. Validation: ``n_val``
    (5,000 by default) images held out of the training batches by the seed; test: ``test_batch``.
    (NB201's ``cifar10-valid`` split holds out 25,000: pass ``n_val=25000`` to imitate it.)
``"cifar100"``
    ``path`` is ``cifar-100-python`` (or its parent): ``train`` and ``test`` with ``data`` and
    ``fine_labels``. As in NB201, validation and test are the two seeded halves of ``test``.
``"imagenet16-120"``
    ``path`` is NB201's ``ImageNet16`` directory: ``train_data_batch_1`` .. ``_10`` and
    ``val_data``, pickled dicts with ``data`` (uint8 ``[N, 768]``, 3x16x16 channel-major) and
    1-based ``labels`` (1..1000); images with labels 1..120 are kept (labels become 0..119).
    Validation and test are the seeded halves of ``val_data`` (NB201's 3,000 / 3,000).

The pickles are read with an allow-list unpickler (only NumPy's array reconstruction and plain
containers), since a user-given file could otherwise run code when unpickled.

Images are kept as uint8 ``[N, 3, H, W]`` (4x less memory than float, and the GPU gets bytes);
the trainer normalises each batch with the set's ``mean`` / ``std`` after augmentation, exactly
like a ``ToTensor -> Normalize`` pipeline that pads raw images with black.
"""

from __future__ import annotations

import functools
import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.errors import ConfigError, DataError, unknown

DATASETS = ("mnist-5k", "digits", "cifar10", "cifar100", "imagenet16-120")
#: data sets that need a user-given ``path``
NEEDS_PATH = ("cifar10", "cifar100", "imagenet16-120")

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
IMAGENET16_MEAN = (122.68 / 255, 116.66 / 255, 104.01 / 255)  # NB201's values
IMAGENET16_STD = (63.22 / 255, 61.26 / 255, 65.09 / 255)

_CIFAR10_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
_CIFAR100_FILES = ("train", "test")
_IMAGENET16_FILES = (*(f"train_data_batch_{i}" for i in range(1, 11)), "val_data")
_DIRNAMES = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python",
             "imagenet16-120": "ImageNet16"}  # fmt: skip


@dataclass(frozen=True)
class Splits:
    """A data set cut into disjoint train / validation / test splits.

    Images are uint8 tensors ``[N, 3, H, W]``; labels int64 ``[N]`` in ``0..num_classes-1``.
    ``mean`` / ``std`` (per channel, on the 0..1 scale) normalise a batch; ``augment`` names the
    training augmentation that suits the set (``"crop_flip"`` for natural images, ``"none"`` for
    digits, where a mirrored digit is another glyph); ``pad`` is the crop padding.
    """

    name: str
    num_classes: int
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    augment: str = "none"
    pad: int = 4
    split_seed: int = 0

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    def sizes(self) -> dict[str, int]:
        return {
            "train": int(self.train_x.shape[0]),
            "val": int(self.val_x.shape[0]),
            "test": int(self.test_x.shape[0]),
        }

    def identity(self) -> dict[str, Any]:
        """What identifies the data a network was trained on (part of the cache key)."""
        return {
            "dataset": self.name,
            "num_classes": self.num_classes,
            "split_seed": self.split_seed,
            "image_size": self.image_size,
            **self.sizes(),
        }


# ----------------------------------------------------------------------------------------------
# checks


def check_splits(s: Splits) -> Splits:
    """Refuse data the NB201 / NB101 networks cannot take, with the reason.

    The networks' stems expect 3 channels and two stride-2 reductions follow, so images must be
    square, at least 8 pixels wide and a multiple of 4 (CIFAR's 32, ImageNet16's 16).
    """
    for part in ("train", "val", "test"):
        x, y = getattr(s, f"{part}_x"), getattr(s, f"{part}_y")
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.ndim != 4:
            raise ConfigError(
                f"data set {s.name!r}: {part} images must be a uint8 tensor [N, 3, H, W], got "
                f"{getattr(x, 'dtype', type(x).__name__)} of shape {list(getattr(x, 'shape', []))}"
            )
        n, c, h, w = x.shape
        if c != 3:
            raise ConfigError(
                f"data set {s.name!r}: the networks take 3-channel images, got {c} channels "
                "(replicate grey images to 3 channels)"
            )
        if h != w or h < 8 or h % 4:
            raise ConfigError(
                f"data set {s.name!r}: images must be square with a side >= 8 divisible by 4 "
                f"(two stride-2 reductions), got {h}x{w}"
            )
        if h != s.image_size:
            raise ConfigError(f"data set {s.name!r}: {part} images are {h}x{w}, train are "
                              f"{s.image_size}x{s.image_size}")  # fmt: skip
        if not isinstance(y, torch.Tensor) or y.shape != (n,):
            raise ConfigError(f"data set {s.name!r}: {part} labels must be a tensor [{n}]")
        if n < 1:
            raise ConfigError(f"data set {s.name!r}: the {part} split is empty")
        if int(y.min()) < 0 or int(y.max()) >= s.num_classes:
            raise ConfigError(
                f"data set {s.name!r}: {part} labels must lie in 0..{s.num_classes - 1}"
            )
    return s


def splits_from_arrays(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    num_classes: int | None = None,
    n_val: int,
    n_test: int,
    n_train: int | None = None,
    split_seed: int = 0,
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
    augment: str = "none",
) -> Splits:
    """Splits of a user's own labelled images (uint8 ``[N, 3, H, W]``), checked.

    Mean and std default to the training split's own per-channel statistics.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ConfigError(f"images must be uint8 [N, 3, H, W], got {x.dtype} {list(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ConfigError(f"labels must have shape [{x.shape[0]}], got {list(y.shape)}")
    k = int(num_classes if num_classes is not None else int(y.max()) + 1)
    return _split_pool(
        name, x, y.astype(np.int64), None, None, num_classes=k, n_val=n_val, n_test=n_test,
        n_train=n_train, split_seed=split_seed, mean=mean, std=std, augment=augment,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# splitting


def _take(n: int | None, have: int, what: str, name: str) -> int:
    if n is None:
        return have
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ConfigError(f"{what} must be a positive integer, got {n!r}")
    if n > have:
        raise ConfigError(f"data set {name!r}: {what} = {n} but only {have} images are left")
    return int(n)


def _split_pool(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    test_x: np.ndarray | None,
    test_y: np.ndarray | None,
    *,
    num_classes: int,
    n_val: int | None,
    n_test: int | None,
    n_train: int | None,
    split_seed: int,
    mean: tuple[float, float, float] | None,
    std: tuple[float, float, float] | None,
    augment: str,
    val_from_test: bool = False,
    pad: int = 4,
) -> Splits:
    """Cut seeded, disjoint splits.

    Without a test pool, one permutation of ``x`` gives test, then validation, then train.
    With one, validation comes from the training pool, or (``val_from_test``, NB201's choice for
    cifar100 and ImageNet16-120) validation and test are the two halves of the test pool.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(split_seed), 0xDA7A]))
    perm = rng.permutation(len(x))
    if test_x is None or test_y is None:
        nt = _take(n_test, len(x) - 2, "n_test", name)
        nv = _take(n_val, len(x) - nt - 1, "n_val", name)
        te, va, tr = perm[:nt], perm[nt : nt + nv], perm[nt + nv :]
        tx, ty = x[te], y[te]
        vx, vy = x[va], y[va]
    elif val_from_test:
        tperm = rng.permutation(len(test_x))
        half = len(test_x) // 2
        nv = _take(n_val, half, "n_val", name)
        nt = _take(n_test, len(test_x) - half, "n_test", name)
        vx, vy = test_x[tperm[:nv]], test_y[tperm[:nv]]
        tx, ty = test_x[tperm[half : half + nt]], test_y[tperm[half : half + nt]]
        tr = perm
    else:
        nv = _take(n_val, len(x) - 1, "n_val", name)
        nt = _take(n_test, len(test_x), "n_test", name)
        va, tr = perm[:nv], perm[nv:]
        vx, vy = x[va], y[va]
        tsel = rng.permutation(len(test_x))[:nt] if nt < len(test_x) else np.arange(nt)
        tx, ty = test_x[tsel], test_y[tsel]
    tr = tr[: _take(n_train, len(tr), "n_train", name)]
    trx, try_ = x[tr], y[tr]
    if mean is None or std is None:
        f = trx.astype(np.float64) / 255.0
        mean = tuple(float(v) for v in f.mean(axis=(0, 2, 3)))  # type: ignore[assignment]
        std = tuple(max(float(v), 1e-3) for v in f.std(axis=(0, 2, 3)))  # type: ignore[assignment]

    def t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)

    return check_splits(
        Splits(
            name=name, num_classes=num_classes,
            train_x=t(trx, torch.uint8), train_y=t(try_, torch.int64),
            val_x=t(vx, torch.uint8), val_y=t(vy, torch.int64),
            test_x=t(tx, torch.uint8), test_y=t(ty, torch.int64),
            mean=mean, std=std, augment=augment, pad=pad,  # type: ignore[arg-type]
            split_seed=int(split_seed),
        )
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# readers


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only plain containers and NumPy arrays (CIFAR / ImageNet16 batch files)."""

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def _read_batch(path: Path) -> dict[str, Any]:
    """One batch pickle as a dict with str keys (Python 2 pickles have bytes keys)."""
    try:
        obj = _ArrayUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, ImportError) as e:  # fmt: skip
        raise DataError(f"{path}: not a readable batch pickle ({type(e).__name__}: {e})") from e
    if not isinstance(obj, Mapping):
        raise DataError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def _find_dir(name: str, path: str | Path | None, files: tuple[str, ...]) -> Path:
    """The directory holding ``files``: ``path`` itself or its standard subdirectory."""
    sub = _DIRNAMES[name]
    if path is None:
        raise ConfigError(
            f"data set {name!r} is not shipped: give the path of your local copy "
            f"(evaluator_params path = '.../{sub}'; it must hold {', '.join(files)}); "
            "nothing is downloaded"
        )
    p = Path(path).expanduser()
    for d in (p, p / sub):
        if d.is_dir() and all((d / f).is_file() for f in files):
            return d
    missing = [f for f in files if not (p / f).is_file() and not (p / sub / f).is_file()]
    raise DataError(
        f"data set {name!r}: {p} {'does not exist' if not p.exists() else 'is incomplete'}; "
        f"expected the official Python-format files {', '.join(files)} in {p} or {p / sub} "
        f"(missing: {', '.join(missing)})"
    )


def check_path(name: str, path: str | Path | None) -> Path | None:
    """The directory of a user-supplied set (its files checked), None for the shipped ones.

    Cheap (no file is read), so an experiment can fail before its first training.
    """
    if name not in DATASETS:
        raise unknown("training data set", name, DATASETS)
    files = {"cifar10": _CIFAR10_FILES, "cifar100": _CIFAR100_FILES,
             "imagenet16-120": _IMAGENET16_FILES}.get(name)  # fmt: skip
    return None if files is None else _find_dir(name, path, files)


def _images(path: Path, d: dict[str, Any], side: int) -> np.ndarray:
    data = d.get("data")
    if data is None:
        raise DataError(f"{path}: the batch has no 'data' entry (keys: {sorted(d)})")
    a = np.asarray(data)
    if a.dtype != np.uint8 or a.ndim != 2 or a.shape[1] != 3 * side * side:
        raise DataError(
            f"{path}: 'data' must be uint8 [N, {3 * side * side}] (3x{side}x{side} images, "
            f"channel-major), got {a.dtype} {list(a.shape)}"
        )
    return a.reshape(-1, 3, side, side)


def _labels(path: Path, d: dict[str, Any], key: str, n: int) -> np.ndarray:
    if key not in d:
        raise DataError(f"{path}: the batch has no {key!r} entry (keys: {sorted(d)})")
    y = np.asarray(d[key], dtype=np.int64).reshape(-1)
    if len(y) != n:
        raise DataError(f"{path}: {len(y)} labels for {n} images")
    return y


def _read_files(
    d: Path, files: tuple[str, ...], side: int, key: str
) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for f in files:
        b = _read_batch(d / f)
        x = _images(d / f, b, side)
        xs.append(x)
        ys.append(_labels(d / f, b, key, len(x)))
    return np.concatenate(xs), np.concatenate(ys)


def _check_label_range(name: str, y: np.ndarray, k: int, where: Path) -> None:
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
        raise DataError(f"{where}: {name} labels must lie in 0..{k - 1}, got "
                        f"{int(y.min())}..{int(y.max())}")  # fmt: skip


@functools.cache
def _mnist_pool() -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    from harness.benchmarks.registry import locate

    raw = pd.read_csv(locate("mnist-5k", "images/mnist_5k.csv.gz"), header=None).to_numpy()
    if raw.shape[1] != 785:
        raise DataError(f"mnist_5k.csv.gz: expected 785 columns (784 pixels, label), got "
                        f"{raw.shape[1]}")  # fmt: skip
    pix = raw[:, :784].astype(np.uint8).reshape(-1, 1, 28, 28)
    pix = np.pad(pix, ((0, 0), (0, 0), (2, 2), (2, 2)))  # background is 0
    x = np.repeat(pix, 3, axis=1)
    y = raw[:, 784].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@functools.cache
def _digits_pool() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    img = np.rint(np.asarray(d.images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)
    img = img.repeat(4, axis=1).repeat(4, axis=2)[:, None]  # 8x8 -> 32x32, nearest
    x = np.repeat(img, 3, axis=1)
    y = np.asarray(d.target, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_dataset(
    name: str,
    *,
    path: str | Path | None = None,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    split_seed: int = 0,
) -> Splits:
    """Load a data set and cut its seeded splits (see the module docstring for each set).

    Args:
        name: one of :data:`DATASETS`.
        path: the local copy of cifar10 / cifar100 / imagenet16-120 (not used by the others).
        n_train: keep only the first ``n_train`` training images of the seeded order (a
            smaller, still fixed, training set: CPU runs).
        n_val, n_test: split sizes (defaults per set in the module docstring).
        split_seed: seed of the split permutation; the same seed always gives the same splits.

    Raises:
        UnknownName: ``name`` is not a known set.
        ConfigError: a path is needed but none was given; impossible split sizes.
        DataError: the directory lacks the expected files, or they are malformed.
    """
    if name not in DATASETS:
        raise unknown("training data set", name, DATASETS)
    common: dict[str, Any] = {"n_train": n_train, "split_seed": split_seed}
    if name == "mnist-5k":
        x, y = _mnist_pool()
        m = 0.1307
        s = 0.3081
        return _split_pool(name, x, y, None, None, num_classes=10,
                           n_val=1000 if n_val is None else n_val,
                           n_test=1000 if n_test is None else n_test,
                           mean=(m, m, m), std=(s, s, s), augment="none", **common)  # fmt: skip
    if name == "digits":
        x, y = _digits_pool()
        return _split_pool(name, x, y, None, None, num_classes=10,
                           n_val=300 if n_val is None else n_val,
                           n_test=300 if n_test is None else n_test,
                           mean=None, std=None, augment="none", **common)  # fmt: skip
    if name == "cifar10":
        d = _find_dir(name, path, _CIFAR10_FILES)
        x, y = _read_files(d, _CIFAR10_FILES[:-1], 32, "labels")
        tx, ty = _read_files(d, _CIFAR10_FILES[-1:], 32, "labels")
        for yy in (y, ty):
            _check_label_range(name, yy, 10, d)
        return _split_pool(name, x, y, tx, ty, num_classes=10,
                           n_val=5000 if n_val is None else n_val, n_test=n_test,
                           mean=CIFAR10_MEAN, std=CIFAR10_STD, augment="crop_flip",
                           **common)  # fmt: skip
    if name == "cifar100":
        d = _find_dir(name, path, _CIFAR100_FILES)
        x, y = _read_files(d, ("train",), 32, "fine_labels")
        tx, ty = _read_files(d, ("test",), 32, "fine_labels")
        for yy in (y, ty):
            _check_label_range(name, yy, 100, d)
        return _split_pool(name, x, y, tx, ty, num_classes=100, n_val=n_val, n_test=n_test,
                           mean=CIFAR100_MEAN, std=CIFAR100_STD, augment="crop_flip",
                           val_from_test=True, **common)  # fmt: skip
    d = _find_dir(name, path, _IMAGENET16_FILES)
    x, y = _read_files(d, _IMAGENET16_FILES[:-1], 16, "labels")
    tx, ty = _read_files(d, _IMAGENET16_FILES[-1:], 16, "labels")
    keep, tkeep = (y >= 1) & (y <= 120), (ty >= 1) & (ty <= 120)
    if not keep.any() or not tkeep.any():
        raise DataError(f"{d}: no images with labels 1..120 (ImageNet16 labels are 1-based)")
    return _split_pool(name, x[keep], y[keep] - 1, tx[tkeep], ty[tkeep] - 1, num_classes=120,
                       n_val=n_val, n_test=n_test, mean=IMAGENET16_MEAN, std=IMAGENET16_STD,
                       augment="crop_flip", val_from_test=True, pad=2, **common)  # fmt: skip


__all__ = [
    "DATASETS",
    "NEEDS_PATH",
    "Splits",
    "check_path",
    "check_splits",
    "load_dataset",
    "splits_from_arrays",
]
