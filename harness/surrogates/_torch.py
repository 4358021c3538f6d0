"""Shared training loop of the torch surrogates (GCN regressor and classifier, MLP).

Why one loop: the determinism rules are subtle and must hold for every torch model alike --
weights are initialised under a forked torch RNG seeded from ``seed`` (the caller's global torch
state is left untouched), mini-batches are shuffled with a numpy Generator from the same seed,
and training runs with a fixed number of torch threads (:func:`torch_threads`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.surrogates._base import torch_threads


def train(
    build: Callable[[], Any],
    forward: Callable[[Any, np.ndarray], Any],
    target: np.ndarray,
    *,
    loss: str,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    n_threads: int,
) -> Any:
    """Build a model under a seeded torch RNG and fit it with Adam on mini-batches.

    ``forward(model, idx)`` returns the model's 1-D output for the samples ``idx``; ``target``
    holds the (already scaled) regression targets or 0/1 labels; ``loss`` is ``"mse"`` or
    ``"bce"`` (logits). Returns the model in eval mode.
    """
    import torch

    with torch_threads(n_threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) % (2**63))
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn: Any = torch.nn.MSELoss() if loss == "mse" else torch.nn.BCEWithLogitsLoss()
        y = torch.as_tensor(target, dtype=torch.float32)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) % (2**63), 0xB47C]))
        n = len(target)
        bs = max(1, min(int(batch_size), n))
        model.train()
        for _ in range(int(epochs)):
            order = rng.permutation(n)
            for start in range(0, n, bs):
                idx = order[start : start + bs]
                opt.zero_grad()
                out = forward(model, idx)
                err = loss_fn(out, y[torch.as_tensor(idx)])
                err.backward()
                opt.step()
        model.eval()
    return model


def predict_batches(
    model: Any,
    forward: Callable[[Any, np.ndarray], Any],
    n: int,
    *,
    n_threads: int,
    batch_size: int = 4096,
) -> np.ndarray:
    """Model outputs for ``n`` samples, in chunks (bounded memory on 10,000-cell rankings)."""
    import torch

    outs = []
    with torch_threads(n_threads), torch.no_grad():
        for start in range(0, n, batch_size):
            idx = np.arange(start, min(n, start + batch_size))
            outs.append(forward(model, idx).detach().cpu().numpy().astype(np.float64))
    return np.concatenate(outs) if outs else np.zeros(0)
