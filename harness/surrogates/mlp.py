"""A multi-layer perceptron on a vector encoding (torch).

Why it is here: it is the simplest neural baseline for the GCN (BANANAS and NASLib use MLPs on
adjacency or path encodings), and it shares the torch surrogates' determinism rules
(:mod:`harness.surrogates._torch`). Targets are standardised as for the GCN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.surrogates._base import BaseSurrogate
from harness.surrogates._torch import predict_batches, train


class MLPSurrogate(BaseSurrogate):
    """ReLU MLP regressor; ``hidden`` lists the widths of the hidden layers."""

    input_kind = "vector"

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (128, 128),
        epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        seed: int = 0,
        n_threads: int = 1,
    ) -> None:
        self.hidden = tuple(int(h) for h in hidden)
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.n_threads = n_threads

    def _build(self, in_dim: int) -> Any:
        import torch

        layers: list[Any] = []
        d = in_dim
        for h in self.hidden:
            layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
            d = h
        layers.append(torch.nn.Linear(d, 1))
        return torch.nn.Sequential(*layers)

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        import torch

        xt = torch.from_numpy(X)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        self.model_ = train(
            lambda: self._build(X.shape[1]),
            lambda m, idx: m(xt[torch.as_tensor(idx)]).squeeze(-1),
            (y - self.y_mean_) / self.y_scale_,
            loss="mse",
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            seed=self.seed,
            n_threads=self.n_threads,
        )

    def _predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        xt = torch.from_numpy(X)
        raw = predict_batches(
            self.model_,
            lambda m, idx: m(xt[torch.as_tensor(idx)]).squeeze(-1),
            X.shape[0],
            n_threads=self.n_threads,
        )
        return raw * self.y_scale_ + self.y_mean_
