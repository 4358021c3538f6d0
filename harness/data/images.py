"""Small batches of real images for zero-cost scoring (and, later, tiny real trainings).

Two shipped sets (found through the data registry, checksums verified):

- ``"cifar10"``: the 164 real CIFAR-10 images of ``images/cifar10_164_normalized.npz``, already
  normalised with the usual CIFAR mean/std (and augmented by padded crops upstream). A batch of
  ``n`` is the first ``n`` images in file order (the NASWOT default: 128).
- ``"mnist"``: the 5,000 real MNIST digits of ``images/mnist_5k.csv.gz``, padded from 28x28 to
  32x32 with background, replicated to 3 channels and normalised with MNIST's mean/std (0.1307,
  0.3081), so CIFAR-shaped networks take them unchanged. The file is sorted by class, so a batch
  is the first ``n`` rows of a fixed permutation (``numpy.random.default_rng(0)``), not the first
  ``n`` rows (which would all be zeros).

Arrays are loaded once per process and returned as new float32 tensors ``[n, 3, 32, 32]``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from harness.errors import ConfigError, unknown

IMAGE_SETS: dict[str, tuple[str, str]] = {
    "cifar10": ("cifar10-164", "images/cifar10_164_normalized.npz"),
    "mnist": ("mnist-5k", "images/mnist_5k.csv.gz"),
}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
IMAGE_SHAPE = (3, 32, 32)


@functools.cache
def _array(name: str) -> np.ndarray:
    from harness.benchmarks.registry import locate

    dataset, relpath = IMAGE_SETS[name]
    path = locate(dataset, relpath)
    if name == "cifar10":
        with np.load(path) as d:
            x = np.asarray(d["x"], dtype=np.float32)
    else:
        import pandas as pd

        raw = pd.read_csv(path, header=None).to_numpy()
        pix = raw[:, :784].astype(np.float32).reshape(-1, 1, 28, 28) / 255.0
        pix = (pix - MNIST_MEAN) / MNIST_STD
        background = (0.0 - MNIST_MEAN) / MNIST_STD
        pix = np.pad(pix, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=background)
        x = np.repeat(pix, 3, axis=1)[np.random.default_rng(0).permutation(len(pix))]
    x.setflags(write=False)
    return x


def n_available(name: str) -> int:
    """How many images the set holds."""
    _check_name(name)
    return int(_array(name).shape[0])


def _check_name(name: str) -> None:
    if name not in IMAGE_SETS:
        raise unknown("image set", name, IMAGE_SETS)


def load_images(name: str = "cifar10", n: int = 128) -> torch.Tensor:
    """The first ``n`` images of a set as a float32 tensor ``[n, 3, 32, 32]``.

    Raises:
        UnknownName: ``name`` is not a shipped image set.
        ConfigError: ``n`` is not an integer in ``2..available`` (a kernel over one image says
            nothing, and the batch cannot exceed the images shipped).
    """
    _check_name(name)
    avail = n_available(name)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= avail:
        raise ConfigError(
            f"image batch size must be an integer in 2..{avail} for image set {name!r} "
            f"(it holds {avail} images), got {n!r}"
        )
    return torch.from_numpy(_array(name)[: int(n)].copy())


def check_images(x: object) -> torch.Tensor:
    """Validate a user-supplied batch: a float tensor ``[B >= 2, 3, 32, 32]`` without NaNs."""
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"images must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ConfigError(
            f"images must have shape [batch, 3, 32, 32] (CIFAR-shaped; MNIST is padded and "
            f"replicated to 3 channels by load_images('mnist')), got {list(x.shape)}"
        )
    if x.shape[0] < 2:
        raise ConfigError(f"a NASWOT batch needs at least 2 images, got {x.shape[0]}")
    if not x.is_floating_point():
        raise ConfigError(f"images must be floating point, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ConfigError("images contain NaN or infinite values")
    return x
